"""Statistics (统计分析): KPI reports over the case events, grouped as kpis.md says."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from contextlib import contextmanager

from sqlalchemy import Integer, and_, case, cast, func, not_, null, or_, select
from sqlalchemy.orm import Session

from civicgrid.cases.models import Case, CaseEvent
from civicgrid.categories import queries as categories_queries
from civicgrid.geo import queries as geo_queries
from civicgrid.kit.db import utcnow
from civicgrid.kit.errors import BadRequest
from civicgrid.kit.timefmt import iso_local
from civicgrid.org import queries as org_queries
from civicgrid.stats import kpi

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
    if group_by in ("street", "community", "grid"):
        return geo_queries.names_by_code(session, keys)
    if group_by == "unit":
        return org_queries.names_by_code(session, keys)
    if group_by in ("category", "major"):
        return categories_queries.names_by_code(session, keys, major=group_by == "major")
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

    Each case's facts as of the cut-off are read from its row where the row can tell them
    (see cases.workflow.Projection), and folded from its events where it cannot:

    - complete: the case's last event is before the cut-off (and it is not suspended): every
      fact in the row holds at the cut-off; counted by the database with plain aggregates;
    - settled: later events exist, but none revised what the first ones set (no later second
      dispatch, extension, suspension, resumption or second rating): the row's first times
      and final deadline are compared with the cut-off, also by the database;
    - the rest are folded from their events, exactly as kpis.md reads.

    Cases reported in the period but not registered in it only add to `reported`. `fold_all`
    folds every case (the tests compare both ways). The covering index ix_cases_kpi serves the
    first two without touching the table.
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
    cutoff = min(end, now)  # the cut-off is at most the end: "in the period" means < cutoff
    registered = and_(Case.registered_at >= start, Case.registered_at < cutoff)
    reported_only = and_(
        Case.reported_at >= start,
        Case.reported_at < cutoff,
        or_(Case.registered_at.is_(None), Case.registered_at >= cutoff),
    )
    running = Case.suspended_at.is_(None)
    settled = and_(running, or_(Case.revised_at.is_(None), Case.revised_at < cutoff))
    tallies: dict[str | None, kpi.Tally] = defaultdict(kpi.Tally)
    if fold_all:
        _fold(session, group_by, start, end, cutoff, or_(registered, reported_only), tallies)
    else:
        key = _key_column(group_by, cutoff).label("key")
        _count_reported_only(session, group_by, key, reported_only, tallies)
        complete = and_(registered, running, Case.last_event_at < cutoff)
        with _sqlite_sorting(session):
            _count_complete(session, group_by, start, cutoff, complete, tallies)
        later = and_(registered, settled, Case.last_event_at >= cutoff)
        _count_settled(session, group_by, start, cutoff, key, later, tallies)
        _fold(session, group_by, start, end, cutoff, and_(registered, not_(settled)), tallies)
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


@contextmanager
def _sqlite_sorting(session):
    """SQLite groups by sorting. For the hundreds of thousands of rows of a month it sorts
    fastest in small runs merged by two threads (a 2 MiB sorter budget, `threads=2`), not in
    one big in-memory sort: 0.42 s against 0.70 s for the complete tier of a month over 10
    million cases (bench/kpis_month.py). The page cache is given back afterwards."""
    conn = session.connection()
    if conn.dialect.name != "sqlite":
        yield
        return
    before = conn.exec_driver_sql("PRAGMA cache_size").scalar()
    conn.exec_driver_sql("PRAGMA threads=2")
    conn.exec_driver_sql("PRAGMA cache_size=-2048")
    try:
        yield
    finally:
        conn.exec_driver_sql(f"PRAGMA cache_size={int(before)}")
        conn.exec_driver_sql("PRAGMA threads=0")


def _n(condition):
    """How many rows meet the condition (a 0/1 sum that both databases take)."""
    return func.sum(cast(condition, Integer))


def _waits(session, column):
    """All the non-null values of an integer column of the group, as one aggregate."""
    if session.get_bind().dialect.name == "postgresql":
        return func.array_remove(func.array_agg(column), None)
    return func.group_concat(column)


def _grouped(group_by, key, columns, where):
    query = select(key, *columns).where(where)
    return query if group_by == "none" else query.group_by(key)  # PostgreSQL: no GROUP BY NULL


def _add_rows(session, group_by, key, columns, where, tallies) -> None:
    """Run one grouped query whose columns are kpi.SUMMED and the waits; add its rows."""
    for key_value, *values, waits in session.execute(_grouped(group_by, key, columns, where)):
        if isinstance(waits, str):
            waits = list(map(int, waits.split(",")))
        counts = {f: int(v or 0) for f, v in zip(kpi.SUMMED, values, strict=True)}
        tallies[key_value].add(kpi.Tally(**counts, waits_us=list(waits or ())))


def _count_reported_only(session, group_by, key, where, tallies) -> None:
    """Cases reported in the period and not registered in it: they count as reported only."""
    for key_value, reported in session.execute(_grouped(group_by, key, [func.count()], where)):
        if reported:
            tallies[key_value].add(kpi.Tally(reported=reported))


def _count_complete(session, group_by, start, cutoff, where, tallies) -> None:
    """Registered in the period, last event before the cut-off, not suspended: every fact in
    the row holds at the cut-off, so most facts are simply non-null columns."""
    c = Case
    # every dispatch is before the cut-off: the unit of the row is the unit of the case
    key = (c.unit_code if group_by == "unit" else _key_column(group_by, cutoff)).label("key")
    columns = (
        _n(c.reported_at >= start),
        func.count(),
        func.count(c.dispatched_at),
        func.count(c.closed_at),
        _n(or_(c.closed_at.is_not(None), c.deadline < cutoff)),
        _n(and_(c.closed_at.is_not(None), c.done_at <= c.deadline)),
        _n(and_(c.closed_at.is_(None), c.deadline < cutoff)),
        func.count(c.first_extension_at),
        func.count(c.first_return_at),
        func.count(c.first_fail_at),
        func.count(c.first_done_at),
        func.count(c.first_rate_at),
        _n(c.score >= 4),
        func.sum(c.score),
        func.sum(c.dispatch_wait_us),
        _waits(session, c.dispatch_wait_us),
    )
    _add_rows(session, group_by, key, columns, where, tallies)


def _count_settled(session, group_by, start, cutoff, key, where, tallies) -> None:
    """Registered in the period, with events after the cut-off that revised nothing: the
    row's first times and final deadline, compared with the cut-off."""
    c = Case

    def before(column):
        return column < cutoff

    dispatched = before(c.dispatched_at)
    closed = before(c.closed_at)
    late = and_(dispatched, before(c.deadline))
    rated = before(c.first_rate_at)
    columns = (
        _n(c.reported_at >= start),
        func.count(),
        _n(dispatched),
        _n(closed),
        _n(or_(closed, late)),
        _n(and_(closed, c.done_at <= c.deadline)),
        _n(and_(or_(c.closed_at.is_(None), c.closed_at >= cutoff), late)),
        _n(before(c.first_extension_at)),
        _n(before(c.first_return_at)),
        _n(before(c.first_fail_at)),
        _n(before(c.first_done_at)),
        _n(rated),
        _n(and_(rated, c.score >= 4)),
        func.sum(case((rated, c.score), else_=0)),
        func.sum(case((dispatched, c.dispatch_wait_us), else_=0)),
        _waits(session, case((dispatched, c.dispatch_wait_us))),
    )
    _add_rows(session, group_by, key, columns, where, tallies)


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
