"""KPIs exactly as reference/kpis.md defines them, computed from the case events.

Each case is reduced to its facts as of the cut-off (only events before it count), then the
facts are counted per group. The same function serves the API, the CLI and the exports, so the
numbers cannot differ between them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

GROUPS = ("none", "street", "community", "grid", "unit", "category", "major", "source")
COUNT_KEYS = (
    "reported",
    "registered",
    "dispatched",
    "closed",
    "due",
    "on_time",
    "overdue_open",
    "extended",
    "returned",
    "reworked",
    "handled",
    "rated",
)
RATE_KEYS = (
    "closure_rate",
    "on_time_rate",
    "extension_rate",
    "return_rate",
    "rework_rate",
    "satisfaction_rate",
    "satisfaction_mean",
    "dispatch_seconds_mean",
    "dispatch_seconds_p90",
    "composite",
    "grade",
)
KEYS = COUNT_KEYS + RATE_KEYS
# Each KPI's name (Chinese, English); the pages read it as "kpi_<key>".
NAMES = {
    "reported": ("上报数", "Reported"),
    "registered": ("立案数", "Registered"),
    "dispatched": ("派遣数", "Dispatched"),
    "closed": ("结案数", "Closed"),
    "due": ("应结案数", "Due"),
    "on_time": ("按时完成数", "On time"),
    "overdue_open": ("超期未结数", "Overdue and open"),
    "extended": ("延期数", "Extended"),
    "returned": ("退回数", "Returned"),
    "reworked": ("返工数", "Reworked"),
    "handled": ("处置数", "Handled"),
    "rated": ("回访数", "Rated"),
    "closure_rate": ("结案率", "Closure rate"),
    "on_time_rate": ("按时完成率", "On-time rate"),
    "extension_rate": ("延期率", "Extension rate"),
    "return_rate": ("退回率", "Return rate"),
    "rework_rate": ("返工率", "Rework rate"),
    "satisfaction_rate": ("满意率", "Satisfaction rate"),
    "satisfaction_mean": ("平均满意度", "Mean satisfaction"),
    "dispatch_seconds_mean": ("平均派遣用时(秒)", "Mean time to dispatch (s)"),
    "dispatch_seconds_p90": ("90%派遣用时(秒)", "90th percentile time to dispatch (s)"),
    "composite": ("综合指标值", "Composite"),
    "grade": ("等级", "Grade"),
}
NAMES_ZH = {key: zh for key, (zh, _en) in NAMES.items()}
DEFAULT_WEIGHTS = (0.4, 0.3, 0.3)


@dataclass
class Facts:
    """One case as of the cut-off."""

    reported: bool = False  # reported_at in [start, end)
    in_p: bool = False  # registered_at in [start, end)
    reported_at: dt.datetime | None = None
    dispatched_at: dt.datetime | None = None
    closed: bool = False
    due: bool = False
    on_time: bool = False
    overdue_open: bool = False
    extended: bool = False
    returned: bool = False
    reworked: bool = False
    handled: bool = False
    score: int | None = None
    unit: str | None = None
    effective: dt.datetime | None = None  # the effective deadline at the cut-off


def case_facts(
    events: Iterable[tuple[dt.datetime, str, dict]],
    start: dt.datetime,
    end: dt.datetime,
    cutoff: dt.datetime,
) -> Facts:
    """Reduce one case's events (time order) to its facts for the period [start, end)."""
    f = Facts()
    registered_at = closed_at = done_at = last_done = None
    deadline = None
    deadline_set_at = None
    suspended_at = None
    paused = dt.timedelta(0)
    for at, action, payload in events:
        if at >= cutoff:
            break
        if action == "report":
            f.reported_at = at
        elif action == "accept":
            registered_at = registered_at or at
        elif action in ("dispatch", "extend_approve"):
            deadline = _when(payload["deadline"])
            deadline_set_at = at
            paused = dt.timedelta(0)
            if action == "dispatch":
                f.unit = payload["unit"]
                f.dispatched_at = f.dispatched_at or at
            else:
                f.extended = True
        elif action == "suspend":
            suspended_at = at
        elif action == "resume":
            if (
                suspended_at is not None
                and deadline_set_at is not None
                and suspended_at >= deadline_set_at
            ):
                paused += at - suspended_at
            suspended_at = None
        elif action == "return":
            f.returned = True
        elif action == "verify_fail":
            f.reworked = True
        elif action == "report_done":
            f.handled = True
            last_done = at
        elif action == "verify_pass":
            closed_at = at
            done_at = last_done
        elif action == "rate":
            f.score = payload["score"]
    if suspended_at is not None and deadline_set_at is not None and suspended_at >= deadline_set_at:
        paused += cutoff - suspended_at
    effective = deadline + paused if deadline is not None else None
    f.effective = effective
    f.reported = f.reported_at is not None and start <= f.reported_at < end
    f.in_p = registered_at is not None and start <= registered_at < end
    f.closed = closed_at is not None
    past_deadline = effective is not None and effective < cutoff
    f.due = f.closed or past_deadline
    f.on_time = f.closed and done_at is not None and effective is not None and done_at <= effective
    f.overdue_open = not f.closed and past_deadline
    return f


def _when(value) -> dt.datetime:
    if isinstance(value, dt.datetime):
        return value
    return dt.datetime.fromisoformat(value)


def _rate(num: int, den: int) -> float | None:
    return num / den if den else None


def grade(composite: float | None) -> str | None:
    if composite is None:
        return None
    for mark, threshold in (("A", 90), ("B", 75), ("C", 60), ("D", 40)):
        if composite >= threshold:
            return mark
    return "E"


# The facts of a case in P that count one each (see case_facts)
FACT_COUNTS = (
    "closed",
    "due",
    "on_time",
    "overdue_open",
    "extended",
    "returned",
    "reworked",
    "handled",
)
# Every field of a Tally that adds up (all but the list of waits)
SUMMED = (*COUNT_KEYS, "satisfied", "score_sum", "wait_sum_us")
MICROSECOND = dt.timedelta(microseconds=1)


@dataclass
class Tally:
    """What a group's KPI row is made from. Tallies add up, so the cases counted in SQL and the
    cases folded from their events can be put together before the rates are taken."""

    reported: int = 0
    registered: int = 0
    dispatched: int = 0
    closed: int = 0
    due: int = 0
    on_time: int = 0
    overdue_open: int = 0
    extended: int = 0
    returned: int = 0
    reworked: int = 0
    handled: int = 0
    rated: int = 0
    satisfied: int = 0  # rated with a score of 4 or 5
    score_sum: int = 0
    wait_sum_us: int = 0
    waits_us: list[int] | None = None  # report-to-dispatch waits in microseconds

    def add(self, other: Tally) -> None:
        for key in SUMMED:
            setattr(self, key, getattr(self, key) + getattr(other, key))
        if other.waits_us:
            self.waits_us = (self.waits_us or []) + other.waits_us

    def count(self, f: Facts) -> None:
        """Add one case's facts."""
        self.reported += f.reported
        if not f.in_p:
            return
        self.registered += 1
        for key in FACT_COUNTS:
            setattr(self, key, getattr(self, key) + getattr(f, key))
        if f.dispatched_at is not None:
            self.dispatched += 1
            if f.reported_at is not None:
                wait = (f.dispatched_at - f.reported_at) // MICROSECOND
                self.wait_sum_us += wait
                self.waits_us = self.waits_us or []
                self.waits_us.append(wait)
        if f.score is not None:
            self.rated += 1
            self.satisfied += f.score >= 4
            self.score_sum += f.score


def summarise(t: Tally, weights=DEFAULT_WEIGHTS) -> dict:
    """The KPI row of a group of cases."""
    row = {key: getattr(t, key) for key in COUNT_KEYS}
    waits = sorted(t.waits_us or ())
    row["closure_rate"] = _rate(t.closed, t.due)
    row["on_time_rate"] = _rate(t.on_time, t.due)
    row["extension_rate"] = _rate(t.extended, t.dispatched)
    row["return_rate"] = _rate(t.returned, t.dispatched)
    row["rework_rate"] = _rate(t.reworked, t.handled)
    row["satisfaction_rate"] = _rate(t.satisfied, t.rated)
    row["satisfaction_mean"] = _rate(t.score_sum, t.rated)
    # Exact integer sums, one correctly rounded division: the mean in seconds.
    row["dispatch_seconds_mean"] = t.wait_sum_us / (len(waits) * 1_000_000) if waits else None
    # Nearest rank: the ceil(0.9 n)-th smallest, in integers so that no float can tip it.
    row["dispatch_seconds_p90"] = waits[(9 * len(waits) + 9) // 10 - 1] / 1e6 if waits else None
    parts = (row["on_time_rate"], row["closure_rate"], row["rework_rate"])
    if any(p is None for p in parts):
        row["composite"] = None
    else:
        w_on_time, w_closure, w_rework = weights
        row["composite"] = 100 * (
            w_on_time * parts[0] + w_closure * parts[1] + w_rework * (1 - parts[2])
        )
    row["grade"] = grade(row["composite"])
    return row
