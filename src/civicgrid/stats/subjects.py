"""Assessment by subject (区域 · 部门 · 岗位评价) exactly as reference/assessment.md defines it:
the tables' keys and words, the scores, and each case's contribution folded from its events.

Pure functions over events; stats.assessment reads the database and puts the rows together.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from civicgrid.stats.kpi import grade

SUBJECTS = ("region", "department", "post")
LEVELS = ("street", "community", "grid")
POSTS = ("supervisor", "operator", "dispatcher")
SYSTEM = "system"

# Each table's keys in order, with the Chinese and English words (assessment.md).
TABLES: dict[str, list[tuple[str, str, str]]] = {
    "region": [
        ("registered", "立案数", "Registered"),
        ("grids", "网格数", "Grids"),
        ("registered_per_grid", "网格平均立案数", "Registered per grid"),
        ("registered_score", "立案数分值", "Registered score"),
        ("public_registered", "公众举报立案数", "Registered from the public"),
        ("public_report_rate", "监督举报率", "Public report rate"),
        ("closure_rate", "结案率", "Closure rate"),
        ("on_time_rate", "按期结案率", "On-time closure rate"),
        ("composite", "综合指标值", "Composite"),
    ],
    "department": [
        ("registered", "立案数", "Registered"),
        ("registered_score", "立案数分值", "Registered score"),
        ("due_handle", "应处置数", "Due to handle"),
        ("handled", "处置数", "Handled"),
        ("handled_on_time", "按期处置数", "Handled on time"),
        ("handle_rate", "处置率", "Handling rate"),
        ("on_time_handle_rate", "按期处置率", "On-time handling rate"),
        ("reworked", "返工数", "Reworked"),
        ("rework_rate", "返工率", "Rework rate"),
        ("composite", "综合指标值", "Composite"),
    ],
    "supervisor": [
        ("patrol_reported", "上报数", "Reported on patrol"),
        ("patrol_valid", "有效上报数", "Valid reports"),
        ("valid_rate", "有效上报率", "Valid report rate"),
        ("grid_registered", "责任网格立案数", "Registered in their grids"),
        ("missed", "漏报数", "Missed"),
        ("missed_rate", "漏报率", "Missed rate"),
        ("checks_due", "应核查数", "Checks due"),
        ("checks_on_time", "按时核查数", "Checks on time"),
        ("check_rate", "按时核查率", "On-time check rate"),
        ("composite", "综合指标值", "Composite"),
    ],
    "operator": [
        ("accepted", "立案数", "Accepted"),
        ("accepted_on_time", "按时立案数", "Accepted on time"),
        ("accepted_right", "准确立案数", "Accepted rightly"),
        ("accept_on_time_rate", "按时立案率", "On-time registration rate"),
        ("accept_right_rate", "准确立案率", "Accurate registration rate"),
        ("accepted_score", "立案数分值", "Accepted score"),
        ("composite", "综合指标值", "Composite"),
    ],
    "dispatcher": [
        ("dispatches", "派遣数", "Dispatches"),
        ("dispatches_wrong", "错误派遣数", "Wrong dispatches"),
        ("dispatch_right_rate", "派遣准确率", "Dispatch accuracy"),
        ("dispatches_on_time", "按时派遣数", "Dispatched on time"),
        ("dispatch_on_time_rate", "按时派遣率", "On-time dispatch rate"),
        ("dispatch_score", "派遣数分值", "Dispatch score"),
        ("composite", "综合指标值", "Composite"),
    ],
}
NAMES = {key: (zh, en) for table in TABLES.values() for key, zh, en in table}
NAMES["grade"] = ("等级", "Grade")
# what the rankings add (stats.assessment.ranking) and the pages' first column
EXTRA_NAMES = {
    "name": ("名称", "Name"),
    "urged": ("督办案件数", "Urged cases"),
    "spotcheck_score": ("抽查得分", "Spot-check score"),
    "score": ("排名得分", "Ranking score"),
}
NAMES.update(EXTRA_NAMES)
SUBJECT_NAMES = {
    "street": ("街道评价", "Streets"),
    "community": ("社区评价", "Communities"),
    "grid": ("网格评价", "Grids"),
    "department": ("部门评价", "Departments"),
    "supervisor": ("监督员岗位评价", "Supervisors"),
    "operator": ("受理员岗位评价", "Operators"),
    "dispatcher": ("派遣员岗位评价", "Dispatchers"),
}


def table_of(subject: str, level: str | None, post: str | None) -> str:
    """The name of the table: region, department or the post."""
    return post if subject == "post" else subject


# --- scores ------------------------------------------------------------------------------------


def rate(num: int, den: int) -> float | None:
    return num / den if den else None


def band_score(value: float | None, bands: Sequence[tuple[float | None, float]]) -> float | None:
    """The score of the first band whose upper bound is ≥ the value; the last band (bound None)
    scores what is above every bound."""
    if value is None:
        return None
    for bound, score in bands:
        if bound is None or value <= bound:
            return float(score)
    return 0.0  # bands always end with a None bound (config); kept for a hand-made list


def composite(parts: dict[str, float | None], weights: dict[str, float]) -> float | None:
    """The weighted sum of the scores; null when one of them is null. Not rounded."""
    if any(parts[k] is None for k in weights):
        return None
    return sum(weights[k] * parts[k] for k in weights)


def good(r: float | None) -> float | None:
    return None if r is None else 100 * r


def bad(r: float | None) -> float | None:
    """A rate where less is better: 100 × (1 − r)."""
    return None if r is None else 100 * (1 - r)


@dataclass(frozen=True)
class Rules:
    """The settings the tables are computed with."""

    weights: dict[str, dict[str, float]]
    bands: dict[str, list[tuple[float | None, float]]]
    registration_minutes: int = 60
    dispatch_minutes: int = 30
    check_minutes: int = 120

    @classmethod
    def of(cls, settings) -> Rules:
        return cls(
            weights=settings.assessment_weights,
            bands=settings.assessment_bands,
            registration_minutes=settings.assessment_limit_registration_minutes,
            dispatch_minutes=settings.assessment_limit_dispatch_minutes,
            check_minutes=settings.assessment_limit_check_minutes,
        )


# --- the rows from their counts -------------------------------------------------------------


def region_row(c: dict, rules: Rules) -> dict:
    """A region row from registered, grids, public_registered, closure_rate, on_time_rate."""
    per_grid = rate(c["registered"], c["grids"])
    row = {
        "registered": c["registered"],
        "grids": c["grids"],
        "registered_per_grid": per_grid,
        "registered_score": band_score(per_grid, rules.bands["region"]),
        "public_registered": c["public_registered"],
        "public_report_rate": rate(c["public_registered"], c["registered"]),
        "closure_rate": c["closure_rate"],
        "on_time_rate": c["on_time_rate"],
    }
    parts = {
        "public_report": bad(row["public_report_rate"]),
        "registered": row["registered_score"],
        "closure": good(row["closure_rate"]),
        "on_time": good(row["on_time_rate"]),
    }
    return _graded(row, composite(parts, rules.weights["region"]))


def department_row(c: Tally, rules: Rules) -> dict:
    row = {
        "registered": c.registered,
        "registered_score": band_score(c.registered, rules.bands["department"]),
        "due_handle": c.due_handle,
        "handled": c.handled,
        "handled_on_time": c.handled_on_time,
        "handle_rate": rate(c.handled, c.due_handle),
        "on_time_handle_rate": rate(c.handled_on_time, c.due_handle),
        "reworked": c.reworked,
        "rework_rate": rate(c.reworked, c.due_handle),
    }
    parts = {
        "registered": row["registered_score"],
        "handle": good(row["handle_rate"]),
        "on_time_handle": good(row["on_time_handle_rate"]),
        "rework": bad(row["rework_rate"]),
    }
    return _graded(row, composite(parts, rules.weights["department"]))


def post_row(post: str, c: Tally, rules: Rules) -> dict:
    if post == "supervisor":
        row = {
            "patrol_reported": c.patrol_reported,
            "patrol_valid": c.patrol_valid,
            "valid_rate": rate(c.patrol_valid, c.patrol_reported),
            "grid_registered": c.grid_registered,
            "missed": c.missed,
            "missed_rate": rate(c.missed, c.grid_registered),
            "checks_due": c.checks_due,
            "checks_on_time": c.checks_on_time,
            "check_rate": rate(c.checks_on_time, c.checks_due),
        }
        parts = {
            "valid": good(row["valid_rate"]),
            "missed": bad(row["missed_rate"]),
            "check": good(row["check_rate"]),
        }
    elif post == "operator":
        row = {
            "accepted": c.accepted,
            "accepted_on_time": c.accepted_on_time,
            "accepted_right": c.accepted_right,
            "accept_on_time_rate": rate(c.accepted_on_time, c.accepted),
            "accept_right_rate": rate(c.accepted_right, c.accepted),
            "accepted_score": band_score(c.accepted, rules.bands["operator"]),
        }
        parts = {
            "accepted": row["accepted_score"],
            "accept_right": good(row["accept_right_rate"]),
            "accept_on_time": good(row["accept_on_time_rate"]),
        }
    else:
        row = {
            "dispatches": c.dispatches,
            "dispatches_wrong": c.dispatches_wrong,
            "dispatch_right_rate": rate(c.dispatches - c.dispatches_wrong, c.dispatches),
            "dispatches_on_time": c.dispatches_on_time,
            "dispatch_on_time_rate": rate(c.dispatches_on_time, c.dispatches),
            "dispatch_score": band_score(c.dispatches, rules.bands["dispatcher"]),
        }
        parts = {
            "dispatch": row["dispatch_score"],
            "dispatch_on_time": good(row["dispatch_on_time_rate"]),
            "dispatch_right": good(row["dispatch_right_rate"]),
        }
    return _graded(row, composite(parts, rules.weights[post]))


def _graded(row: dict, value: float | None) -> dict:
    row["composite"] = value
    row["grade"] = grade(value)
    return row


# --- the fold -------------------------------------------------------------------------------

TALLIED = (
    "registered",
    "due_handle",
    "handled",
    "handled_on_time",
    "reworked",
    "patrol_reported",
    "patrol_valid",
    "grid_registered",
    "missed",
    "checks_due",
    "checks_on_time",
    "accepted",
    "accepted_on_time",
    "accepted_right",
    "dispatches",
    "dispatches_wrong",
    "dispatches_on_time",
)


@dataclass
class Tally:
    """The counts a department or post row is made from; tallies add up."""

    registered: int = 0
    due_handle: int = 0
    handled: int = 0
    handled_on_time: int = 0
    reworked: int = 0
    patrol_reported: int = 0
    patrol_valid: int = 0
    grid_registered: int = 0
    missed: int = 0
    checks_due: int = 0
    checks_on_time: int = 0
    accepted: int = 0
    accepted_on_time: int = 0
    accepted_right: int = 0
    dispatches: int = 0
    dispatches_wrong: int = 0
    dispatches_on_time: int = 0

    def add(self, other: Tally) -> None:
        for key in TALLIED:
            setattr(self, key, getattr(self, key) + getattr(other, key))


@dataclass
class DepartmentFacts:
    """One case of P as a department sees it at the cut-off."""

    due_handle: bool = False
    handled: bool = False
    handled_on_time: bool = False
    reworked: bool = False

    def tally(self) -> Tally:
        return Tally(
            registered=1,
            due_handle=self.due_handle,
            handled=self.handled,
            handled_on_time=self.handled_on_time,
            reworked=self.reworked,
        )


def department_facts(
    events: Sequence[tuple[dt.datetime, str, dict, str | None]],
    effective: dt.datetime | None,
    cutoff: dt.datetime,
) -> DepartmentFacts:
    """assessment.md §2 for a case in P with a unit: `events` are its events before the
    cut-off, `effective` its effective deadline at the cut-off (kpi.case_facts)."""
    f = DepartmentFacts()
    handled_at = None
    failed = False
    for at, action, _payload, _by in events:
        if action == "report_done":
            handled_at = at
        elif action in ("verify_fail", "return", "dispatch"):
            handled_at = None  # the reply no longer stands
        failed = failed or action == "verify_fail"
    f.handled = handled_at is not None
    f.due_handle = f.handled or (effective is not None and effective < cutoff)
    f.handled_on_time = f.handled and effective is not None and handled_at <= effective
    f.reworked = f.due_handle and failed
    return f


@dataclass
class PostFacts:
    """What one case's events in the period count for each person (by `by`)."""

    supervisor: dict[str, Tally] = field(default_factory=dict)
    operator: dict[str, Tally] = field(default_factory=dict)
    dispatcher: dict[str, Tally] = field(default_factory=dict)

    def of(self, post: str, who: str) -> Tally:
        table = getattr(self, post)
        if who not in table:
            table[who] = Tally()
        return table[who]


def post_facts(
    events: Sequence[tuple[dt.datetime, str, dict, str | None]],
    *,
    source: str,
    grid_supervisors: Sequence[str],
    start: dt.datetime,
    cutoff: dt.datetime,
    limit: Callable[[dt.datetime, int], dt.datetime],
    rules: Rules,
) -> PostFacts:
    """assessment.md §3 for one case: its events before the cut-off (time order, with `by`),
    its source and the supervisors of the grid holding it. `limit(t, n)` is the instant n
    working minutes after t. Only events with `at` in [start, cutoff) are counted; later ones
    (before the cut-off) decide whether they were right."""
    out = PostFacts()
    accepted_ever = any(action == "accept" for _at, action, _p, _by in events)
    report_at = next((at for at, action, _p, _by in events if action == "report"), None)
    last_intake = None  # the latest accept or return before the act
    for i, (at, action, _payload, by) in enumerate(events):
        in_period = at >= start  # every event here is before the cut-off
        if action == "dispatch" and in_period and by is not None:
            t = out.of("dispatcher", by)
            t.dispatches += 1
            nxt = _next(events, i, ("return", "dispatch", "verify_pass"))
            t.dispatches_wrong += nxt is not None and nxt[1] == "return"
            t.dispatches_on_time += last_intake is not None and at <= limit(
                last_intake, rules.dispatch_minutes
            )
        elif action == "accept" and in_period and by is not None:
            t = out.of("operator", by)
            t.accepted += 1
            t.accepted_on_time += report_at is not None and at <= limit(
                report_at, rules.registration_minutes
            )
            t.accepted_right += _next(events, i, ("reject",)) is None
        elif action == "report" and in_period and by is not None and source == "supervisor":
            t = out.of("supervisor", by)
            t.patrol_reported += 1
            t.patrol_valid += accepted_ever
        elif action == "report_done" and in_period:
            nxt = _next(events, i, ("verify_pass", "verify_fail"))
            for who in grid_supervisors:
                t = out.of("supervisor", who)
                t.checks_due += 1
                t.checks_on_time += (
                    nxt is not None and nxt[3] == who and nxt[0] <= limit(at, rules.check_minutes)
                )
        if action in ("accept", "return"):
            last_intake = at
    return out


def _next(events, i: int, actions: tuple[str, ...]):
    """The first event after position i whose action is one of `actions` (None: none)."""
    for event in events[i + 1 :]:
        if event[1] in actions:
            return event
    return None
