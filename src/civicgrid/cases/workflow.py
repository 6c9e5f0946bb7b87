"""The case state machine: one table of allowed moves, and the projection of events onto a row.

Every transition anywhere (live actions, auto-dispatch, history import, verify-cases) goes
through these two things, so the row can always be recomputed from the events.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from civicgrid.geo.datum import DATUMS

STATES = (
    "reported",
    "registered",
    "dispatched",
    "in_progress",
    "resolved",
    "closed",
    "rejected",
    "suspended",
)
OPEN_STATES = ("reported", "registered", "dispatched", "in_progress", "resolved")
# What Open311 and the pages call closed (a suspended case is neither: it waits).
CLOSED_STATES = ("closed", "rejected")
# The states in which a deadline's clock runs, so a case has a light (亮灯).
TICKING_STATES = ("registered", "dispatched", "in_progress")
SOURCES = ("citizen", "supervisor", "hotline", "open311", "staff", "system", "spotcheck")
URGENCIES = ("normal", "urgent")
LIMIT_UNITS = ("working_hours", "natural_hours", "working_days")

# The marker for "the state before the suspension" and for "unchanged".
RESUME = "<before>"
SAME = "<same>"

TRANSITIONS: dict[tuple[str | None, str], str] = {
    (None, "report"): "reported",
    ("reported", "accept"): "registered",
    ("reported", "reject"): "rejected",
    ("registered", "reject"): "rejected",
    ("registered", "dispatch"): "dispatched",
    ("dispatched", "return"): "registered",
    ("in_progress", "return"): "registered",
    ("dispatched", "take"): "in_progress",
    ("in_progress", "extend_request"): SAME,
    ("in_progress", "extend_approve"): SAME,
    ("in_progress", "extend_refuse"): SAME,
    ("in_progress", "report_done"): "resolved",
    ("resolved", "verify_fail"): "in_progress",
    ("resolved", "verify_pass"): "closed",
    ("suspended", "resume"): RESUME,
    ("closed", "rate"): SAME,
    ("reported", "relocate"): SAME,
    ("registered", "relocate"): SAME,
}
for _state in OPEN_STATES:
    TRANSITIONS[(_state, "suspend")] = "suspended"
for _state in STATES:
    TRANSITIONS[(_state, "urge")] = SAME
    TRANSITIONS[(_state, "comment")] = SAME

ACTIONS = tuple(dict.fromkeys(a for _, a in TRANSITIONS))
# Actions that appear in case histories (urge and comment are notes, not moves).
# relocate keeps the state: it moves the case's place (intake.relocate), routing may follow.
HISTORY_ACTIONS = tuple(a for a in ACTIONS if a not in ("urge", "comment"))

STAFF = ("admin", "leader", "dispatcher", "operator", "supervisor", "handler")
# Who may take each action. "system" is the platform itself (auto-dispatch), "citizen" a
# member of the public with the case's tracking secret.
ROLES: dict[str, tuple[str, ...]] = {
    "report": ("citizen", "system", *STAFF),
    "accept": ("operator", "dispatcher", "system"),
    "reject": ("operator", "dispatcher"),
    "dispatch": ("dispatcher", "system"),
    "return": ("handler",),
    "take": ("handler",),
    "extend_request": ("handler",),
    "extend_approve": ("dispatcher",),
    "extend_refuse": ("dispatcher",),
    "report_done": ("handler",),
    "verify_fail": ("supervisor", "dispatcher"),
    "verify_pass": ("supervisor", "dispatcher"),
    "suspend": ("dispatcher",),
    "resume": ("dispatcher",),
    "rate": ("citizen", "operator"),
    "relocate": ("operator", "dispatcher"),
    "urge": ("dispatcher", "leader"),
    # a citizen's word on their case through a partner (Open311 service request updates)
    "comment": (*STAFF, "citizen"),
}
# Actions the handler takes only on cases sent to their own unit.
UNIT_ACTIONS = ("return", "take", "extend_request", "report_done")
# Each action's name (Chinese, English): the one place; the pages read it as web.i18n's
# "action_<code>" words (registered by civicgrid.app).
ACTION_NAMES = {
    "report": ("上报", "Reported"),
    "accept": ("立案", "Accept"),
    "reject": ("不予立案", "Reject"),
    "dispatch": ("派遣", "Dispatch"),
    "return": ("退回", "Return"),
    "take": ("签收", "Take"),
    "extend_request": ("申请延期", "Ask for more time"),
    "extend_approve": ("批准延期", "Approve the extension"),
    "extend_refuse": ("驳回延期", "Refuse the extension"),
    "report_done": ("处置反馈", "Report it done"),
    "verify_fail": ("核查不通过(返工)", "Verification failed (rework)"),
    "verify_pass": ("核查结案", "Verified and closed"),
    "suspend": ("挂账", "Suspend"),
    "resume": ("恢复", "Resume"),
    "rate": ("回访评价", "Rating"),
    "relocate": ("定位", "Place on the map"),
    "urge": ("督办", "Urge"),
    "comment": ("备注", "Comment"),
}
ACTION_NAMES_ZH = {key: zh for key, (zh, _en) in ACTION_NAMES.items()}
# What a payload field is called in a refusal a person reads (Chinese; English says the field
# with spaces for underscores).
FIELD_NAMES_ZH = {
    "deadline": "处置时限",
    "duplicate_of": "重复案件编号",
    "lat": "纬度",
    "lon": "经度",
    "score": "评分",
    "unit": "处置单位",
    "until": "延期至",
}


def in_words(code: str) -> str:
    """An action's, state's or field's code as English words: "report_done" -> "report done"."""
    return code.replace("_", " ")


# Each state's name (Chinese, English); the pages read it as "state_<code>".
STATE_NAMES = {
    "reported": ("已上报", "Reported"),
    "registered": ("已立案", "Registered"),
    "dispatched": ("已派遣", "Dispatched"),
    "in_progress": ("处置中", "In progress"),
    "resolved": ("待核查", "To verify"),
    "closed": ("已结案", "Closed"),
    "rejected": ("不予立案", "Rejected"),
    "suspended": ("挂账", "Suspended"),
}
STATE_NAMES_ZH = {key: zh for key, (zh, _en) in STATE_NAMES.items()}
# The yellow mark of events written before each dispatch and extension carried its own
# `warn_at` (imports of older versions): the fold recomputes it with this fraction of the
# natural time. Every event written now carries warn_at, computed with the setting
# light_yellow_fraction (cases.rows.warn_at).
LEGACY_WARN_FRACTION = 0.8


# --- what each action takes -------------------------------------------------------------------


@dataclass(frozen=True)
class Field:
    """One field of an action's payload (case-history-format.md, "extra fields").

    kind: `time` (ISO 8601 with a UTC offset), `unit` (an org unit code), `code` (a case code),
    `score` (a whole number 1..5), `lon` / `lat` (degrees), or `choice` (one of `choices`).
    required: a history must give it. live_default: a live action may leave it out, and the
    service completes it (routing chooses the unit, the time limit gives the deadline, the
    extension request gives the new deadline).
    """

    kind: str
    required: bool = False
    live_default: bool = False
    choices: tuple[str, ...] = ()


# Fields every event may carry besides its payload: `by` (who acted) and a `note`, `public`
# when the note is shown to the citizen.
EVENT_FIELDS = ("at", "action", "by", "note", "public")
PAYLOADS: dict[str, dict[str, Field]] = {
    "report": {},
    "accept": {},
    "reject": {"duplicate_of": Field("code")},
    "dispatch": {
        "unit": Field("unit", required=True, live_default=True),
        "deadline": Field("time", required=True, live_default=True),
        "limit_unit": Field("choice", choices=LIMIT_UNITS),
        "warn_at": Field("time"),
    },
    "return": {},
    "take": {},
    "extend_request": {"until": Field("time", required=True)},
    "extend_approve": {"deadline": Field("time", required=True, live_default=True)},
    "extend_refuse": {},
    "report_done": {},
    "verify_fail": {},
    "verify_pass": {},
    "suspend": {},
    "resume": {},
    "rate": {"score": Field("score", required=True)},
    "relocate": {
        "lon": Field("lon", required=True),
        "lat": Field("lat", required=True),
        "datum": Field("choice", choices=DATUMS),
    },
    "urge": {},
    "comment": {},
}
# Live actions that must say why or what was found (policy.check_evidence; the history format
# takes them as they are).
NOTE_REQUIRED = (
    "reject",
    "return",
    "verify_pass",
    "verify_fail",
    "extend_refuse",
    "urge",
    "comment",
)


def allowed_actions(state: str | None) -> list[str]:
    return [a for (s, a) in TRANSITIONS if s == state]


def next_state(state: str | None, action: str, before_suspend: str | None) -> str | None:
    """The state after `action`, or None when the move is not allowed."""
    target = TRANSITIONS.get((state, action))
    if target is None:
        return None
    if target == SAME:
        return state
    if target == RESUME:
        return before_suspend
    return target


@dataclass
class Projection:
    """What the case row holds about its history; `apply` folds one event into it."""

    state: str | None = None
    state_before_suspend: str | None = None
    unit_code: str | None = None
    deadline: dt.datetime | None = None
    warn_at: dt.datetime | None = None
    deadline_start: dt.datetime | None = None
    suspended_at: dt.datetime | None = None
    reported_at: dt.datetime | None = None
    registered_at: dt.datetime | None = None
    dispatched_at: dt.datetime | None = None
    closed_at: dt.datetime | None = None
    score: int | None = None
    extension_pending: bool = False
    last_seq: int = 0
    last_event_at: dt.datetime | None = None
    # What the statistics need (stats.service): the first time of each counted kind of event,
    # the last report_done, the report-to-dispatch wait, and when an event last revised what
    # the first ones set (a second dispatch or rating, an extension, a suspension or resumption).
    done_at: dt.datetime | None = None
    first_done_at: dt.datetime | None = None
    first_return_at: dt.datetime | None = None
    first_fail_at: dt.datetime | None = None
    first_extension_at: dt.datetime | None = None
    first_rate_at: dt.datetime | None = None
    dispatch_wait_us: int | None = None
    revised_at: dt.datetime | None = None

    def as_dict(self) -> dict:
        return dict(self.__dict__)


def apply(p: Projection, action: str, at: dt.datetime, payload: dict) -> str:
    """Fold one (already checked) event into the projection; returns the new state.

    Deadlines follow kpis.md: a dispatch or an approved extension sets the deadline; a
    suspension that ends moves it on by its length; the ongoing one is added when read.
    """
    new = next_state(p.state, action, p.state_before_suspend)
    assert new is not None, (p.state, action)
    if action == "report":
        p.reported_at = at
    elif action == "accept":
        p.registered_at = p.registered_at or at
    elif action in ("dispatch", "extend_approve"):
        deadline = payload["deadline"]
        p.deadline = deadline
        warn = payload.get("warn_at")
        p.warn_at = min(warn, deadline) if warn else at + (deadline - at) * LEGACY_WARN_FRACTION
        if p.warn_at < at:
            p.warn_at = min(at, deadline)
        p.deadline_start = at
        if action == "dispatch":
            p.unit_code = payload["unit"]
            if p.dispatched_at is None:
                p.dispatched_at = at
                p.dispatch_wait_us = (at - p.reported_at) // dt.timedelta(microseconds=1)
            else:
                p.revised_at = at
        else:
            p.extension_pending = False
            p.first_extension_at = p.first_extension_at or at
            p.revised_at = at
    elif action == "extend_request":
        p.extension_pending = True
    elif action == "extend_refuse":
        p.extension_pending = False
    elif action == "suspend":
        p.state_before_suspend = p.state
        p.suspended_at = at
        p.revised_at = at
    elif action == "resume":
        if p.deadline is not None and p.suspended_at is not None:
            paused = at - p.suspended_at
            p.deadline += paused
            if p.warn_at is not None:
                p.warn_at += paused
        p.state_before_suspend = None
        p.suspended_at = None
        p.revised_at = at
    elif action == "return":
        p.first_return_at = p.first_return_at or at
    elif action == "report_done":
        p.first_done_at = p.first_done_at or at
        p.done_at = at
    elif action == "verify_fail":
        p.first_fail_at = p.first_fail_at or at
    elif action == "verify_pass":
        p.closed_at = at
    elif action == "rate":
        p.score = payload["score"]
        if p.first_rate_at is None:
            p.first_rate_at = at
        else:
            p.revised_at = at
    p.state = new
    p.last_seq += 1
    p.last_event_at = at
    return new


def light(p, now: dt.datetime) -> str | None:
    """亮灯 of a case now: green (≤ 80 % of the time used), yellow (≤ 100 %), red (overdue);
    None where no clock runs (not dispatched yet, resolved, closed, rejected, suspended)."""
    if p.state not in TICKING_STATES or p.deadline is None:
        return None
    if now > p.deadline:
        return "red"
    if p.warn_at is not None and now > p.warn_at:
        return "yellow"
    return "green"
