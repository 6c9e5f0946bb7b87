"""Statistics (统计分析): KPI reports over the case events, grouped as kpis.md says."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from sqlalchemy import or_, select
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
) -> dict:
    """The KPI report for [start, end) with cut-off min(end, now), grouped by `group_by`."""
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
    cases = session.execute(
        select(
            Case.id,
            Case.street_code,
            Case.community_code,
            Case.grid_code,
            Case.category_code,
            Case.source,
        ).where(or_(Case.reported_at.between(start, end), Case.registered_at.between(start, end)))
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
    groups: dict[str, list[kpi.Facts]] = defaultdict(list)
    everything: list[kpi.Facts] = []
    for case_id, row in by_id.items():
        facts = kpi.case_facts(events[case_id], start, end, cutoff)
        if not (facts.reported or facts.in_p):
            continue
        everything.append(facts)
        key = _group_key(group_by, row, facts)
        if key is not None:
            groups[key].append(facts)
    names = _names(session, group_by, set(groups))
    rows = [
        {"key": key, "name": names.get(key, key), **kpi.summarise(groups[key], weights)}
        for key in sorted(groups)
    ]
    return {
        "start": iso_local(start),
        "end": iso_local(end),
        "cutoff": iso_local(cutoff),
        "group_by": group_by,
        "rows": rows,
        "total": kpi.summarise(everything, weights),
    }
