"""Citizen reporting (市民监督): submit with photos, track by code and secret, rate once.

Both the phone page and Open311 clients end here, in the same case service and the same
synchronous routing.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import math
import secrets
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session

from civicgrid.cases import intake as case_intake
from civicgrid.cases import policy as case_policy
from civicgrid.cases import queries as case_queries
from civicgrid.cases import service as case_service
from civicgrid.cases import workflow
from civicgrid.cases.exceptions import ActionForbidden, BadAction, IllegalTransition
from civicgrid.categories import service as cat_service
from civicgrid.citizen.exceptions import (
    AlreadyRated,
    MissingFields,
    NotOpen,
    PublicCaseNotFound,
    TrackingNotFound,
)
from civicgrid.citizen.models import CaseFollower, TrackingSecret
from civicgrid.config import Settings
from civicgrid.kit import audit, scheduler
from civicgrid.kit.db import utcnow
from civicgrid.kit.text import BadPhone, normalise_phone
from civicgrid.media import queries as media_queries
from civicgrid.media import service as media_service
from civicgrid.media.service import CheckedImage, StoredImage
from civicgrid.org import queries as org_queries

# A case (cases.models.Case) as cases' functions give it: cases' tables are its own (the
# import contract), so the class is not imported here and the annotations stay loose.
AnyCase = Any

# What the public reads of each step, by the state it leaves the case in (issue #14): a
# note is shown beside it only where staff marked it public (case_events.public); a
# return's or rework's reason stays internal unless so marked. Other states by their name.
# (Chinese, English); the pages read it as "step_<state>".
PUBLIC_STEPS = {
    "registered": ("已受理", "Accepted"),
    "dispatched": ("已派遣至{unit}", "Sent to {unit}"),
    "in_progress": ("处置中", "Being handled"),
    "resolved": ("已处置待核查", "Handled, to be checked"),
    "closed": ("已办结", "Closed"),
}
PUBLIC_STEP_TEXTS = {key: zh for key, (zh, _en) in PUBLIC_STEPS.items()}


def public_step_text(state: str | None, unit_name: str | None) -> str:
    """The fixed public text of a case's step (state), naming the unit it was sent to."""
    text = PUBLIC_STEP_TEXTS.get(state or "") or workflow.STATE_NAMES_ZH.get(state or "", "")
    return text.format(unit=unit_name or "处置单位")


def public_status_note(state: str | None, unit_name: str | None, note: str | None) -> str:
    """Open311 `status_notes`: the step's public text, then the latest public note if any."""
    text = public_step_text(state, unit_name)
    return f"{text}; {note}" if note else text


@dataclass
class Submitted:
    case: AnyCase  # or, written with attach=False, the case's draft (cases.intake.ReportPlan)
    secret: str
    duplicates: list[str]


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def submit(
    session: Session, settings: Settings, *, find_duplicates: bool = True, **kwargs
) -> Submitted:
    """A citizen's report, all or nothing: `prepare` and `write` in the caller's transaction
    (the other arguments are `prepare`'s). The answer carries the tracking secret (shown once)
    and, unless `find_duplicates` is false, the possible duplicates."""
    prepared = prepare(session, settings, **kwargs)
    return write(session, settings, prepared, find_duplicates=find_duplicates)


# --- staff entry -------------------------------------------------------------------------------

SOURCE_OF_ROLE = {"supervisor": "supervisor", "operator": "hotline"}
# Who may enter a case with which source: a 网格员's patrol, the hotline's operators (and the
# dispatchers who take calls), any staff. Citizen, Open311 and system cases come only through
# their own channels.
SOURCE_ROLES = {
    "supervisor": ("supervisor",),
    "hotline": ("operator", "dispatcher"),
    "staff": workflow.STAFF,
}
# The roles that enter cases on the staff entry page (/console/new), and its modes (sources).
ENTRY_SOURCES = ("supervisor", "hotline")
ENTRY_ROLES = tuple(dict.fromkeys(r for s in ENTRY_SOURCES for r in SOURCE_ROLES[s]))


def entry_sources(user) -> list[str]:
    """The entry page's modes the user may use (SOURCE_ROLES), their role's own first."""
    mine = [s for s in ENTRY_SOURCES if user.has_role(*SOURCE_ROLES[s])]
    own = next((SOURCE_OF_ROLE[r] for r in user.roles if SOURCE_OF_ROLE.get(r) in mine), None)
    return sorted(mine, key=lambda s: s != own)


def source_for(user, asked: str | None, *, auto_dispatch: bool | None = None) -> str:
    """The case's source: as asked, else the reporter's role's; refused if the roles may not
    enter it (SOURCE_ROLES), as is automatic dispatch asked by anyone but a dispatcher."""
    source = asked or next((SOURCE_OF_ROLE[r] for r in user.roles if r in SOURCE_OF_ROLE), "staff")
    if not user.has_role(*SOURCE_ROLES.get(source, ())):
        allowed = [s for s, roles in SOURCE_ROLES.items() if user.has_role(*roles)]
        raise ActionForbidden(
            f"您的角色不能录入来源为 {source} 的案件; 可用: {', '.join(allowed)}",
            f"your roles may not enter cases with source {source}; allowed: {', '.join(allowed)}",
        )
    if auto_dispatch and not user.has_role("dispatcher"):
        raise ActionForbidden(
            "只有派遣员可以要求自动派遣", "only dispatchers may ask for automatic dispatch"
        )
    return source


# What each need of the settings' `report_requires` is called, (Chinese, English).
NEED_WORDS = {
    "photo": ("照片", "a photo"),
    "words": ("问题描述", "a description"),
    "place": ("位置 (在地图上点选或填写地址)", "a place (a point on the map or an address)"),
    "phone": ("手机号", "a phone number"),
}


def check_needs(settings: Settings, *, present: Collection[str]) -> None:
    """Refuse (MissingFields, 400) a citizen's report that lacks a need of the settings'
    `report_requires`, naming every missing one."""
    missing = [need for need in settings.report_needs() if not set(need) & set(present)]
    if missing:
        raise MissingFields(
            ["或".join(NEED_WORDS[n][0] for n in need) for need in missing],
            [" or ".join(NEED_WORDS[n][1] for n in need) for need in missing],
        )


@dataclass
class Prepared:
    """A report checked and decided, its photos stored (pending), not written yet. A tracked
    one (a citizen's, an Open311 client's) gets a tracking secret when written."""

    plan: case_intake.ReportPlan
    photos: list[StoredImage]
    tracked: bool = True


def prepare(
    session: Session,
    settings: Settings,
    *,
    category: str,
    source: str = "citizen",
    lon: float | None = None,
    lat: float | None = None,
    datum: str = "wgs84",
    address: str = "",
    description: str = "",
    phone: str = "",
    name: str = "",
    email: str = "",
    photos: Sequence[tuple[str, bytes] | CheckedImage] = (),
    extra: dict | None = None,
    at: dt.datetime | None = None,
    actor: case_policy.Actor | None = None,
    category_kind: str | None = None,
    urgency: str = "normal",
    auto_dispatch: bool | None = None,
    needs: bool = False,
) -> Prepared:
    """Check a report and decide its routing, then store its photos under pending keys:
    nothing is written to the database, so that the write is short and does no file I/O.
    Every photo (name and bytes, or an image the caller checked already) is checked; a
    photo's EXIF GPS position stands in for a missing location. Without `actor` the report is
    a citizen's or an Open311 client's (tracked: it gets a tracking secret); with one it is
    staff's entry (not tracked). With `needs` (the phone page's API) the report must have
    what the settings' `report_requires` asks (check_needs)."""
    checked = media_service.check_images(photos, settings)
    if lon is None and lat is None:
        gps = next((c.gps for c in checked if c.gps), None)
        if gps is not None:
            lon, lat, datum = gps[0], gps[1], "wgs84"
    phone = normalise_phone(phone, "phone" if actor is None else "contact_phone")
    if needs:
        given = {
            "photo": bool(checked),
            "words": bool(description.strip()),
            "place": lon is not None or bool(address.strip()),
            "phone": bool(phone),
        }
        check_needs(settings, present={k for k, v in given.items() if v})
    plan = case_intake.plan_report(
        session,
        settings,
        source=source,
        category=category,
        category_kind=category_kind,
        urgency=urgency,
        actor=actor
        or (
            case_policy.Actor.citizen()
            if source == "citizen"
            else case_policy.Actor("open311", "system")
        ),
        lon=lon,
        lat=lat,
        datum=datum,
        address=address,
        description=description,
        contact_name=name,
        contact_phone=phone,
        contact_email=email,
        auto_dispatch=auto_dispatch,
        at=at,
        extra=extra,
    )
    stored = [media_service.store(settings, image) for image in checked]
    return Prepared(plan, stored, tracked=actor is None)


def write(
    session: Session, settings: Settings, prepared: Prepared, *, find_duplicates: bool = True
) -> Submitted:
    """Write a prepared report: the case routed, its photos, the tracking secret."""
    done = write_many(session, settings, [prepared])[0]
    if find_duplicates:
        done.duplicates = [c.code for c in possible_duplicates(session, settings, done.case)]
    return done


def write_many(
    session: Session, settings: Settings, prepared: list[Prepared], *, attach: bool = True
) -> list[Submitted]:
    """`write` for many reports at once (one statement per table), without the duplicates;
    `attach` as in `cases.intake.write_reports`."""
    cases = case_intake.write_reports(session, settings, [p.plan for p in prepared], attach=attach)
    done = [
        Submitted(case, secrets.token_urlsafe(12) if one.tracked else "", [])
        for one, case in zip(prepared, cases, strict=True)
    ]
    media_service.insert_stored(
        session,
        [
            {**image.row(), "case_id": case.id, "event_id": None, "stage": "report"}
            for one, case in zip(prepared, cases, strict=True)
            for image in one.photos
        ],
    )
    secrets_ = [{"case_id": d.case.id, "secret_hash": _hash(d.secret)} for d in done if d.secret]
    if secrets_:
        session.connection().execute(_INSERT_SECRET, secrets_)
    session.flush()
    return done


_INSERT_SECRET = insert(TrackingSecret.__table__)


@dataclass(frozen=True)
class PublicPolicy:
    """What anonymous readers are shown (Open311's reads, the phone page's nearby cases, the
    public map of reports; README: "Open311: what the public sees"): the cases of `sources`
    only, and of their report photos all, those a dispatcher marked public (after_review), or
    none. No reporter's name, phone or e-mail, ever."""

    sources: frozenset[str]
    photos: Literal["all", "after_review", "none"]

    @classmethod
    def of(cls, settings: Settings) -> PublicPolicy:
        """The policy of the settings; ValueError naming the setting for a source the workflow
        does not know (the app refuses to start with it)."""
        sources = settings.public_sources()
        unknown = sources - set(workflow.SOURCES)
        if unknown:
            raise ValueError(
                f"CIVICGRID_OPEN311_PUBLIC_SOURCES: {', '.join(sorted(unknown))} is not a source "
                f"(sources: {', '.join(workflow.SOURCES)})"
            )
        return cls(sources, settings.public_photos)

    @property
    def public_photos_only(self) -> bool:
        """Whether only the report photos a dispatcher marked public are shown."""
        return self.photos == "after_review"


def near_cases(
    session: Session,
    settings: Settings,
    *,
    lon: float,
    lat: float,
    at: dt.datetime | None = None,
    category: str | None = None,
    other_than: int | None = None,
    sources: Collection[str] | None = None,
) -> list[AnyCase]:
    """The one rule of "the same problem here": open cases within the settings'
    `duplicate_radius_m` of the WGS-84 point, reported in the `duplicate_days` before `at`
    (now when not given); of the category and the sources when given; nearest first."""
    radius = settings.duplicate_radius_m
    dlat = radius / 110_574.0
    dlon = radius / (111_320.0 * max(math.cos(math.radians(lat)), 1e-6))
    since = (at or utcnow()) - dt.timedelta(days=settings.duplicate_days)
    box = case_queries.open_cases_near(
        session,
        category_code=category,
        since=since,
        lon=(lon - dlon, lon + dlon),
        lat=(lat - dlat, lat + dlat),
        other_than=other_than,
        sources=sources,
    )
    found = [(metres(c.lon, c.lat, lon, lat), c) for c in box]
    return [c for d, c in sorted(found, key=lambda dc: dc[0]) if d <= radius]


def possible_duplicates(session: Session, settings: Settings, case: AnyCase) -> list[AnyCase]:
    """Open cases of the same category near the case (`near_cases`), earliest first."""
    if case.lon is None:
        return []
    near = near_cases(
        session,
        settings,
        lon=case.lon,
        lat=case.lat,
        at=case.reported_at,
        category=case.category_code,
        other_than=case.id,
    )
    return sorted(near, key=lambda c: c.reported_at)


def metres(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """The distance between two nearby WGS-84 points (an equirectangular approximation: good
    to a fraction of a metre at the duplicate radius)."""
    kx = 111_320.0 * math.cos(math.radians((lat1 + lat2) / 2))
    return math.hypot((lon1 - lon2) * kx, (lat1 - lat2) * 110_574.0)


def public_case(session: Session, settings: Settings, code: str) -> AnyCase:
    """The case of this code if the public policy shows it; TrackingNotFound (404) otherwise,
    alike for no such case, so that codes of internal cases do not leak."""
    case = case_queries.case_by_code(session, code)
    if case is None or case.source not in PublicPolicy.of(settings).sources:
        raise PublicCaseNotFound()
    return case


def follow(session: Session, settings: Settings, case: AnyCase, *, phone: str = "") -> int:
    """ "我也遇到这个问题": one more citizen has the problem of this open public case (a merged
    duplicate: its original). With a phone (normalised; BadPhone otherwise) they are told of
    its public steps as its reporter is; the same phone follows a case once. Returns the
    case's count of followers."""
    case = followed(session, case)
    if case.state not in workflow.OPEN_STATES:
        raise NotOpen()
    phone = normalise_phone(phone) or None
    known = phone is not None and session.scalar(
        select(CaseFollower.id).where(CaseFollower.case_id == case.id, CaseFollower.phone == phone)
    )
    if not known:
        session.add(CaseFollower(case_id=case.id, phone=phone, at=utcnow()))
        session.flush()
    return follower_counts(session, [case.id]).get(case.id, 0)


def follower_counts(session: Session, case_ids: Collection[int]) -> dict[int, int]:
    """How many citizens follow each of these cases (those with any), by case id: one query."""
    if not case_ids:
        return {}
    query = (
        select(CaseFollower.case_id, func.count())
        .where(CaseFollower.case_id.in_(list(case_ids)))
        .group_by(CaseFollower.case_id)
    )
    return dict(session.execute(query).all())


def follower_phones(session: Session, case_ids: Collection[int]) -> dict[int, list[str]]:
    """The phones of each case's followers who gave one, in the order they followed, by case
    id (of those with any): one query for all of them."""
    if not case_ids:
        return {}
    query = (
        select(CaseFollower.case_id, CaseFollower.phone)
        .where(CaseFollower.case_id.in_(list(case_ids)), CaseFollower.phone.is_not(None))
        .order_by(CaseFollower.id)
    )
    out: dict[int, list[str]] = {}
    for case_id, phone in session.execute(query):
        out.setdefault(case_id, []).append(phone)
    return out


def find_tracked(session: Session, code: str, secret: str) -> AnyCase:
    """The case, if the secret is its tracking secret (compared in constant time)."""
    case = case_queries.case_by_code(session, code)
    row = session.get(TrackingSecret, case.id) if case else None
    if row is None or not hmac.compare_digest(row.secret_hash, _hash(secret or "")):
        raise TrackingNotFound()
    return case


def followed(session: Session, case: AnyCase) -> AnyCase:
    """A duplicate merged into another case is followed through the original."""
    seen = {case.code}
    while case.duplicate_of and case.duplicate_of not in seen:
        original = case_queries.case_by_code(session, case.duplicate_of)
        if original is None:
            break
        seen.add(original.code)
        case = original
    return case


def public_view(session: Session, case: AnyCase, *, photo_url) -> dict:
    """What a citizen sees: state, unit, deadline, the timeline with public notes, photos.
    No names or phones of anyone."""
    from civicgrid.kit.timefmt import iso_local
    from civicgrid.org import service as org_service

    cat = cat_service.resolve_category(session, case.category_code, case.category_kind)
    unit = org_service.find_unit(session, case.unit_code) if case.unit_code else None
    events = case_service.events_of(session, case)
    photos = media_service.photos_of(session, case.id)
    sent_to = {(e.payload or {}).get("unit") for e in events if e.action == "dispatch"}
    unit_names = org_queries.names_by_code(session, {u for u in sent_to if u})
    return {
        "code": case.code,
        "state": case.state,
        "state_zh": workflow.STATE_NAMES_ZH.get(case.state),
        "category": {"code": cat.code, "name": cat.name},
        "address": case.address,
        "description": case.description,
        "reported_at": iso_local(case.reported_at),
        "unit": unit.name if unit else None,
        "deadline": iso_local(case.deadline),
        "closed_at": iso_local(case.closed_at),
        "score": case.score,
        "can_rate": case.state == "closed" and not case_policy.citizen_rated(session, case),
        # the steps that moved the case, by their public text, and the notes marked public
        # (`step` and `unit` let a page write the text in its own language)
        "timeline": [
            {
                "at": iso_local(e.at),
                "action": e.action,
                "action_zh": workflow.ACTION_NAMES_ZH.get(e.action),
                "text": public_step_text(e.to_state, unit_names.get((e.payload or {}).get("unit")))
                if e.to_state != e.from_state
                else workflow.ACTION_NAMES_ZH.get(e.action),
                "step": e.to_state if e.to_state != e.from_state else None,
                "unit": unit_names.get((e.payload or {}).get("unit"))
                if e.action == "dispatch"
                else None,
                "note": e.note if e.public else "",
            }
            for e in events
            if (e.to_state != e.from_state and e.action not in ("urge", "comment"))
            or (e.public and e.note)
        ],
        "photos": [
            {"stage": p.stage, "url": photo_url(p), "thumb_url": photo_url(p, thumb=True)}
            for p in photos
            if p.stage in ("report", "done")
        ],
    }


def rate(
    session: Session, settings: Settings, case: AnyCase, *, score: int, comment: str = ""
) -> Any:
    """The citizen's rating of a closed case, once (after an operator's phone follow-up too: it
    is their own word, and the latest rating counts, kpis.md). 2 or less: back before the
    dispatcher."""
    if case.state != "closed":
        raise IllegalTransition(case.state, "rate")
    if case_policy.citizen_rated(session, case):
        raise AlreadyRated()
    return case_service.transition(
        session,
        settings,
        case,
        "rate",
        actor=case_policy.Actor.citizen(),
        note=comment[:1000],
        payload={"score": score},
    )


def public_photo(session: Session, case: AnyCase, photo_id: int) -> media_queries.Photo:
    photo = media_queries.case_photo(session, case_id=case.id, photo_id=photo_id)
    if photo is None or photo.stage not in ("report", "done"):
        raise TrackingNotFound()
    return photo


def latest_public_note(session: Session, case: AnyCase) -> str | None:
    return latest_public_notes(session, [case.id]).get(case.id)


def latest_public_notes(session: Session, case_ids: Collection[int]) -> dict[int, str]:
    """The latest non-empty note marked public of each of the cases that has one, by case
    id: one query for all of them."""
    return case_queries.latest_notes(session, case_ids, public_only=True)


def merge(
    session: Session,
    settings: Settings,
    duplicate: AnyCase,
    original: AnyCase,
    *,
    actor: case_policy.Actor,
) -> None:
    """Reject `duplicate` as a duplicate of `original`; its reporter follows the original."""
    if duplicate.id == original.id or original.duplicate_of == duplicate.code:
        raise BadAction("不能合并到自身", "a case cannot be merged into itself")
    case_service.transition(
        session,
        settings,
        duplicate,
        "reject",
        actor=actor,
        note=f"重复案件, 已合并到 {original.code}",
        payload={"duplicate_of": original.code},
        public=True,  # the reporter follows the original
    )


def _required_phone(raw: str) -> str:
    phone = normalise_phone(raw)
    if not phone:
        raise BadPhone("phone", raw)
    return phone


def personal_data(session: Session, phone: str) -> list[dict]:
    """Everything kept about the reporter with this phone (as typed: it is normalised): for a
    request to see one's data."""
    phone = _required_phone(phone)
    from civicgrid.kit.timefmt import iso_local

    rows = case_queries.reports_by_phone(session, phone)
    return [
        {
            "case": r.code,
            "reported_at": iso_local(r.reported_at),
            "address": r.address,
            "description": r.description,
            "name": r.name,
            "phone": r.phone,
            "email": r.email,
        }
        for r in rows
    ]


def caller_history(session: Session, phone: str, *, scope, limit: int = 20) -> list[dict]:
    """The latest cases (at most `limit`, newest first) reported from this phone (as typed: it
    is normalised) that the scope may see: what a hotline operator is shown beside the form."""
    from civicgrid.kit.timefmt import iso_local

    rows = case_queries.reports_by_phone(session, _required_phone(phone), scope=scope)
    return [
        {
            "code": r.code,
            "reported_at": iso_local(r.reported_at),
            "state": r.state,
            "state_zh": workflow.STATE_NAMES_ZH[r.state],
            "category": r.category_code,
            "address": r.address,
            "description": r.description,
            "name": r.name,
        }
        for r in reversed(rows[-limit:])
    ]


def erase(session: Session, phone: str) -> int:
    """Erase the reporter's name, phone and e-mail from every case they reported; the cases
    themselves stay. Returns how many cases were touched."""
    phone = _required_phone(phone)
    return case_service.erase_contacts(session, phone=phone)


RETENTION_BATCH = 1000


def erase_expired(
    session: Session, settings: Settings, *, now: dt.datetime | None = None
) -> dict[str, int | str]:
    """Retention: erase the reporter's name, phone, e-mail and tracking secret of every case
    closed more than `personal_data_retention_days` ago (0: never); the cases stay. In
    batches; one audit entry (table "retention") says what was erased and when."""
    days = settings.personal_data_retention_days
    if days == 0:
        return {"contacts": 0, "tracking_secrets": 0, "closed_before": "-"}
    cutoff = (now or utcnow()) - dt.timedelta(days=days)
    contacts = 0
    while ids := case_queries.contacts_to_erase(
        session, closed_before=cutoff, limit=RETENTION_BATCH
    ):
        contacts += case_service.erase_contacts_of(session, ids)
    secrets_erased, last = 0, 0
    while ids := list(
        session.scalars(
            select(TrackingSecret.case_id)
            .where(TrackingSecret.case_id > last)
            .order_by(TrackingSecret.case_id)
            .limit(RETENTION_BATCH)
        )
    ):
        last = ids[-1]
        closed = case_queries.closed_before_among(session, ids, closed_before=cutoff)
        if closed:
            session.execute(delete(TrackingSecret).where(TrackingSecret.case_id.in_(closed)))
            secrets_erased += len(closed)
    result = {
        "contacts": contacts,
        "tracking_secrets": secrets_erased,
        "closed_before": cutoff.isoformat(),
    }
    if contacts or secrets_erased:
        audit.record(
            session,
            action="erase",
            table="retention",
            row_key=f"closed before {cutoff.isoformat()}",
            after={**result, "retention_days": days},
        )
    return result


def _retention_job(session: Session, settings: Settings) -> str:
    audit.set_actor(session, "job:retention")
    done = erase_expired(session, settings)
    return (
        f"erased {done['contacts']} contacts and {done['tracking_secrets']} tracking secrets "
        f"of cases closed before {done['closed_before']}"
    )


RETENTION_JOB = scheduler.register(
    scheduler.Job(
        "retention",
        every=dt.timedelta(days=1),
        run=_retention_job,
        lease=dt.timedelta(hours=2),
        description="删除结案超过保留期的举报人个人信息 / erase reporters' personal data "
        "after the retention period",
    )
)


def reported_by_category(session: Session, *, since: dt.datetime) -> dict[str, int]:
    """How many cases of each category were reported since `since`."""
    return case_queries.count_reported_by_category(session, since=since)


# The citizens' SMS of their cases' steps listen on the event bus from wherever the service is
# used (the app, the CLI, the jobs): imported last, as it uses this module.
from civicgrid.citizen import updates as _updates  # noqa: E402, F401
