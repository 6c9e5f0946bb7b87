"""The citizen's phone pages: report a problem, track a report."""

from __future__ import annotations

import datetime as dt
import io
from typing import Annotated
from urllib.parse import quote

import segno
from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from civicgrid.auth.deps import OptionalUser, PageUser
from civicgrid.categories import service as cat_service
from civicgrid.citizen import reports, service
from civicgrid.kit.db import utcnow
from civicgrid.kit.errors import Forbidden
from civicgrid.kit.http import AppSettings, DbSession
from civicgrid.web.i18n import add_words, lang_of, page_words
from civicgrid.web.layout import TEMPLATES, render, words

router = APIRouter(include_in_schema=False)

# The citizen pages' own words (/report's nearby cases, required fields, answer, 我的上报;
# /reports), under "cz_" (templates: t('cz_...'), scripts: CG.words.cz_...).
WORDS = {
    "required": ("必填", "required"),
    "needs": ("提交前请提供: {needs}", "Before sending, give: {needs}"),
    "missing": ("还缺少: {needs}", "Still missing: {needs}"),
    "or": ("或", " or "),
    "and": ("；", "; "),
    "need_photo": ("照片", "a photo"),
    "need_words": ("问题描述", "a description"),
    "need_place": ("位置 (地图上点选或填写地址)", "a place (tap the map or type an address)"),
    "need_phone": ("手机号", "a phone number"),
    "nearby": ("附近已有人反映的问题", "Problems already reported nearby"),
    "nearby_none": ("附近暂无正在处理的同类问题", "Nothing open reported nearby"),
    "nearby_hint": (
        "如果是同一个问题, 点“我也遇到这个问题”即可, 不必重复上报",
        "If it is the same problem, say “I have this problem too” instead of reporting it again",
    ),
    "metres": ("{m} 米", "{m} m"),
    "followers": ("{n} 人也遇到", "{n} more people have it"),
    "me_too": ("我也遇到这个问题", "I have this problem too"),
    "me_too_phone": ("手机号 (选填, 用于短信告知处理进展)", "Phone (optional: SMS on progress)"),
    "me_too_send": ("确认", "Confirm"),
    "me_too_done": ("已记录, 共 {n} 人反映", "Noted: {n} people have it"),
    "details": ("详情", "Details"),
    "preview": ("照片预览", "Photo preview"),
    "scaled": ("已压缩 {from} → {to}", "Scaled {from} → {to}"),
    "scaling": ("正在处理照片…", "Preparing the photos…"),
    "copy": ("复制链接", "Copy link"),
    "copied": ("已复制", "Copied"),
    "qr": ("查询二维码", "Tracking QR code"),
    "qr_hint": ("扫码或保存截图, 随时查看办理进度", "Scan or keep a screenshot to follow the case"),
    "mine": ("我的上报", "My reports"),
    "mine_hint": ("仅保存在本手机的浏览器中", "Kept in this phone's browser only"),
    "mine_followed": ("已关注", "followed"),
    "notified": (
        "留了手机号的, 案件每一步进展将短信告知",
        "With a phone number you get an SMS at each step",
    ),
    "reports": ("公开的问题", "Public reports"),
    "reports_street": ("街道", "Street"),
    "reports_state": ("状态", "State"),
    "reports_category": ("类别", "Category"),
    "reports_all": ("全部", "All"),
    "reports_feed": ("订阅 (Atom)", "Subscribe (Atom)"),
    "reports_after": ("处置后照片", "After photo"),
    "reports_count": ("共 {n} 件", "{n} cases"),
    "reports_page": (
        "第 {page} 页, 本页 {n} 件 (每页 {size} 件)",
        "Page {page}: {n} cases ({size} a page)",
    ),
    "reports_prev": ("上一页", "Previous page"),
    "reports_next": ("下一页", "Next page"),
    "reports_open": ("处理中", "Open"),
    "reports_closed": ("已办结", "Closed"),
}
add_words("cz_", WORDS)
# the header's link to the staff entry page, for the roles that may use it
TEMPLATES.env.globals["may_enter"] = lambda user: bool(service.entry_sources(user))


def categories_for_citizens(session) -> list[dict]:
    """The catalogue, the most reported categories of the last 90 days first."""
    counts = service.reported_by_category(session, since=utcnow() - dt.timedelta(days=90))
    return sorted(
        cat_service.citizen_catalogue(session),
        key=lambda c: (-counts.get(c["code"], 0), c["code"]),
    )


@router.get("/report", response_class=HTMLResponse)
def report_page(
    request: Request, session: DbSession, user: OptionalUser, settings: AppSettings
) -> HTMLResponse:
    return render(
        request,
        "report.html",
        user,
        tiles=settings.tile_url,
        categories=categories_for_citizens(session),
        words=words(lang_of(request)),
        needs=settings.report_needs(),
        needed={n for need in settings.report_needs() for n in need},
    )


@router.get("/track/{code}/qr.svg")
def track_qr(
    code: str, request: Request, session: DbSession, settings: AppSettings, s: str = ""
) -> Response:
    """The QR code of a report's tracking link (SVG, drawn without script or style), for the
    holder of its secret only."""
    case = service.find_tracked(session, code, s[:100])
    base = (settings.public_base_url or str(request.base_url)).rstrip("/")
    link = f"{base}/track/{quote(case.code, safe='')}?s={quote(s, safe='')}"
    out = io.BytesIO()
    segno.make(link, error="m").save(out, kind="svg", scale=4, border=2, title=case.code)
    return Response(
        out.getvalue(), media_type="image/svg+xml", headers={"Cache-Control": "no-store"}
    )


@router.get("/reports", response_class=HTMLResponse)
def reports_page(
    request: Request,
    session: DbSession,
    user: OptionalUser,
    settings: AppSettings,
    street: Annotated[str, Query(max_length=32)] = "",
    state: Annotated[str, Query(max_length=20)] = "",
    category: Annotated[str, Query(max_length=5)] = "",
    page: Annotated[str, Query(max_length=40)] = "",
) -> HTMLResponse:
    """The public map of reports: the cases the public policy shows, by street, state and
    category, on a map and listed, reports.LIST_LIMIT a page, newest first (an unknown filter
    value is no filter; a page that is not a number from 1 to reports.MAX_PAGE is the
    first)."""
    streets = reports.streets(session)
    street = street if street in streets else ""
    state = state if state in reports.STATE_GROUPS else ""
    categories = categories_for_citizens(session)
    category = category if any(c["code"] == category for c in categories) else ""
    number = reports.page_number(page)
    size = reports.LIST_LIMIT
    found = reports.find(
        session,
        settings,
        street=street,
        state=state,
        category=category,
        limit=size + 1,  # one more: whether a next page exists
        offset=(number - 1) * size,
    )
    return render(
        request,
        "reports.html",
        user,
        cases=found[:size],
        page={"number": number, "size": size, "more": len(found) > size},
        streets=streets,
        states=reports.STATE_GROUPS,
        categories=categories,
        chosen={"street": street, "state": state, "category": category},
        tiles=settings.tile_url,
        words=page_words(request, "cz_"),
        step_states=service.PUBLIC_STEPS,
    )


@router.get("/reports/feed/{street}.atom")
def reports_feed(
    street: Annotated[str, Path(max_length=32)],
    request: Request,
    session: DbSession,
    settings: AppSettings,
) -> Response:
    """The public cases of one street as an Atom feed."""
    base = settings.public_base_url or str(request.base_url)
    return Response(
        reports.atom(session, settings, street, base), media_type="application/atom+xml"
    )


@router.get("/reports/{code}", response_class=HTMLResponse)
def public_case_page(
    code: Annotated[str, Path(max_length=40)],
    request: Request,
    session: DbSession,
    user: OptionalUser,
    settings: AppSettings,
) -> HTMLResponse:
    """One public case: its steps, photos as the policy shows them, its followers."""
    view = reports.case_view(session, settings, code)
    return render(
        request,
        "public_case.html",
        user,
        case=view,
        tiles=settings.tile_url,
        words=page_words(request, "cz_"),
        step_states=service.PUBLIC_STEPS,
    )


@router.get("/track", response_class=HTMLResponse)
def track_find(request: Request, user: OptionalUser, code: str = "", s: str = "") -> Response:
    """How to find a case: its code and tracking secret (the form sends them to /track/{code})."""
    code = code.strip().upper()
    if code:
        target = f"/track/{quote(code, safe='')}"
        if s.strip():
            target += f"?s={quote(s.strip(), safe='')}"
        return RedirectResponse(target, status_code=303)
    return render(request, "track_find.html", user)


@router.get("/track/{code}", response_class=HTMLResponse)
def track_page(code: str, request: Request, user: OptionalUser) -> HTMLResponse:
    return render(request, "track.html", user, code=code, words=words(lang_of(request)))


@router.get("/console/new", response_class=HTMLResponse)
def entry_page(
    request: Request, session: DbSession, user: PageUser, settings: AppSettings, mode: str = ""
) -> HTMLResponse:
    """Staff's case entry: a supervisor's patrol (photos, GPS or a tap) or a hotline call (the
    caller, the callback wish, the caller's earlier cases beside the form)."""
    modes = service.entry_sources(user)
    if not modes:
        raise Forbidden("您的角色不能录入案件", "your roles may not enter cases")
    return render(
        request,
        "entry.html",
        user,
        mode=mode if mode in modes else modes[0],
        modes=modes,
        tiles=settings.tile_url,
        categories=categories_for_citizens(session),
        words=words(lang_of(request)),
    )
