"""The case spine: reporting, transitions, routing and deadlines, queries.

Every state change goes through `transition`, which checks the workflow table, writes the
event and updates the row in the caller's transaction. Services flush; callers commit.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

from sqlalchemy import and_, bindparam, func, insert, or_, select, update
from sqlalchemy import case as sql_case
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, make_transient_to_detached
from sqlalchemy.orm.exc import StaleDataError

from civicgrid.auth.service import SEES_UNPLACED
from civicgrid.cases import routing, workflow
from civicgrid.cases.calendar import WorkCalendar
from civicgrid.cases.exceptions import (
    ActionForbidden,
    AlreadyRatedByCitizen,
    BadAction,
    CaseNotFound,
    IllegalTransition,
    StaleCase,
)
from civicgrid.cases.models import Case, CaseContact, CaseCounter, CaseEvent
from civicgrid.categories import service as cat_service
from civicgrid.config import Settings
from civicgrid.geo import service as geo_service
from civicgrid.kit import events
from civicgrid.kit.db import utcnow
from civicgrid.kit.text import normalise_phone
from civicgrid.kit.timefmt import check_year
from civicgrid.org import service as org_service

AUTO_SOURCES = ("citizen", "open311")
NOTE_REQUIRED = ("reject", "return", "verify_fail", "extend_refuse", "suspend", "urge", "comment")
MAX_TEXT = 4000


@dataclass(frozen=True)
class Actor:
    """Who takes an action, in which role, seeing which units (None: all)."""

    username: str | None
    role: str
    scope: frozenset[str] | None = None

    @classmethod
    def system(cls) -> Actor:
        return cls(None, "system")

    @classmethod
    def citizen(cls) -> Actor:
        return cls(None, "citizen")

    @property
    def is_history(self) -> bool:
        return self.role == "import"


def actor_for(session: Session, user, action: str) -> Actor:
    """The user acting in the first of their roles that may take `action`."""
    from civicgrid.auth import service as auth_service

    allowed = workflow.ROLES.get(action, ())
    role = next((r for r in user.roles if r in allowed), None)
    if role is None:
        raise ActionForbidden(
            f"您的角色不能执行「{workflow.ACTION_NAMES_ZH.get(action, action)}」",
            f"your roles may not take the action {action}; it needs one of {', '.join(allowed)}",
        )
    scope = auth_service.scope_codes(session, user)
    return Actor(user.username, role, frozenset(scope) if scope is not None else None)


def visible(case, scope: frozenset[str] | set[str] | None) -> bool:
    """Whether a scope (auth.service.scope_codes) may see a case — or anything with the case's
    unit_code, street_code and community_code (a live event, a draft). `scoped` is the same
    rule as a query."""
    if scope is None:
        return True
    places = (case.unit_code, case.street_code, case.community_code)
    if any(c in scope for c in places if c):
        return True
    return SEES_UNPLACED in scope and case.unit_code is None and case.street_code is None


def projection_of(case: Case) -> workflow.Projection:
    return workflow.Projection(**{k: getattr(case, k) for k in workflow.Projection().as_dict()})


def _write_projection(case: Case, p: workflow.Projection) -> None:
    for key, value in p.as_dict().items():
        if getattr(case, key) != value:
            setattr(case, key, value)


def _aware(value: Any, field: str) -> dt.datetime:
    if isinstance(value, dt.datetime):
        moment = value
    else:
        try:
            moment = dt.datetime.fromisoformat(str(value))
        except ValueError as exc:
            raise BadAction(
                f"{field} 不是 ISO 8601 时间", f"{field} is not an ISO 8601 time"
            ) from exc
    if moment.tzinfo is None:
        raise BadAction(f"{field} 须带时区偏移 (如 +08:00)", f"{field} needs a UTC offset")
    check_year(moment, field)
    return moment.astimezone(dt.UTC)


def get_case(session: Session, code: str) -> Case:
    case = session.scalar(select(Case).where(Case.code == code))
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


def _deadline_payload(
    session: Session, settings: Settings, case: Case, at: dt.datetime, limit=None
) -> dict:
    """Deadline and 80 % mark of a dispatch at `at`, from the category's time limit."""
    cat = cat_service.category_ref(session, case.category_code, case.category_kind)
    limit = limit or cat_service.cached_limit(session, cat, case.urgency)
    cal = WorkCalendar.load(session, settings)
    deadline = cal.add(at, limit.value, limit.unit)
    warn = cal.add(at, limit.value * workflow.WARN_FRACTION, limit.unit)
    case.limit_unit = limit.unit
    case.calendar_missing = deadline.calendar_missing
    return {
        "deadline": deadline.at,
        "warn_at": warn.at,
        "limit": {"value": limit.value, "unit": limit.unit, "scope": limit.scope},
    }


def _prepare(
    session: Session,
    settings: Settings,
    case: Case,
    action: str,
    actor: Actor,
    at: dt.datetime,
    payload: dict,
    note: str,
) -> dict:
    """Check and complete the payload of a live action (history import brings its own)."""
    p = dict(payload)
    if action in NOTE_REQUIRED and not note.strip() and action != "suspend":
        raise BadAction(
            f"「{workflow.ACTION_NAMES_ZH[action]}」需要填写说明",
            f"{action} needs a note saying why",
        )
    if action == "dispatch":
        unit = p.get("unit") or None
        if unit is None:
            r = routing.route(
                session,
                category_code=case.category_code,
                default_department=_department_of(session, case),
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
        if p.get("deadline"):
            p["deadline"] = _aware(p["deadline"], "deadline")
            if p["deadline"] <= at:
                raise BadAction("处置时限必须晚于现在", "the deadline must be in the future")
            p["warn_at"] = at + (p["deadline"] - at) * workflow.WARN_FRACTION
        else:
            p.update(_deadline_payload(session, settings, case, at))
    elif action == "extend_request":
        if not p.get("until"):
            raise BadAction("申请延期须给出延至时间 until", "extend_request needs `until`")
        p["until"] = _aware(p["until"], "until")
        if case.deadline and p["until"] <= case.deadline:
            raise BadAction(
                "延期时间必须晚于当前时限", "`until` must be after the current deadline"
            )
    elif action == "extend_approve":
        if not case.extension_pending:
            raise BadAction("没有待批准的延期申请", "there is no extension request to approve")
        if not p.get("deadline"):
            last = session.scalar(
                select(CaseEvent)
                .where(CaseEvent.case_id == case.id, CaseEvent.action == "extend_request")
                .order_by(CaseEvent.seq.desc())
                .limit(1)
            )
            p["deadline"] = last.payload["until"] if last else None
        p["deadline"] = _aware(p["deadline"], "deadline")
        if p["deadline"] <= at:
            raise BadAction("新的时限必须晚于现在", "the new deadline must be in the future")
        cal = WorkCalendar.load(session, settings)
        remaining = cal.working_between(at, p["deadline"])
        if case.limit_unit == "natural_hours" or remaining.total_seconds() == 0:
            p["warn_at"] = at + (p["deadline"] - at) * workflow.WARN_FRACTION
        else:
            p["warn_at"] = cal.add_working(at, remaining * workflow.WARN_FRACTION).at
    elif action == "extend_refuse":
        if not case.extension_pending:
            raise BadAction("没有待处理的延期申请", "there is no extension request to refuse")
    elif action == "rate":
        score = p.get("score")
        if not isinstance(score, int) or isinstance(score, bool) or not 1 <= score <= 5:
            raise BadAction("评分须为 1 到 5 的整数", "score must be a whole number from 1 to 5")
        if citizen_rated(session, case):
            # the citizen's own word is final; a phone follow-up is recorded only before it
            raise AlreadyRatedByCitizen()
    elif action == "relocate":
        p = _place_payload(session, case, p)
    elif action == "urge":
        p["to"] = case.unit_code
    return p


def citizen_rated(session: Session, case) -> bool:
    """Whether the citizen has rated the case themselves (by the tracking secret)."""
    if case.id is None or case.first_rate_at is None:
        return False
    found = select(CaseEvent.id).where(
        CaseEvent.case_id == case.id, CaseEvent.action == "rate", CaseEvent.role == "citizen"
    )
    return session.scalar(found.limit(1)) is not None


def _place_payload(session: Session, case, given: dict) -> dict:
    """A relocate's payload: the new point in WGS-84, its grid, community and street, and the
    point it replaces."""
    lon, lat = given.get("lon"), given.get("lat")
    numbers = all(
        isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)
        for v in (lon, lat)
    )
    if not numbers or not (-180 <= lon <= 180 and -90 <= lat <= 90):
        raise BadAction(
            "定位需要经度 lon (-180~180) 和纬度 lat (-90~90)",
            "relocate needs lon (-180..180) and lat (-90..90)",
        )
    found = geo_service.locate(session, float(lon), float(lat), given.get("datum") or "wgs84")
    return {
        "lon": found["lon"],
        "lat": found["lat"],
        "datum": "wgs84",
        **{level: found[level].code if found[level] else None for level in PLACE_LEVELS},
        "was": {"lon": case.lon, "lat": case.lat},
    }


PLACE_LEVELS = ("grid", "community", "street")


def _department_of(session: Session, case: Case) -> str:
    cat = cat_service.category_ref(session, case.category_code, case.category_kind)
    return cat.default_department


def check_actor(case: Case, action: str, actor: Actor) -> None:
    if actor.is_history or actor.role == "system":
        return
    if actor.role not in workflow.ROLES.get(action, ()):
        raise ActionForbidden(
            f"角色 {actor.role} 不能执行「{workflow.ACTION_NAMES_ZH.get(action, action)}」",
            f"role {actor.role} may not take the action {action}",
        )
    if actor.role == "citizen":
        return
    if (
        action in workflow.UNIT_ACTIONS
        and actor.scope is not None
        and case.unit_code not in actor.scope
    ):
        raise ActionForbidden(
            "只有案件派往单位的处置人员可以执行此操作",
            "only handlers of the unit the case was sent to may do this",
        )
    if not visible(case, actor.scope):
        raise ActionForbidden("案件不在您的管辖范围内", "the case is outside your unit")


def _json_payload(payload: dict) -> dict:
    out = {}
    for key, value in payload.items():
        out[key] = value.isoformat() if isinstance(value, dt.datetime) else value
    return out


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
    expected_version: int | None = None,
) -> CaseEvent:
    """Take one action on a case: check the move and the actor, write the event, update the row.

    Raises IllegalTransition (409) naming the state and the actions allowed now, StaleCase (409)
    when `expected_version` is given and the case has moved on, ActionForbidden (403) and
    BadAction (400). Nothing is written when it raises.
    """
    event = CaseEvent(
        **_step(
            session,
            settings,
            case,
            action,
            actor=actor,
            at=at,
            note=note,
            payload=payload,
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
    _announce(session, case, action)
    return event


def _step(
    session: Session,
    settings: Settings,
    case: Case,
    action: str,
    *,
    actor: Actor,
    at: dt.datetime | None,
    note: str = "",
    payload: dict | None = None,
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
    if len(note) > MAX_TEXT:
        raise BadAction(f"说明不能超过 {MAX_TEXT} 字", f"a note is at most {MAX_TEXT} characters")
    at = at or utcnow()
    if case.last_event_at is not None and at < case.last_event_at:
        raise BadAction("事件时间早于上一事件", "the event is earlier than the case's last event")
    payload = payload or {}
    if not actor.is_history:
        payload = _prepare(session, settings, case, action, actor, at, payload, note)
    p = projection_of(case)
    workflow.apply(p, action, at, payload)
    event = {
        "case_id": case.id,
        "seq": p.last_seq,
        "at": at,
        "action": action,
        "from_state": case.state,
        "to_state": p.state,
        "actor": actor.username,
        "role": actor.role,
        "note": note,
        "payload": _json_payload(payload),
    }
    _write_projection(case, p)
    if action == "rate" and payload["score"] <= 2:
        case.queue_reason = "complaint"  # 回访不满意: back before the dispatcher
    elif action == "dispatch":
        case.queue_reason = None
    elif action == "return":
        case.queue_reason = "returned"
    elif action == "relocate":
        case.lon, case.lat = payload["lon"], payload["lat"]
        case.grid_code = payload["grid"]
        case.community_code = payload["community"]
        case.street_code = payload["street"]
        case.queue_reason = "outside_grid" if payload["street"] is None else None
    return event


def _announce(session: Session, case: Case, action: str, **extra) -> None:
    """Tell the command centre's live views, once the transaction commits."""
    change = {"type": "case", "code": case.code, "action": action, "state": case.state}
    # the places say who may receive it (command.api filters each stream by `visible`)
    places = {
        "street": case.street_code,
        "community": case.community_code,
        "unit": case.unit_code,
    }
    events.queue_change(session, {**change, **places, **extra})


def next_codes(session: Session, settings: Settings, moments: list[dt.datetime]) -> list[str]:
    """A new readable case code for each moment, XF20261125-000123: the day (local time) and
    its sequence, one counter update per day among them."""
    tz = WorkCalendar.tz_of(settings)
    days = [at.astimezone(tz).strftime("%Y%m%d") for at in moments]
    wanted: dict[str, int] = {}
    for day in days:
        wanted[day] = wanted.get(day, 0) + 1
    conn = session.connection()
    last: dict[str, int] = {}
    for day, n in wanted.items():
        number = conn.execute(_TAKE_NUMBERS, {"of_day": day, "n": n}).scalar()
        if number is None:
            try:
                with session.begin_nested():
                    session.connection().execute(insert(CaseCounter).values(day=day, last=n))
                number = n
            except IntegrityError:
                number = conn.execute(_TAKE_NUMBERS, {"of_day": day, "n": n}).scalar_one()
        last[day] = number - n  # the number before this lot's first
    codes = []
    for day in days:
        last[day] += 1
        codes.append(f"{settings.case_code_prefix}{day}-{last[day]:06d}")
    return codes


_COUNTERS = CaseCounter.__table__
_TAKE_NUMBERS = (
    update(_COUNTERS)
    .where(_COUNTERS.c.day == bindparam("of_day"))
    .values(last=_COUNTERS.c.last + bindparam("n"))
    .returning(_COUNTERS.c.last)
)


def plan_report(
    session: Session,
    settings: Settings,
    *,
    source: str,
    category: str,
    actor: Actor,
    category_kind: str | None = None,
    urgency: str = "normal",
    lon: float | None = None,
    lat: float | None = None,
    datum: str = "wgs84",
    address: str = "",
    description: str = "",
    contact_name: str = "",
    contact_phone: str = "",
    contact_email: str = "",
    auto_dispatch: bool | None = None,
    at: dt.datetime | None = None,
    extra: dict | None = None,
) -> ReportPlan:
    """Decide a new case and, where the rules allow, its acceptance and dispatch (written
    together, in one transaction, by `write_report`). `extra` goes into the report event's
    payload (what an Open311 client sent besides).

    The location is mapped to grid, community and street; a case outside every grid, or whose
    category no rule covers, is kept and put on the dispatcher's queue with the reason.

    This part only reads (cached reference data, the grid index): it decides everything on a
    case object not yet in the session, with the same checks and folds as `transition`, so
    that the write (`write_report`) is short. Raises what `transition` raises.
    """
    if source not in workflow.SOURCES:
        raise BadAction(f"来源 {source} 无效", f"source must be one of {workflow.SOURCES}")
    if urgency not in workflow.URGENCIES:
        raise BadAction("紧急程度应为 normal 或 urgent", "urgency must be normal or urgent")
    if len(description) > MAX_TEXT or len(address) > 200:
        raise BadAction(
            "描述最多 4000 字, 地址最多 200 字",
            "description is at most 4000 characters, address at most 200",
        )
    cat = cat_service.category_ref(session, category, category_kind)
    found = None
    if lon is not None and lat is not None:
        found = geo_service.locate(session, lon, lat, datum)
        lon, lat = found["lon"], found["lat"]
    elif lon is not None or lat is not None:
        raise BadAction("经纬度须同时给出", "give both lon and lat, or neither")
    at = at or utcnow()

    def code_of(level):
        return found[level].code if found and found[level] else None

    p = workflow.Projection()
    workflow.apply(p, "report", at, {})
    now = utcnow()
    case = SimpleNamespace(
        id=None,
        code=None,
        source=source,
        category_kind=cat.kind,
        category_code=cat.code,
        urgency=urgency,
        lon=lon,
        lat=lat,
        grid_code=code_of("grid"),
        community_code=code_of("community"),
        street_code=code_of("street"),
        address=address.strip(),
        description=description.strip(),
        limit_unit=None,
        calendar_missing=False,
        queue_reason=None,
        duplicate_of=None,
        version=1,
        created_at=now,
        updated_at=now,
        **p.as_dict(),
    )
    events = [
        {
            "case_id": None,
            "seq": 1,
            "at": at,
            "action": "report",
            "from_state": None,
            "to_state": "reported",
            "actor": actor.username,
            "role": actor.role,
            "note": "",
            "payload": {"source": source, **(extra or {})},
        }
    ]
    if actor.role in workflow.STAFF and case.street_code and not visible(case, actor.scope):
        raise ActionForbidden(
            "该位置不在您的管辖范围内, 请联系指挥中心上报",
            "the place is outside your unit; report it through the command centre",
        )
    if found is None:
        case.queue_reason = "no_location"
    events.extend(_route_new(session, settings, case, at, auto_dispatch=auto_dispatch))

    contact = None
    if contact_name or contact_phone or contact_email:
        contact = {
            "name": contact_name.strip()[:60],
            "phone": normalise_phone(contact_phone, "contact_phone"),
            "email": contact_email.strip()[:120],
        }
    return ReportPlan(case, events, contact)


def _route_new(
    session: Session,
    settings: Settings,
    case,
    at: dt.datetime,
    *,
    auto_dispatch: bool | None = None,
) -> list[dict]:
    """Route a case that has not been dispatched yet, as a report is routed when it arrives:
    where its place is in a grid, its source is dispatched automatically (or `auto_dispatch`
    says so) and a rule names a unit, the system accepts (if need be) and dispatches it at `at`;
    otherwise the reason is left on the case for the dispatcher's queue. Returns the events'
    rows (applied to the case, not written)."""
    if case.queue_reason == "no_location":
        return []
    reason = "outside_grid" if case.street_code is None else None
    auto = (
        auto_dispatch
        if auto_dispatch is not None
        else (settings.auto_dispatch and case.source in AUTO_SOURCES)
    )
    if reason is None and not auto:
        reason = "manual"
    if reason is None and case.source == "citizen" and settings.citizen_reports_need_acceptance:
        reason = "needs_acceptance"
    route = None
    if reason is None:
        route = routing.route(
            session,
            category_code=case.category_code,
            default_department=_department_of(session, case),
            street_code=case.street_code,
            community_code=case.community_code,
        )
        reason = route.reason
    if reason is not None:
        case.queue_reason = reason
        return []
    system = Actor.system()
    events = []
    if case.state == "reported":
        events.append(_step(session, settings, case, "accept", actor=system, at=at))
    dispatch = {"unit": route.unit_code, "rule": route.rule_id}
    events.append(_step(session, settings, case, "dispatch", actor=system, at=at, payload=dispatch))
    return events


def relocate(
    session: Session,
    settings: Settings,
    case: Case,
    *,
    actor: Actor,
    lon: float,
    lat: float,
    datum: str = "wgs84",
    note: str = "",
    expected_version: int | None = None,
) -> list[CaseEvent]:
    """Place a case that has no place, or a wrong one (定位): the event records the new point
    (WGS-84), its grid, community and street, and the point it replaces. Routing follows as for
    a new report (`_route_new`): the system accepts and dispatches it where the rules allow,
    otherwise the reason stays on the dispatcher's queue. Returns the events written."""
    written = [
        transition(
            session,
            settings,
            case,
            "relocate",
            actor=actor,
            note=note,
            payload={"lon": lon, "lat": lat, "datum": datum},
            expected_version=expected_version,
        )
    ]
    at = written[0].at
    for row in _route_new(session, settings, case, at):
        event = CaseEvent(**row)
        session.add(event)
        written.append(event)
    session.flush()
    for event in written[1:]:
        _announce(session, case, event.action)
    return written


@dataclass
class ReportPlan:
    """A report decided but not written: the case as a draft (the columns of a Case, without
    code and id), its events' rows, and the reporter's contact."""

    case: SimpleNamespace
    events: list[dict]
    contact: dict | None

    @property
    def row(self) -> dict:
        return {c: getattr(self.case, c) for c in _CASE_COLUMNS}


def report(session: Session, settings: Settings, **kwargs: Any) -> Case:
    """`plan_report` and `write_report` in the caller's transaction (the arguments are
    `plan_report`'s)."""
    return write_report(session, settings, plan_report(session, settings, **kwargs))


def write_report(session: Session, settings: Settings, plan: ReportPlan) -> Case:
    return write_reports(session, settings, [plan])[0]


def write_reports(
    session: Session, settings: Settings, plans: list[ReportPlan], *, attach: bool = True
):
    """Write planned reports: their codes, rows, events and contacts, one statement per table
    for all of them. Each case joins the session as a Case, without being read back; or, with
    `attach=False`, the drafts come back with their code and id (nothing more to build). A
    plan whose write was rolled back can be written again."""
    codes = next_codes(session, settings, [plan.case.reported_at for plan in plans])
    rows = [{**plan.row, "code": code} for plan, code in zip(plans, codes, strict=True)]
    conn = session.connection()
    ids = conn.execute(_INSERT_CASES, rows).scalars().all()
    events, contacts = [], []
    for plan, case_id in zip(plans, ids, strict=True):
        events.extend({**row, "case_id": case_id} for row in plan.events)
        if plan.contact:
            contacts.append({"case_id": case_id, **plan.contact})
    conn.execute(_INSERT_EVENT, events)
    if contacts:
        conn.execute(_INSERT_CONTACT, contacts)
    cases = []
    for plan, row, case_id in zip(plans, rows, ids, strict=True):
        if attach:
            case = Case(**row)
            case.id = case_id
            make_transient_to_detached(case)
            session.add(case)
        else:
            case = plan.case
            case.code, case.id = row["code"], case_id
        cases.append(case)
        _announce(session, case, "report", state="reported", source=case.source)
        for event in plan.events[1:]:
            _announce(session, case, event["action"], state=event["to_state"])
    return cases


_INSERT_CASES = insert(Case.__table__).returning(Case.__table__.c.id, sort_by_parameter_order=True)
_INSERT_EVENT = insert(CaseEvent.__table__)
_INSERT_CONTACT = insert(CaseContact.__table__)


_CASE_COLUMNS = tuple(c.key for c in Case.__table__.columns if c.key != "id")


# --- queries ----------------------------------------------------------------------------------


@dataclass
class CaseFilter:
    state: list[str] | None = None
    light: str | None = None
    street: str | None = None
    community: str | None = None
    grid: str | None = None
    unit: str | None = None
    category: str | None = None
    source: str | None = None
    q: str | None = None
    reported_from: dt.datetime | None = None
    reported_to: dt.datetime | None = None
    bbox: tuple[float, float, float, float] | None = None
    queue: str | list[str] | None = None
    extension_pending: bool | None = None


def scoped(query, scope):
    """`query` limited to the cases the scope (unit codes, or None for all) may see: `visible`
    as a condition."""
    if scope is None:
        return query
    codes = [c for c in scope if c != SEES_UNPLACED]
    seen = [Case.unit_code.in_(codes), Case.street_code.in_(codes), Case.community_code.in_(codes)]
    if SEES_UNPLACED in scope:
        seen.append(and_(Case.unit_code.is_(None), Case.street_code.is_(None)))
    return query.where(or_(*seen))


def list_cases(
    session: Session,
    *,
    scope,
    flt: CaseFilter,
    limit: int = 50,
    cursor: int | None = None,
    now: dt.datetime | None = None,
) -> list[Case]:
    """Cases the scope may see, newest first, filtered; `cursor` is the last id of a page."""
    query = _filtered(select(Case), scope, flt, now or utcnow())
    if cursor:
        query = query.where(Case.id < cursor)
    return list(session.scalars(query.order_by(Case.id.desc()).limit(limit)))


def count_cases(session: Session, *, scope, flt: CaseFilter) -> int:
    """How many cases `list_cases` would find without a limit."""
    return session.scalar(_filtered(select(func.count(Case.id)), scope, flt, utcnow())) or 0


def _filtered(query, scope, flt: CaseFilter, now: dt.datetime):
    query = scoped(query, scope)
    if flt.state:
        query = query.where(Case.state.in_(flt.state))
    for column, value in (
        (Case.street_code, flt.street),
        (Case.community_code, flt.community),
        (Case.grid_code, flt.grid),
        (Case.unit_code, flt.unit),
        (Case.source, flt.source),
    ):
        if value:
            query = query.where(column == value)
    if flt.category:
        query = query.where(Case.category_code.startswith(flt.category))
    if flt.q:
        words = f"%{flt.q}%"
        query = query.where(
            or_(Case.description.like(words), Case.address.like(words), Case.code.like(words))
        )
    if flt.reported_from:
        query = query.where(Case.reported_at >= flt.reported_from)
    if flt.reported_to:
        query = query.where(Case.reported_at < flt.reported_to)
    if flt.bbox:
        x0, y0, x1, y1 = flt.bbox
        query = query.where(Case.lon.between(x0, x1), Case.lat.between(y0, y1))
    if flt.queue:
        reasons = [flt.queue] if isinstance(flt.queue, str) else flt.queue
        query = query.where(Case.queue_reason.in_(reasons))
    if flt.light:
        ticking = Case.state.in_(("dispatched", "in_progress", "registered"))
        if flt.light == "red":
            query = query.where(ticking, Case.deadline < now)
        elif flt.light == "yellow":
            query = query.where(ticking, Case.deadline >= now, Case.warn_at < now)
        elif flt.light == "green":
            query = query.where(ticking, Case.warn_at >= now)
        else:
            raise BadAction("light 应为 green、yellow 或 red", "light must be green, yellow or red")
    if flt.extension_pending is not None:
        query = query.where(Case.extension_pending.is_(flt.extension_pending))
    return query


def count_by_state(session: Session, scope) -> dict[str, int]:
    query = scoped(select(Case.state, func.count()).group_by(Case.state), scope)
    return dict(session.execute(query).all())


def count_open_by_light(session: Session, *, scope, now: dt.datetime) -> dict[str, int]:
    """The open cases (workflow.OPEN_STATES) the scope may see, counted in the database (one
    GROUP BY, however many there are): {"open": n, "green": g, "yellow": y, "red": r}, the
    lights as workflow.light gives them at `now`."""
    ticking = and_(
        Case.state.in_(("dispatched", "in_progress", "registered")), Case.deadline.is_not(None)
    )
    light = sql_case(
        (and_(ticking, Case.deadline < now), "red"),
        (and_(ticking, Case.warn_at.is_not(None), Case.warn_at < now), "yellow"),
        (ticking, "green"),
        else_="none",
    ).label("light")
    query = scoped(
        select(light, func.count()).where(Case.state.in_(workflow.OPEN_STATES)).group_by(light),
        scope,
    )
    counts = {"green": 0, "yellow": 0, "red": 0}
    total = 0
    for name, n in session.execute(query):
        total += n
        if name in counts:
            counts[name] = n
    return {"open": total, **counts}
