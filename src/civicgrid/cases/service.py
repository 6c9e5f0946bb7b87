"""The actions on a case: every state change goes through `transition`, which checks the
workflow table and the actor (policy), completes the payload of a live action, folds the event
into the row (rows) and writes the event in the caller's transaction. Services flush; callers
commit. New cases are written by `intake`, histories by `history`, lists read by `queries`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from civicgrid.cases import queries, routing, rows, workflow
from civicgrid.cases.calendar import WorkCalendar
from civicgrid.cases.exceptions import (
    BadAction,
    CaseNotFound,
    IllegalTransition,
    StaleCase,
)
from civicgrid.cases.models import Case, CaseContact, CaseEvent
from civicgrid.cases.policy import Actor, check_actor, check_evidence, check_ready, visible
from civicgrid.categories import service as cat_service
from civicgrid.config import Settings
from civicgrid.geo import service as geo_service
from civicgrid.kit import events
from civicgrid.kit.db import utcnow
from civicgrid.kit.errors import AppError
from civicgrid.media import service as media_service
from civicgrid.media.service import CheckedImage
from civicgrid.org import service as org_service

# The actions that bring photos, and the stage their photos are shown under (处置后, 核查).
PHOTO_ACTIONS = {"report_done": "done", "verify_pass": "verify", "verify_fail": "verify"}


def get_case(session: Session, code: str) -> Case:
    case = queries.case_by_code(session, code)
    if case is None:
        raise CaseNotFound(code)
    return case


def get_visible_case(session: Session, code: str, scope) -> Case:
    """The case, if the scope may see it (404 otherwise, so codes do not leak)."""
    case = get_case(session, code)
    if not visible(case, scope):
        raise CaseNotFound(code)
    return case


def events_of(session: Session, case: Case) -> list[CaseEvent]:
    return list(
        session.scalars(
            select(CaseEvent).where(CaseEvent.case_id == case.id).order_by(CaseEvent.seq)
        )
    )


def erase_contacts(session: Session, *, phone: str) -> int:
    """Blank the reporter's name, phone and e-mail on every case whose reporter left this phone
    (as stored: normalised); the cases themselves stay. Returns how many cases were touched."""
    contacts = session.scalars(select(CaseContact).where(CaseContact.phone == phone)).all()
    for contact in contacts:
        contact.name = contact.phone = contact.email = ""
    session.flush()
    return len(contacts)


def erase_contacts_of(session: Session, case_ids: list[int]) -> int:
    """Blank the reporter's name, phone and e-mail of these cases (retention); the cases stay.
    Returns how many contacts were blanked."""
    result = session.execute(
        update(CaseContact)
        .where(CaseContact.case_id.in_(case_ids))
        .values(name="", phone="", email="")
        .execution_options(synchronize_session=False)
    )
    return result.rowcount


# Other domains' limits on a dispatch's deadline: each is asked for the case (a Case, or a
# draft without an id) and gives a time or None; the earliest of them and ours governs
# (WAVE2-NOTES: a hotline order's deadline is min(ours, the platform's), so lights and KPIs
# agree). The dispatch event keeps ours as `ours` when a cap won.
DEADLINE_CAPS: list[Callable[[Session, Any], dt.datetime | None]] = []


def _deadline_payload(
    session: Session, settings: Settings, case: Case, at: dt.datetime, deadline=None
) -> dict:
    """Deadline, limit unit and yellow mark of a dispatch at `at`: the deadline given, or the
    one of the category's time limit; the mark at light_yellow_fraction of the time to it."""
    cat = cat_service.category_ref(session, case.category_code, case.category_kind)
    limit = cat_service.cached_limit(session, cat, case.urgency)
    cal = WorkCalendar.load(session, settings)
    out = {"limit_unit": limit.unit}
    if deadline is None:
        computed = cal.add(at, limit.value, limit.unit)
        deadline = computed.at
        case.calendar_missing = computed.calendar_missing
        out["limit"] = {"value": limit.value, "unit": limit.unit, "scope": limit.scope}
    caps = [cap for limit_of in DEADLINE_CAPS if (cap := limit_of(session, case)) is not None]
    if caps and min(caps) < deadline:
        out["ours"] = deadline
        deadline = min(caps)
    out["deadline"] = deadline
    out["warn_at"] = rows.warn_at(cal, at, deadline, limit.unit, settings.light_yellow_fraction)
    return out


def _prepare(
    session: Session,
    settings: Settings,
    case: Case,
    action: str,
    actor: Actor,
    at: dt.datetime,
    payload: dict,
    note: str,
    photos: int,
) -> dict:
    """Check and complete the payload of a live action (history import brings its own): the
    workflow's specification (rows.check_payload), then the live rules: what the case must be
    (policy.check_ready), the note and photos the action must bring (policy.check_evidence),
    the unit and deadline of a dispatch found when not given."""
    check_ready(session, case, action, actor)
    check_evidence(settings, case, action, note=note, photos=photos)
    p = rows.check_payload(action, payload, at=at, history=False)
    if action == "dispatch":
        unit = p.get("unit") or None
        if unit is None:
            r = routing.route(
                session,
                category_code=case.category_code,
                default_department=department_of(session, case),
                street_code=case.street_code,
                community_code=case.community_code,
            )
            if r.unit_code is None:
                zh, en = routing.QUEUE_REASONS[r.reason or "no_rule"]
                raise BadAction(
                    f"无法自动确定派遣单位: {zh}, 请指定单位",
                    f"no unit could be chosen: {en}; name the unit",
                )
            unit = r.unit_code
        if unit not in org_service.unit_codes(session):
            org_service.get_unit(session, unit)  # UnitNotFound, unless it is brand new
        p["unit"] = unit
        p.update(_deadline_payload(session, settings, case, at, p.get("deadline")))
    elif action == "extend_request":
        if case.deadline and p["until"] <= case.deadline:
            raise BadAction(
                "延期时间必须晚于当前时限", "`until` must be after the current deadline"
            )
    elif action == "extend_approve":
        if not p.get("deadline"):
            last = session.scalar(
                select(CaseEvent)
                .where(CaseEvent.case_id == case.id, CaseEvent.action == "extend_request")
                .order_by(CaseEvent.seq.desc())
                .limit(1)
            )
            asked = rows.read_payload("extend_request", last.payload) if last else {}
            given = {"deadline": asked.get("until")}
            p = rows.check_payload(action, given, at=at, history=True)
        cal = WorkCalendar.load(session, settings)
        unit = case.limit_unit or "working_hours"
        fraction = settings.light_yellow_fraction
        p["warn_at"] = rows.warn_at(cal, at, p["deadline"], unit, fraction)
    elif action == "relocate":
        p = _place_payload(session, case, p)
    elif action == "urge":
        p["to"] = case.unit_code
    return p


def _place_payload(session: Session, case, given: dict) -> dict:
    """A relocate's payload: the new point in WGS-84, its grid, community and street, and the
    point it replaces."""
    lon, lat = given["lon"], given["lat"]
    found = geo_service.locate(session, lon, lat, given.get("datum") or "wgs84")
    return {
        "lon": found["lon"],
        "lat": found["lat"],
        "datum": "wgs84",
        **{level: found[level].code if found[level] else None for level in PLACE_LEVELS},
        "was": {"lon": case.lon, "lat": case.lat},
    }


PLACE_LEVELS = rows.PLACE_LEVELS


def department_of(session: Session, case: Case) -> str:
    cat = cat_service.category_ref(session, case.category_code, case.category_kind)
    return cat.default_department


def transition(
    session: Session,
    settings: Settings,
    case: Case,
    action: str,
    *,
    actor: Actor,
    at: dt.datetime | None = None,
    note: str = "",
    payload: dict | None = None,
    public: bool = False,
    photos: int = 0,
    expected_version: int | None = None,
) -> CaseEvent:
    """Take one action on a case: check the move and the actor, write the event, update the row.

    Raises IllegalTransition (409) naming the state and the actions allowed now, StaleCase (409)
    when `expected_version` is given and the case has moved on, ActionForbidden (403) and
    BadAction (400), also when a live action lacks its evidence: `photos` is how many
    photos come with it (stored by the caller). Nothing is written when it raises.
    """
    event = CaseEvent(
        **step(
            session,
            settings,
            case,
            action,
            actor=actor,
            at=at,
            note=note,
            payload=payload,
            public=public,
            photos=photos,
            expected_version=expected_version,
        )
    )
    session.add(event)
    code = case.code
    try:
        session.flush()
    except (StaleDataError, IntegrityError) as exc:
        # Someone else changed the case since it was read: the version (or seq) clashed.
        raise StaleCase(code) from exc
    announce(session, case, action)
    return event


def act(
    session: Session,
    settings: Settings,
    case: Case,
    action: str,
    *,
    actor: Actor,
    at: dt.datetime | None = None,
    note: str = "",
    payload: dict | None = None,
    public: bool = False,
    photos: Sequence[tuple[str, bytes] | CheckedImage] = (),
    expected_version: int | None = None,
) -> CaseEvent:
    """`transition` with the photos the action brings (an after-photo for report_done, a
    check's photos for verify_*), the one path of every live action with photos. The photos
    are checked (BadPhoto) and their files stored before the write, so that no file I/O
    happens under the write lock; a refused action removes the files again (a crash leaves
    them to the media sweep). Each photo row names the event and its stage (PHOTO_ACTIONS)."""
    if photos and action not in PHOTO_ACTIONS:
        raise BadAction(
            f"「{workflow.ACTION_NAMES_ZH[action]}」不带照片", f"{action} takes no photos"
        )
    checked = media_service.check_images(list(photos), settings)
    stored = [media_service.store(settings, image) for image in checked]
    try:
        event = transition(
            session,
            settings,
            case,
            action,
            actor=actor,
            at=at,
            note=note,
            payload=payload,
            public=public,
            photos=len(stored),
            expected_version=expected_version,
        )
    except AppError:
        media_service.discard(settings, stored)
        raise
    media_service.insert_stored(
        session,
        [
            {
                **image.row(),
                "case_id": case.id,
                "event_id": event.id,
                "stage": PHOTO_ACTIONS[action],
            }
            for image in stored
        ],
    )
    return event


def step(
    session: Session,
    settings: Settings,
    case: Case,
    action: str,
    *,
    actor: Actor,
    at: dt.datetime | None,
    note: str = "",
    payload: dict | None = None,
    public: bool = False,
    photos: int = 0,
    expected_version: int | None = None,
) -> dict:
    """The checks and the fold of `transition`: the case (a Case, or a draft with the same
    attributes) is updated and the event's row returned; nothing is written."""
    if action not in workflow.ACTIONS or action == "report":
        raise BadAction(f"未知操作 {action}", f"unknown action {action}")
    if expected_version is not None and expected_version != case.version:
        raise StaleCase(case.code)
    new_state = workflow.next_state(case.state, action, case.state_before_suspend)
    if new_state is None:
        raise IllegalTransition(case.state, action)
    check_actor(case, action, actor)
    if len(note) > rows.MAX_TEXT:
        raise BadAction(
            f"说明不能超过 {rows.MAX_TEXT} 字", f"a note is at most {rows.MAX_TEXT} characters"
        )
    at = at or utcnow()
    if case.last_event_at is not None and at < case.last_event_at:
        raise BadAction("事件时间早于上一事件", "the event is earlier than the case's last event")
    payload = payload or {}
    if not actor.is_history:
        payload = _prepare(session, settings, case, action, actor, at, payload, note, photos)
    return rows.apply(
        case,
        action,
        at,
        payload,
        actor=actor.username,
        role=actor.role,
        note=note,
        public=public,
        calendar=WorkCalendar.load(session, settings) if action in rows.REFERENCES else None,
    )


def announce(session: Session, case: Case, action: str, **extra) -> None:
    """Tell the command centre's live views, once the transaction commits."""
    change = {
        "type": "case",
        "code": case.code,
        "action": action,
        "state": case.state,
        "source": case.source,  # a listener for one source's cases needs no query
    }
    # the places say who may receive it (command.api filters each stream by `visible`)
    places = {
        "street": case.street_code,
        "community": case.community_code,
        "unit": case.unit_code,
    }
    events.queue_change(session, {**change, **places, **extra})


def working_time(session: Session, settings: Settings):
    """A function of two instants: the working time between them (the district's calendar and
    hours, loaded once for many calls)."""
    return WorkCalendar.load(session, settings).working_between
