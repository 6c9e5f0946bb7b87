from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Query, Response

from civicgrid.deps import DbSession
from civicgrid.errors import BadRequest
from civicgrid.stats import export
from civicgrid.stats import service as stats_service
from civicgrid.timefmt import local_zone

router = APIRouter(prefix="/api/v1/stats", tags=["stats"])


def parse_bound(text: str, name: str) -> dt.datetime:
    """An ISO 8601 time with offset, or a date (local midnight)."""
    try:
        if len(text) == 10:
            return dt.datetime.combine(dt.date.fromisoformat(text), dt.time(0), local_zone())
        value = dt.datetime.fromisoformat(text)
    except ValueError:
        raise BadRequest(
            f"{name} 不是日期或 ISO 8601 时间", f"{name} is not a date or ISO 8601 time"
        ) from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=local_zone())
    return value


@router.get("/kpis")
def kpis(
    session: DbSession,
    start: Annotated[str, Query(description="ISO 8601 (or a date: local midnight)")],
    end: Annotated[str, Query(description="ISO 8601 (or a date), exclusive")],
    group_by: str = "none",
    format: Annotated[str, Query(pattern="^(json|csv|xlsx)$")] = "json",
):
    """KPIs of reference/kpis.md for [start, end), cut off at min(end, now)."""
    report = stats_service.kpis(
        session, start=parse_bound(start, "start"), end=parse_bound(end, "end"), group_by=group_by
    )
    name = f"kpis-{group_by}-{start[:10]}-{end[:10]}"
    if format == "csv":
        return Response(
            export.to_csv(report),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
        )
    if format == "xlsx":
        return Response(
            export.to_xlsx(report),
            media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            headers={"Content-Disposition": f'attachment; filename="{name}.xlsx"'},
        )
    return report
