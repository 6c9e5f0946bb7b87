"""Statistics (统计分析): KPI reports over the case events, grouped as kpis.md says."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from sqlalchemy.orm import Session

from civicgrid.cases import queries as case_queries
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
    folds every case (the tests compare both ways). The tiers' SQL is cases' (queries.kpi_*):
    the covering index ix_cases_kpi serves the first two without touching the table.
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
    tallies: dict[str | None, kpi.Tally] = defaultdict(kpi.Tally)
    period = {"start": start, "cutoff": cutoff}
    if fold_all:
        to_fold = case_queries.kpi_to_fold(session, **period, every=True)
    else:
        by_key = {"group_by": group_by, **period}
        for key_value, reported in case_queries.kpi_reported_only(session, **by_key):
            if reported:
                tallies[key_value].add(kpi.Tally(reported=reported))
        _add_rows(case_queries.kpi_complete(session, **by_key), tallies)
        _add_rows(case_queries.kpi_settled(session, **by_key), tallies)
        to_fold = case_queries.kpi_to_fold(session, **period)
    _fold(session, group_by, start, end, cutoff, to_fold, tallies)
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


def _add_rows(rows, tallies) -> None:
    """Add rows of sums in the order of kpi.SUMMED and the waits (cases.queries.kpi_complete,
    kpi_settled) to the tallies of their keys."""
    for key_value, *values, waits in rows:
        counts = {f: int(v or 0) for f, v in zip(kpi.SUMMED, values, strict=True)}
        tallies[key_value].add(kpi.Tally(**counts, waits_us=waits))


def _fold(session, group_by, start, end, cutoff, cases, tallies) -> None:
    """The cases (cases.queries.kpi_to_fold), each folded from its events before the cut-off."""
    by_id = {c.id: c for c in cases}
    events: dict[int, list] = defaultdict(list)
    for case_id, at, action, payload in case_queries.events_before(
        session, list(by_id), cutoff=cutoff
    ):
        events[case_id].append((at, action, payload))
    for case_id, row in by_id.items():
        facts = kpi.case_facts(events[case_id], start, end, cutoff)
        if facts.reported or facts.in_p:
            tallies[_group_key(group_by, row, facts)].count(facts)
