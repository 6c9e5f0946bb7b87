"""From events to rows: the one place that turns a case's events into its `cases` columns and
its `case_events` rows.

Live intake, live actions, Open311 group intake, history import and verify-cases all build a
case through these functions: the header (what the reporter says) is checked by
`check_header`, each event's payload by `check_payload` against the workflow's specification
(`workflow.PAYLOADS`), and `apply` folds an event into the case and gives its event row. A new
Case column therefore changes this module (and a migration); a new action changes the
workflow's tables.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Container
from types import SimpleNamespace
from typing import Any

from civicgrid.cases import workflow
from civicgrid.cases.exceptions import BadAction
from civicgrid.cases.models import Case
from civicgrid.kit.db import utcnow
from civicgrid.kit.text import check_text
from civicgrid.kit.timefmt import check_year

MAX_TEXT = 4000
MAX_ADDRESS = 200
MAX_BY = 60
PLACE_LEVELS = ("grid", "community", "street")
# case-history-format.md: a code is at most 40 letters, digits and hyphens (it ends up in URLs,
# pages and file names; nothing else is safe in all of them).
CODE_PATTERN = re.compile(r"[A-Za-z0-9-]{1,40}")

# Every column of a case row but the database's id, and what a new case has in it unless
# intake, routing or the workflow's fold says otherwise: the column's own scalar default, or
# None. A new column of the model is thereby written, staged, exported and verified with no
# change here (a migration adds it to the database).
CASE_COLUMNS = tuple(c.key for c in Case.__table__.columns if c.key != "id")
COLUMN_DEFAULTS: dict[str, Any] = {
    c.key: c.default.arg if c.default is not None and c.default.is_scalar else None
    for c in Case.__table__.columns
    if c.key != "id"
}
# What the reporter says (and where it is): set at intake, moved only by `relocate`.
HEADER_COLUMNS = (
    "code",
    "source",
    "category_kind",
    "category_code",
    "urgency",
    "lon",
    "lat",
    "grid_code",
    "community_code",
    "street_code",
    "address",
    "description",
)
PROJECTED_COLUMNS = tuple(workflow.Projection().as_dict())
# A history's case whose queue follows from where its point falls (see `placed_reason`).
TO_PLACE = "<to place>"
# Set by routing and by some events' payloads (see `apply`), not by the workflow's fold.
ROUTING_DEFAULTS: dict[str, Any] = {
    "limit_unit": None,
    "calendar_missing": False,
    "queue_reason": None,
    "duplicate_of": None,
}
EVENT_COLUMNS = (
    "case_id",
    "seq",
    "at",
    "action",
    "from_state",
    "to_state",
    "actor",
    "role",
    "note",
    "public",
    "payload",
    "ref_at",
    "ref_by",
    "wait_key",
)


# --- the header -------------------------------------------------------------------------------


def check_header(*, source: str, urgency: str, address: str, description: str) -> None:
    """BadAction / BadText (400) unless the source, urgency and texts of a new case are valid."""
    if source not in workflow.SOURCES:
        raise BadAction(
            f"来源 {source} 无效", f"source {source!r} is not one of {', '.join(workflow.SOURCES)}"
        )
    if urgency not in workflow.URGENCIES:
        raise BadAction(
            "紧急程度应为 normal 或 urgent", f"urgency {urgency!r} is not normal or urgent"
        )
    check_text(address, "address", max_length=MAX_ADDRESS, multiline=False)
    check_text(description, "description", max_length=MAX_TEXT)


def draft(**header: Any) -> SimpleNamespace:
    """A case not yet written and with no event: the header given, every other column at its
    default. `apply(draft, "report", ...)` starts its history."""
    now = utcnow()
    columns = {
        **COLUMN_DEFAULTS,
        **workflow.Projection().as_dict(),
        **ROUTING_DEFAULTS,
        "version": 1,
        "created_at": now,
        "updated_at": now,
    }
    columns.update(header)
    return SimpleNamespace(id=None, **columns)


def case_row(case) -> dict:
    """The `cases` row of a case or draft (without id)."""
    return {c: getattr(case, c) for c in CASE_COLUMNS}


# --- payloads ---------------------------------------------------------------------------------


def check_payload(
    action: str,
    given: dict,
    *,
    at: dt.datetime,
    history: bool,
    units: Container[str] | None = None,
) -> dict:
    """The payload of `action` as the workflow specifies it (workflow.PAYLOADS), with times as
    aware UTC datetimes; BadAction (400) naming the field otherwise.

    In a history every required field must be there and `unit` must be one of `units`; a live
    action may leave out what the service completes (`live_default`), and keeps the keys its
    caller added besides the specification (the routing rule of an auto-dispatch). A deadline
    must be later than the event, on every path.
    """
    spec = workflow.PAYLOADS[action]
    out = {} if history else {k: v for k, v in given.items() if k not in spec}
    for name, field in spec.items():
        value = given.get(name)
        if value is None:
            if field.required and (history or not field.live_default):
                raise BadAction(
                    f"「{workflow.ACTION_NAMES_ZH[action]}」需要填写"
                    f"{workflow.FIELD_NAMES_ZH.get(name, '全部内容')}",
                    f"{workflow.in_words(action)} needs {workflow.in_words(name)}",
                )
            continue
        out[name] = _value(field, name, value, units)
    if "deadline" in out and out["deadline"] <= at:
        raise BadAction(
            "处置时限必须晚于事件时间 (现在)", "the deadline must be later than the event (now)"
        )
    return out


def _value(field: workflow.Field, name: str, value: Any, units: Container[str] | None) -> Any:
    if field.kind == "time":
        return aware(value, name)
    if field.kind == "unit":
        if units is not None and value not in units:
            raise BadAction(f"未知单位 {value!r}", f"unknown unit {value!r}")
        if not isinstance(value, str):
            raise BadAction(f"{name} 须为单位代码", f"{name} must be an org unit code")
        return value
    if field.kind == "code":
        if not isinstance(value, str) or not CODE_PATTERN.fullmatch(value):
            raise BadAction(
                f"{name} 须为案件编号", f"{name} is not 1 to 40 letters, digits or hyphens"
            )
        return value
    if field.kind == "score":
        if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 5:
            raise BadAction("评分须为 1 到 5 的整数", "score must be a whole number from 1 to 5")
        return value
    if field.kind in ("lon", "lat"):
        bound = 180 if field.kind == "lon" else 90
        number = isinstance(value, int | float) and not isinstance(value, bool)
        if not number or not math.isfinite(value) or not -bound <= value <= bound:
            raise BadAction(
                f"坐标 {name} 须为 -{bound}~{bound} 的数",
                f"bad coordinate: {name} must be a number from -{bound} to {bound}",
            )
        return float(value)
    if field.kind == "choice":
        if value not in field.choices:
            raise BadAction(
                f"{name} 应为 {', '.join(field.choices)}",
                f"{name} {value!r} is not one of {', '.join(field.choices)}",
            )
        return value
    raise AssertionError(field.kind)


def aware(value: Any, name: str) -> dt.datetime:
    """An ISO 8601 time with its UTC offset (or a datetime with its zone), in UTC."""
    if isinstance(value, dt.datetime):
        moment = value
    else:
        try:
            moment = dt.datetime.fromisoformat(value)
        except (TypeError, ValueError):
            raise BadAction(
                f"{name} 不是 ISO 8601 时间", f"{name} {value!r} is not an ISO 8601 time"
            ) from None
    if moment.tzinfo is None:
        raise BadAction(f"{name} 须带时区偏移 (如 +08:00)", f"{name} {value!r} has no UTC offset")
    check_year(moment, name)
    return moment.astimezone(dt.UTC)


def stored_payload(payload: dict) -> dict:
    """A payload as the event row keeps it (JSON: times as ISO 8601 text)."""
    return {k: v.isoformat() if isinstance(v, dt.datetime) else v for k, v in payload.items()}


def read_payload(action: str, stored: dict | None) -> dict:
    """An event row's payload with the specification's times as datetimes again (for the
    fold: verify-cases, and the live extend_approve that takes its request's `until`)."""
    out = dict(stored or {})
    for key, value in out.items():
        if key in _TIME_KEYS and isinstance(value, str):
            out[key] = dt.datetime.fromisoformat(value)
    return out


# Every payload key that holds a time, whatever the action (an extension's warn_at is the
# service's, not the format's).
_TIME_KEYS = frozenset(
    name
    for spec in workflow.PAYLOADS.values()
    for name, field in spec.items()
    if field.kind == "time"
)


def history_fields(action: str, stored: dict | None) -> dict:
    """The fields of the history format an event row's payload holds (export-cases)."""
    payload = stored or {}
    out = {k: payload[k] for k in workflow.PAYLOADS.get(action, {}) if k in payload}
    if action == "dispatch" and "limit_unit" not in out and payload.get("limit"):
        out["limit_unit"] = payload["limit"]["unit"]  # events written before limit_unit
    return out


def warn_at(
    calendar, at: dt.datetime, deadline: dt.datetime, limit_unit: str | None, fraction: float
) -> dt.datetime:
    """The yellow-light instant of a deadline set at `at`: `fraction` (the setting
    light_yellow_fraction) of the working time to the deadline for a limit in working hours or
    days, of the natural time otherwise or when no working time lies between."""
    if limit_unit in ("working_hours", "working_days"):
        remaining = calendar.working_between(at, deadline)
        if remaining.total_seconds() > 0:
            return min(calendar.add_working(at, remaining * fraction).at, deadline)
    return at + (deadline - at) * fraction


# --- events -----------------------------------------------------------------------------------


def projection_of(case) -> workflow.Projection:
    return workflow.Projection(**{k: getattr(case, k) for k in PROJECTED_COLUMNS})


def apply(
    case,
    action: str,
    at: dt.datetime,
    payload: dict,
    *,
    actor: str | None,
    role: str,
    note: str = "",
    public: bool = False,
    calendar=None,
) -> dict:
    """Fold one checked event into the case (a Case or a draft) and return its event row.

    The workflow's fold gives the projected columns; the payload of a few actions moves other
    columns: a dispatch its limit unit and clears the queue, a return, a poor latest rating
    (≤ 2, 回访不满意; a later good rating clears it) or a citizen's reopening comment puts the
    case back before the dispatcher, a relocate moves the place, a reject
    of a duplicate names the original.
    """
    p = projection_of(case)
    from_state = case.state
    workflow.apply(p, action, at, payload)
    for key, value in p.as_dict().items():
        if getattr(case, key) != value:
            setattr(case, key, value)
    if action == "rate":
        # the latest rating counts: a poor one (≤ 2) puts the case on 回访不满意, a later good
        # one takes it off
        if payload["score"] <= 2:
            case.queue_reason = "complaint"
        elif case.queue_reason == "complaint":
            case.queue_reason = None
    elif action == "dispatch":
        case.queue_reason = None
        if payload.get("limit_unit"):
            case.limit_unit = payload["limit_unit"]
    elif action == "return":
        case.queue_reason = "returned"
    elif action == "relocate":
        case.lon, case.lat = payload["lon"], payload["lat"]
        if "street" in payload:
            for level in PLACE_LEVELS:
                setattr(case, f"{level}_code", payload[level])
            case.queue_reason = "outside_grid" if payload["street"] is None else None
        else:  # a history's: placed in the grids when staged (`placed_reason`)
            case.queue_reason = TO_PLACE
    elif action == "reject" and payload.get("duplicate_of"):
        case.duplicate_of = payload["duplicate_of"]
    elif action == "comment" and payload.get("reopen"):
        # a citizen reopening a closed case (Open311's REOPEN): before the dispatcher, as a
        # poor rating is
        case.queue_reason = "complaint"
    ref_at, ref_by, key = act_reference(case, action, at, actor, role, calendar)
    return {
        "case_id": case.id,
        "seq": p.last_seq,
        "at": at,
        "action": action,
        "from_state": from_state,
        "to_state": p.state,
        "actor": actor,
        "role": role,
        "note": note,
        "public": public,
        "payload": stored_payload(payload),
        "ref_at": ref_at,
        "ref_by": ref_by,
        "wait_key": key,
    }


def by_of(actor: str | None, role: str | None) -> str | None:
    """Who acted as the history format writes it: the username, `system`, or None."""
    return actor or ("system" if role == "system" else None)


# the act each action answers (CaseEvent.ref_at): the case column of its time and of its actor
REFERENCES = {
    "accept": ("reported_at", "reported_by"),
    "dispatch": ("last_intake_at", None),
    "verify_pass": ("last_done_at", None),
    "verify_fail": ("last_done_at", None),
    "return": ("last_dispatch_at", "last_dispatch_by"),
    "reject": ("last_accept_at", "last_accept_by"),
}
# what an action records for the later ones: column of its time, column of its actor
TRACKED = {
    "report": (None, "reported_by"),
    "accept": ("last_accept_at", "last_accept_by"),
    "return": ("last_intake_at", None),
    "dispatch": ("last_dispatch_at", "last_dispatch_by"),
    "report_done": ("last_done_at", None),
}


def act_reference(case, action, at, actor, role, calendar):
    """(ref_at, ref_by, wait_key) of an event (see CaseEvent), from the case's columns as they
    stood before it; then the case's columns take this event. `calendar` (a WorkCalendar)
    gives the working time; without one the wait is left null."""
    ref_at = ref_by = key = None
    if action in REFERENCES:
        at_column, by_column = REFERENCES[action]
        ref_at = getattr(case, at_column)
        ref_by = getattr(case, by_column) if by_column else None
        if ref_at is not None and calendar is not None:
            key = calendar.wait_key(ref_at, at)
    if action in TRACKED:
        at_column, by_column = TRACKED[action]
        if at_column:
            setattr(case, at_column, at)
        if by_column:
            setattr(case, by_column, by_of(actor, role))
        if action == "accept":
            case.last_intake_at = at
    return ref_at, ref_by, key


def placed_reason(row: dict) -> str | None:
    """The queue reason of a case row once its point is placed in the grids: a point that is
    still to be placed (TO_PLACE, left by a report or a relocate no later event changed) is
    outside every grid or on no queue."""
    if row["queue_reason"] != TO_PLACE:
        return row["queue_reason"]
    return "outside_grid" if row["street_code"] is None else None


def fold(events) -> tuple[workflow.Projection, str | None]:
    """The projection of a case's event rows, and the first problem met (an illegal move)."""
    p = workflow.Projection()
    for e in events:
        if workflow.next_state(p.state, e.action, p.state_before_suspend) is None:
            return p, f"event {e.seq} ({e.action}) is illegal after {p.state}"
        workflow.apply(p, e.action, e.at, read_payload(e.action, e.payload))
    return p, None
