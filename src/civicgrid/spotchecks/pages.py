"""Spot checks' pages: the inspector's day (a phone page with a map), one check's sheet
(saved as it goes), the published draws (anyone), and the period's bulletin (printable)."""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from civicgrid.auth.deps import OptionalUser, PageUser
from civicgrid.kit.db import utcnow
from civicgrid.kit.errors import BadRequest, Forbidden
from civicgrid.kit.http import AppSettings, DbSession, RowId
from civicgrid.kit.timefmt import local_today, local_zone
from civicgrid.spotchecks import draw, queries, service
from civicgrid.web.i18n import lang_of, page_words
from civicgrid.web.layout import render

router = APIRouter(include_in_schema=False)
PREFIX = "spot_"
INSPECTORS = ("supervisor", "dispatcher", "admin")
READERS = (*INSPECTORS, "leader")


def words(request: Request) -> dict[str, str]:
    return page_words(request, PREFIX)


def _allow(user, roles) -> None:
    if not user.has_role(*roles):
        raise Forbidden("此页面仅限抽查人员使用", "this page is for the spot-check staff")


def _day(text: str | None) -> dt.date:
    if not text:
        return local_today()
    try:
        day = dt.date.fromisoformat(text)
    except ValueError as exc:
        raise BadRequest("日期须写作 YYYY-MM-DD", "the day is YYYY-MM-DD") from exc
    if not 2000 <= day.year <= 2099:
        raise BadRequest("年份须在 2000–2099 之间", "the year must be 2000 to 2099")
    return day


@router.get("/spotchecks", response_class=HTMLResponse)
def day_page(
    request: Request,
    session: DbSession,
    user: PageUser,
    settings: AppSettings,
    day: str | None = None,
) -> HTMLResponse:
    """The day's checks, by slot, on a map: the inspector's phone page."""
    _allow(user, READERS)
    the_day = _day(day)
    w = words(request)
    checks = [service.view(session, c) for c in queries.checks_of_day(session, the_day)]
    for c in checks:
        c["state_text"] = w["state_" + c["state"]]
    return render(
        request,
        "spotchecks.html",
        user,
        w=w,
        day=the_day.isoformat(),
        checks=checks,
        period=the_day.strftime("%Y-%m"),
        data={
            "words": w,
            "tiles": settings.tile_url,
            "datum": settings.tile_datum,
            "checks": [
                {"id": c["id"], "lat": c["lat"], "lon": c["lon"], "name": c["site_name"]}
                for c in checks
                if c["lat"] is not None
            ],
        },
    )


@router.get("/spotchecks/checks/{check_id}", response_class=HTMLResponse)
def check_page(
    request: Request, session: DbSession, user: PageUser, check_id: RowId
) -> HTMLResponse:
    """One check's sheet: arrival, weather, scores or weights, photos, finish."""
    _allow(user, INSPECTORS)
    check = service.get_check(session, check_id)
    view = service.view(session, check)
    sheet = service.sheet_of(session, check)
    w = words(request)
    en = lang_of(request) == "en"
    items = [
        {"code": i["code"], "name": (i.get("name_en") or i["name"]) if en else i["name"]}
        for i in sheet["items"]
    ]
    sides = [{"code": s, "name": w.get("side_" + s, s)} for s in sheet.get("sides", [])]
    return render(
        request,
        "spotcheck.html",
        user,
        w=w,
        c=view,
        sheet=sheet,
        sheet_name=(sheet.get("name_en") or sheet["name"]) if en else sheet["name"],
        items=items,
        sides=sides,
        state_text=w["state_" + view["state"]],
        points=list(range(1, sheet.get("points", 0) + 1)),
        data={
            "words": w,
            "check": view["id"],
            "method": sheet["method"],
            "entries": view["entries"],
            "me": user.username,
            "done": view["state"] == "done",
        },
    )


@router.get("/spotchecks/draws", response_class=HTMLResponse)
def draws_page(request: Request, session: DbSession, user: OptionalUser) -> HTMLResponse:
    """Every plan's commitment, and its seed once the period has ended (anyone may look)."""
    plans = [service.public_plan(p) for p in queries.plans(session)]
    return render(
        request, "spotdraws.html", user, w=words(request), plans=plans, algorithm=draw.ALGORITHM
    )


@router.get("/spotchecks/bulletin", response_class=HTMLResponse)
def bulletin_page(
    request: Request, session: DbSession, user: PageUser, period: str | None = None
) -> HTMLResponse:
    """The period's results per road, street, unit and contractor, naming the worst roads."""
    _allow(user, READERS)
    period = period or utcnow().astimezone(local_zone()).strftime("%Y-%m")
    try:
        draw.period_days(period)
    except draw.DrawError as exc:
        raise BadRequest(exc.zh, exc.en) from exc
    tables = {by: service.results(session, period, by) for by in service.GROUPS}
    worst = list(reversed(tables["road"]))[:10]
    return render(
        request,
        "spotbulletin.html",
        user,
        w=words(request),
        period=period,
        tables=tables,
        worst=worst,
    )
