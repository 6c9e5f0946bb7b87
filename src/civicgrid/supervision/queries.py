"""Reads of the escalation tables."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from civicgrid.supervision.models import STEPS, Escalation, EscalationRule, PushSubscription


def rules(session: Session) -> list[EscalationRule]:
    """The rule table, in the order of its steps (STEPS)."""
    found = {r.step: r for r in session.scalars(select(EscalationRule))}
    return [found[s] for s in STEPS if s in found]


def taken(session: Session, case_ids: Collection[int]) -> set[tuple[int, str, dt.datetime]]:
    """The steps taken on these cases: (case id, step, the deadline they were taken for)."""
    if not case_ids:
        return set()
    rows = session.execute(
        select(Escalation.case_id, Escalation.step, Escalation.deadline).where(
            Escalation.case_id.in_(list(case_ids))
        )
    )
    return {(c, s, d) for c, s, d in rows}


def urges(
    session: Session,
    *,
    units: Collection[str] | None,
    steps: Collection[str] = ("unit_leader", "district_leader"),
    limit: int = 200,
) -> list[Escalation]:
    """The latest 督办 of the units (None: every unit), newest first."""
    query = select(Escalation).where(Escalation.step.in_(list(steps)))
    if units is not None:
        query = query.where(Escalation.unit_code.in_(list(units)))
    return list(session.scalars(query.order_by(Escalation.id.desc()).limit(limit)))


def by_number(session: Session, number: str) -> Escalation | None:
    return session.scalar(select(Escalation).where(Escalation.number == number))


def urged_cases_by_unit(
    session: Session, *, start: dt.datetime | None = None, end: dt.datetime | None = None
) -> dict[str, int]:
    """How many distinct cases each unit had 督办 (to its leaders or the district's) on, in
    [start, end): unit code → count. For the stats."""
    query = select(Escalation.unit_code, func.count(func.distinct(Escalation.case_id))).where(
        Escalation.step.in_(("unit_leader", "district_leader")),
        Escalation.unit_code.is_not(None),
    )
    if start is not None:
        query = query.where(Escalation.at >= start)
    if end is not None:
        query = query.where(Escalation.at < end)
    return dict(session.execute(query.group_by(Escalation.unit_code)).all())


def push_subscription(session: Session, endpoint: str) -> PushSubscription | None:
    return session.scalar(select(PushSubscription).where(PushSubscription.endpoint == endpoint))


def push_subscriptions_of(session: Session, usernames: Collection[str]) -> list[PushSubscription]:
    if not usernames:
        return []
    return list(
        session.scalars(
            select(PushSubscription)
            .where(PushSubscription.username.in_(sorted(usernames)))
            .order_by(PushSubscription.id)
        )
    )


def any_push_subscription(session: Session) -> bool:
    return session.scalar(select(PushSubscription.id).limit(1)) is not None
