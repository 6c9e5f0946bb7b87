"""Statistics (统计分析): KPI reports over the case events, grouped as kpis.md says."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from sqlalchemy import and_, case, func, not_, null, or_, select
from sqlalchemy.orm import Session

from civicgrid.cases.models import Case, CaseEvent
from civicgrid.categories.models import Category
from civicgrid.db import utcnow
from civicgrid.errors import BadRequest
from civicgrid.geo.models import Area
from civicgrid.org.models import OrgUnit
from civicgrid.stats import kpi
from civicgrid.timefmt import iso_local

SOURCE_NAMES = {
    "citizen": "市民",
    "supervisor": "监督员",
    "hotline": "热线",
    "open311": "Open311",
    "staff": "工作人员",
}
CHUNK = 900


def _group_key(group_by: str, case_row, facts: kpi.Facts) -> str | None:
    if group_by == "street":
        return case_row.street_code
    if group_by == "community":
        return case_row.community_code
    if group_by == "grid":
        return case_row.grid_code
    if group_by == "unit":
        return facts.unit
    if group_by == "category":
        return case_row.category_code
    if group_by == "major":
        return case_row.category_code[:2]
    if group_by == "source":
        return case_row.source
    return None


def _names(session: Session, group_by: str, keys: set[str]) -> dict[str, str]:
    if not keys:
        return {}
    keys_list = list(keys)
    if group_by in ("street", "community", "grid"):
        query = select(Area.code, Area.name).where(Area.code.in_(keys_list))
        return dict(session.execute(query).all())
    if group_by == "unit":
        query = select(OrgUnit.code, OrgUnit.name).where(OrgUnit.code.in_(keys_list))
        return dict(session.execute(query).all())
    if group_by in ("category", "major"):
        column = Category.code if group_by == "category" else Category.major_code
        name = Category.name if group_by == "category" else Category.major_name
        out: dict[str, str] = {}
        # An ambiguous code is named by its event (see categories.service.resolve_category).
        for code, kind, label in session.execute(
            select(column, Category.kind, name).where(column.in_(keys_list)).order_by(Category.kind)
        ):
            if code not in out or kind == "event":
                out[code] = label
        return out
    if group_by == "source":
        return {k: SOURCE_NAMES.get(k, k) for k in keys}
    return {}


def kpis(
    session: Session,
    *,
    start: dt.datetime,
    end: dt.datetime,
    group_by: str = "none",
    now: dt.datetime | None = None,
    weights=kpi.DEFAULT_WEIGHTS,
    fold_all: bool = False,
) -> dict:
    """The KPI report for [start, end) with cut-off min(end, now), grouped by `group_by`.

    A case whose history nothing revised after the cut-off (no later second dispatch, extension,
    suspension, resumption or second rating, and not suspended now) has its facts as of the
    cut-off in its row: when the first dispatch, report_done, return, verify_fail, extension,
    rating and the closure happened, and its final deadline. Those cases are counted by the
    database in one grouped query. The few others are folded from their events, exactly as
    kpis.md reads; `fold_all` folds every case (the tests compare both ways).
    """
    if group_by not in kpi.GROUPS:
        raise BadRequest(
            f"group_by 应为 {', '.join(kpi.GROUPS)}",
            f"group_by must be one of {', '.join(kpi.GROUPS)}",
        )
    if start.tzinfo is None or end.tzinfo is None:
        raise BadRequest("start 和 end 须带时区偏移", "start and end need a UTC offset")
    if end <= start:
        raise BadRequest("end 必须晚于 start", "end must be after start")
    now = now or utcnow()
    cutoff = min(end, now)
    # reported or registered in [start, end), before the cut-off (which is at most end)
    in_period = or_(
        and_(Case.reported_at >= start, Case.reported_at < cutoff),
        and_(Case.registered_at >= start, Case.registered_at < cutoff),
    )
    settled = and_(
        Case.suspended_at.is_(None), or_(Case.revised_at.is_(None), Case.revised_at < cutoff)
    )
    tallies: dict[str | None, kpi.Tally] = defaultdict(kpi.Tally)
    if fold_all:
        _fold(session, group_by, start, end, cutoff, in_period, tallies)
    else:
        _count(session, group_by, start, cutoff, and_(in_period, settled), tallies)
        _fold(session, group_by, start, end, cutoff, and_(in_period, not_(settled)), tallies)
    total = kpi.Tally()
    for tally in tallies.values():
        total.add(tally)
    keys = sorted(k for k in tallies if k is not None)
    names = _names(session, group_by, set(keys))
    rows = [
        {"key": key, "name": names.get(key, key), **kpi.summarise(tallies[key], weights)}
        for key in keys
    ]
    return {
        "start": iso_local(start),
        "end": iso_local(end),
        "cutoff": iso_local(cutoff),
        "group_by": group_by,
        "rows": rows,
        "total": kpi.summarise(total, weights),
    }


def _key_column(group_by: str, cutoff: dt.datetime):
    if group_by == "unit":
        return case((Case.dispatched_at < cutoff, Case.unit_code))
    if group_by == "major":
        return func.substr(Case.category_code, 1, 2)
    column = {
        "street": Case.street_code,
        "community": Case.community_code,
        "grid": Case.grid_code,
        "category": Case.category_code,
        "source": Case.source,
    }.get(group_by)
    return column if column is not None else null()


def _count(session, group_by, start, cutoff, where, tallies) -> None:
    """The settled cases, counted by the database from the facts in their rows."""

    def before(column):
        return column < cutoff

    def n(condition):
        return func.sum(case((condition, 1), else_=0))

    pop = and_(Case.registered_at >= start, before(Case.registered_at))
    dispatched = and_(pop, before(Case.dispatched_at))
    closed = before(Case.closed_at)
    late = and_(before(Case.dispatched_at), before(Case.deadline))
    rated = and_(pop, before(Case.first_rate_at))
    key = _key_column(group_by, cutoff).label("key")
    query = select(
        key,
        n(and_(Case.reported_at >= start, before(Case.reported_at))),
        n(pop),
        n(dispatched),
        n(and_(pop, closed)),
        n(and_(pop, or_(closed, late))),
        n(and_(pop, closed, Case.done_at <= Case.deadline)),
        n(and_(pop, or_(Case.closed_at.is_(None), Case.closed_at >= cutoff), late)),
        n(and_(pop, before(Case.first_extension_at))),
        n(and_(pop, before(Case.first_return_at))),
        n(and_(pop, before(Case.first_fail_at))),
        n(and_(pop, before(Case.first_done_at))),
        n(rated),
        n(and_(rated, Case.score >= 4)),
        func.sum(case((rated, Case.score), else_=0)),
        func.sum(case((dispatched, Case.dispatch_wait_us), else_=0)),
    ).where(where)
    if group_by != "none":  # PostgreSQL refuses GROUP BY NULL
        query = query.group_by(key)
    fields = (*kpi.COUNT_KEYS, "satisfied", "score_sum", "wait_sum_us")
    for key_value, *values in session.execute(query):
        tally = tallies[key_value]
        tally.add(kpi.Tally(**{f: int(v or 0) for f, v in zip(fields, values, strict=True)}))
    waits = (
        select(key, Case.dispatch_wait_us)
        .where(where, Case.registered_at >= start, before(Case.registered_at))
        .where(before(Case.dispatched_at))
    )
    per_key: dict[str | None, list[int]] = defaultdict(list)
    for key_value, wait in session.execute(waits):
        per_key[key_value].append(wait)
    for key_value, values in per_key.items():
        tallies[key_value].add(kpi.Tally(waits_us=values))


def _fold(session, group_by, start, end, cutoff, where, tallies) -> None:
    """The other cases, each folded from its events before the cut-off."""
    cases = session.execute(
        select(
            Case.id,
            Case.street_code,
            Case.community_code,
            Case.grid_code,
            Case.category_code,
            Case.source,
        ).where(where)
    ).all()
    by_id = {c.id: c for c in cases}
    events: dict[int, list] = defaultdict(list)
    ids = list(by_id)
    for i in range(0, len(ids), CHUNK):
        rows = session.execute(
            select(CaseEvent.case_id, CaseEvent.at, CaseEvent.action, CaseEvent.payload)
            .where(CaseEvent.case_id.in_(ids[i : i + CHUNK]), CaseEvent.at < cutoff)
            .order_by(CaseEvent.case_id, CaseEvent.seq)
        )
        for case_id, at, action, payload in rows:
            events[case_id].append((at, action, payload))
    for case_id, row in by_id.items():
        facts = kpi.case_facts(events[case_id], start, end, cutoff)
        if facts.reported or facts.in_p:
            tallies[_group_key(group_by, row, facts)].count(facts)
