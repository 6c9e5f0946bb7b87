"""The statistics pages: KPI tables and charts, the printable monthly assessment."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from civicgrid.auth.deps import PageUser
from civicgrid.kit.db import utcnow
from civicgrid.kit.http import DbSession
from civicgrid.kit.timefmt import local_zone
from civicgrid.stats import assessment
from civicgrid.web.i18n import lang_of, translator
from civicgrid.web.layout import render, words

router = APIRouter(include_in_schema=False)


@router.get("/stats", response_class=HTMLResponse)
def stats_page(request: Request, user: PageUser, month: str | None = None) -> HTMLResponse:
    """KPI tables and charts for a month, with downloads."""
    month = month or utcnow().astimezone(local_zone()).strftime("%Y-%m")
    groups = ("street", "unit", "community", "grid", "category", "major", "source", "none")
    return render(
        request, "stats.html", user, month=month, groups=groups, words=words(lang_of(request))
    )


@router.get("/stats/assessment/{month}", response_class=HTMLResponse)
def assessment_page(
    month: str, request: Request, session: DbSession, user: PageUser, group_by: str = "street"
) -> HTMLResponse:
    """The monthly assessment as districts publish it, ready to print."""
    if group_by not in ("street", "unit"):
        group_by = "street"
    start, end = assessment.month_bounds(month)
    report = assessment.ranking(session, start=start, end=end, group_by=group_by)

    def fmt(key: str, value) -> str:
        if value is None:
            return "—"
        if key.endswith("_rate"):
            return assessment.percent(value)
        if key == "composite":
            return f"{value:.2f}"
        return str(value)

    t = translator(lang_of(request))
    title = t(f"assessment_{group_by}").format(month=month)
    return render(
        request,
        "assessment.html",
        user,
        report=report,
        columns=assessment.COLUMNS,
        fmt=fmt,
        title=title,
        month=month,
        group_by=group_by,
    )
