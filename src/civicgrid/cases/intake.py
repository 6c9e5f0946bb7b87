"""New cases: a report is planned outside the write (`plan_report`: checks, place, routing,
the events of an auto-dispatch, all on a draft) and written in one short step for a whole
group (`write_reports`); `relocate` places a case that had no place and routes it the same way.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

from sqlalchemy import bindparam, insert, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, make_transient_to_detached

from civicgrid.cases import routing, rows, workflow
from civicgrid.cases.calendar import WorkCalendar
from civicgrid.cases.exceptions import ActionForbidden, BadAction
from civicgrid.cases.models import Case, CaseContact, CaseCounter, CaseEvent
from civicgrid.cases.policy import Actor, visible
from civicgrid.cases.service import announce, department_of, step, transition
from civicgrid.categories import service as cat_service
from civicgrid.config import Settings
from civicgrid.geo import service as geo_service
from civicgrid.kit.db import utcnow
from civicgrid.kit.text import normalise_phone

AUTO_SOURCES = ("citizen", "open311")


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
    # an address is one line (rows.check_header); a phone form's wrapped lines are joined
    address = " ".join(part.strip() for part in re.split(r"[\r\n]+", address) if part.strip())
    description = description.strip()
    rows.check_header(source=source, urgency=urgency, address=address, description=description)
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

    case = rows.draft(
        source=source,
        category_kind=cat.kind,
        category_code=cat.code,
        urgency=urgency,
        lon=lon,
        lat=lat,
        grid_code=code_of("grid"),
        community_code=code_of("community"),
        street_code=code_of("street"),
        address=address,
        description=description,
    )
    report_payload = {"source": source, **(extra or {})}
    events = [rows.apply(case, "report", at, report_payload, actor=actor.username, role=actor.role)]
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
            default_department=department_of(session, case),
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
        events.append(step(session, settings, case, "accept", actor=system, at=at))
    dispatch = {"unit": route.unit_code, "rule": route.rule_id}
    events.append(step(session, settings, case, "dispatch", actor=system, at=at, payload=dispatch))
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
        announce(session, case, event.action)
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
        return rows.case_row(self.case)


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
        announce(session, case, "report", state="reported")
        for event in plan.events[1:]:
            announce(session, case, event["action"], state=event["to_state"])
    return cases


_INSERT_CASES = insert(Case.__table__).returning(Case.__table__.c.id, sort_by_parameter_order=True)
_INSERT_EVENT = insert(CaseEvent.__table__)
_INSERT_CONTACT = insert(CaseContact.__table__)
