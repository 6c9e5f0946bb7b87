from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Query, Response

from civicgrid.auth.deps import CurrentUser
from civicgrid.kit.errors import BadRequest
from civicgrid.kit.http import DbSession, binary_answer
from civicgrid.kit.timefmt import parse_time
from civicgrid.stats import export
from civicgrid.stats import service as stats_service
from civicgrid.stats.schemas import (
    AssessmentReport,
    Distributions,
    Hotspot,
    KpiReport,
    Ranking,
    TopCategory,
    Trend,
)

router = APIRouter(prefix="/api/v1/stats", tags=["stats"])
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def parse_bound(text: str, name: str) -> dt.datetime:
    """An ISO 8601 time, or a date (local midnight), in the years timefmt allows."""
    return parse_time(text, name)


@router.get(
    "/kpis",
    response_model=KpiReport,
    responses={
        200: {
            "description": "JSON, or with `format` a CSV or Excel file of the same rows",
            "content": {"text/csv": {}, XLSX: {}},
        }
    },
)
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
            media_type=XLSX,
            headers={"Content-Disposition": f'attachment; filename="{name}.xlsx"'},
        )
    return report


def _period(start: str, end: str) -> tuple[dt.datetime, dt.datetime]:
    a, b = parse_bound(start, "start"), parse_bound(end, "end")
    if b <= a:
        raise BadRequest("end 必须晚于 start", "end must be after start")
    return a, b


@router.get("/trend", response_model=Trend)
def trend(session: DbSession, start: str, end: str, by: str = "day") -> dict:
    """Cases reported, registered and closed per day, week or month."""
    from civicgrid.stats import places

    a, b = _period(start, end)
    return places.trend(session, start=a, end=b, by=by)


@router.get("/top-categories", response_model=list[TopCategory])
def top_categories(
    session: DbSession, start: str, end: str, limit: Annotated[int, Query(ge=1, le=100)] = 10
) -> list[dict]:
    from civicgrid.stats import places

    a, b = _period(start, end)
    return places.top_categories(session, start=a, end=b, limit=limit)


@router.get("/hotspots", response_model=list[Hotspot], response_model_exclude_unset=True)
def hotspots(
    session: DbSession,
    start: str,
    end: str,
    by: str = "grid",
    resolution: Annotated[int, Query(ge=0, le=15, description="H3 resolution")] = 9,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
) -> list:
    """Cases per unit grid, or per H3 cell (with its outline)."""
    from civicgrid.stats import places

    a, b = _period(start, end)
    return places.hotspots(session, start=a, end=b, by=by, resolution=resolution, limit=limit)


@router.get("/distributions", response_model=Distributions)
def distributions(session: DbSession, start: str, end: str) -> dict:
    """Dispatch and handling times: bins, median and 90th percentile."""
    from civicgrid.stats import places

    a, b = _period(start, end)
    return places.distributions(session, start=a, end=b)


@router.get("/ranking", response_model=Ranking)
def ranking(session: DbSession, start: str, end: str, group_by: str = "street") -> dict:
    """Streets (or units) ranked by the composite, with grades A-E."""
    from civicgrid.stats import assessment

    if group_by not in ("street", "unit"):
        raise BadRequest("排名按 street 或 unit", "rank by street or unit")
    a, b = _period(start, end)
    return assessment.ranking(session, start=a, end=b, group_by=group_by)


@router.get(
    "/assessment",
    response_model=AssessmentReport,
    response_model_exclude_none=False,
    responses={
        200: {
            "description": "JSON, or with `format` a CSV or Excel file of the same rows",
            "content": {"text/csv": {}, XLSX: {}},
        }
    },
)
def assessment_table(
    session: DbSession,
    user: CurrentUser,
    subject: Annotated[str, Query(description="region, department or post")],
    start: Annotated[str, Query(description="ISO 8601 (or a date: local midnight)")],
    end: Annotated[str, Query(description="ISO 8601 (or a date), exclusive")],
    level: Annotated[str | None, Query(description="region: street, community or grid")] = None,
    post: Annotated[
        str | None, Query(description="post: supervisor, operator or dispatcher")
    ] = None,
    format: Annotated[str, Query(pattern="^(json|csv|xlsx)$")] = "json",
):
    """One table of reference/assessment.md for [start, end), cut off at min(end, now). A post's
    table: leaders see every row; a holder of the post sees their own row only (with its rank);
    anyone else is refused (403)."""
    from civicgrid.stats import assessment

    report = assessment.assessment(
        session,
        subject=subject,
        level=level,
        post=post,
        start=parse_bound(start, "start"),
        end=parse_bound(end, "end"),
    )
    report = assessment.visible(report, user)
    name = f"assessment-{report['table']}-{start[:10]}-{end[:10]}"
    if format == "csv":
        return Response(
            export.assessment_csv(report),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
        )
    if format == "xlsx":
        return Response(
            export.assessment_xlsx(report),
            media_type=XLSX,
            headers={"Content-Disposition": f'attachment; filename="{name}.xlsx"'},
        )
    return report


@router.get(
    "/assessment/{month}.xlsx",
    response_class=Response,
    responses=binary_answer(XLSX, description="the workbook"),
)
def assessment_xlsx(
    session: DbSession, user: CurrentUser, month: str, group_by: str = "street"
) -> Response:
    """The monthly assessment (月度考核) as a workbook: a sheet per subject (streets,
    communities, grids, departments, each post), ranked, graded, the formulas under each
    table. The posts' sheets as the user may see them (see GET /assessment)."""
    from civicgrid.stats import assessment

    if group_by not in ("street", "unit"):
        raise BadRequest("考核按 street 或 unit", "assess by street or unit")
    reports = assessment.monthly(session, month=month)
    reports = [v for r in reports if (v := assessment.visible(r, user, refuse=False))]
    return Response(
        assessment.monthly_xlsx(reports, month),
        media_type=XLSX,
        headers={"Content-Disposition": f'attachment; filename="assessment-{month}.xlsx"'},
    )
