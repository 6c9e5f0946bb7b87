"""Named reads of spot checks, for this domain's routes and for other domains (the monthly
assessment may weigh the spot-check score: `scores_by_unit`)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from civicgrid.spotchecks.models import SpotCheck, SpotFailure, SpotPhoto, SpotPlan, SpotSite


def plan_by_code(session: Session, code: str) -> SpotPlan | None:
    return session.scalar(select(SpotPlan).where(SpotPlan.code == code))


def plans(session: Session) -> list[SpotPlan]:
    return list(session.scalars(select(SpotPlan).order_by(SpotPlan.period.desc(), SpotPlan.code)))


def sites(session: Session) -> list[SpotSite]:
    return list(session.scalars(select(SpotSite).order_by(SpotSite.code)))


def sites_by_code(session: Session, codes) -> dict[str, SpotSite]:
    codes = list(codes)
    if not codes:
        return {}
    return {s.code: s for s in session.scalars(select(SpotSite).where(SpotSite.code.in_(codes)))}


def checks_of_plan(session: Session, plan_id: int) -> list[SpotCheck]:
    return list(
        session.scalars(
            select(SpotCheck).where(SpotCheck.plan_id == plan_id).order_by(SpotCheck.id)
        )
    )


def checks_of_day(session: Session, day) -> list[SpotCheck]:
    return list(
        session.scalars(
            select(SpotCheck).where(SpotCheck.day == day).order_by(SpotCheck.slot, SpotCheck.id)
        )
    )


def done_checks_between(
    session: Session, first: dt.date, last: dt.date
) -> list[tuple[SpotCheck, SpotPlan]]:
    """The finished checks whose slot's day is in [first, last], whatever their plan's
    period (a month's bulletin counts its weekly plans' checks)."""
    query = (
        select(SpotCheck, SpotPlan)
        .join(SpotPlan, SpotPlan.id == SpotCheck.plan_id)
        .where(SpotCheck.day >= first, SpotCheck.day <= last, SpotCheck.state == "done")
        .order_by(SpotCheck.id)
    )
    return [(c, p) for c, p in session.execute(query)]


def photos_of(session: Session, check_id: int) -> list[SpotPhoto]:
    return list(
        session.scalars(
            select(SpotPhoto).where(SpotPhoto.check_id == check_id).order_by(SpotPhoto.id)
        )
    )


def failures_of(session: Session, check_id: int) -> list[SpotFailure]:
    return list(
        session.scalars(
            select(SpotFailure).where(SpotFailure.check_id == check_id).order_by(SpotFailure.id)
        )
    )


def photo_keys(session: Session) -> list[str]:
    """Every stored file of the checks' photos (the media sweep keeps them)."""
    return [k for row in session.execute(select(SpotPhoto.key, SpotPhoto.thumb_key)) for k in row]
