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
    """The monthly assessment as districts publish it, ready to print: a table per subject
    (streets, communities, grids, departments, each post), ranked and graded, with its
    formulas; the posts' tables as the user may see them (assessment.visible)."""
    reports = [
        v
        for r in assessment.monthly(session, month=month)
        if (v := assessment.visible(r, user, refuse=False))
    ]
    lang = lang_of(request)
    for report in reports:
        report["formula_lines"] = [zh if lang == "zh" else en for zh, en in report["formulas"]]
    t = translator(lang)
    return render(
        request,
        "assessment.html",
        user,
        reports=reports,
        fmt=assessment.cell_text,
        title=t("assessment_month").format(month=month),
        month=month,
        me=user.username,
    )
