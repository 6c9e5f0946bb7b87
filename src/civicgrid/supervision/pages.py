"""Supervision's pages: the leaders' urge list with the rule table, a printable 督办单, and the
handler's phone app (an installable PWA: its shell, manifest and service worker)."""

from __future__ import annotations

import json
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from civicgrid.auth.deps import PageUser
from civicgrid.kit.errors import Forbidden
from civicgrid.kit.http import DbSession
from civicgrid.org import queries as org_queries
from civicgrid.supervision import service, views
from civicgrid.web.i18n import add_words, lang_of, translator
from civicgrid.web.layout import render

router = APIRouter(include_in_schema=False)

STATIC = Path(__file__).resolve().parent.parent / "static"
LEADERS = ("leader", "dispatcher", "admin")
# the states a case shows in the handler app (the queue's, and what the handler's actions make)
APP_STATES = ("dispatched", "in_progress", "resolved")

# This domain's words (web.i18n's "sup_*"): zh-CN first, English.
WORDS = {
    "title": ("督办", "Supervision"),
    "urges": ("督办列表", "Urge list"),
    "rules": ("督办规则", "Escalation rules"),
    "step": ("环节", "Step"),
    "light": ("灯色", "Light"),
    "after_hours": ("亮灯后工作小时", "Working hours after the light"),
    "enabled": ("启用", "On"),
    "save": ("保存", "Save"),
    "saved": ("已保存", "Saved"),
    "number": ("督办单编号", "Notice number"),
    "case": ("案件", "Case"),
    "unit": ("责任单位", "Unit"),
    "deadline": ("处置时限", "Deadline"),
    "targets": ("督办对象", "Sent to"),
    "at": ("督办时间", "At"),
    "none": ("暂无督办", "Nothing escalated yet"),
    "sheet": ("督办单", "Supervision notice"),
    "sheet_body": (
        "该案件已超过处置时限, 请责任单位领导督促办理, 并于收到本单后尽快反馈办理结果。",
        "This case is past its deadline: the unit's leaders are asked to see it handled and "
        "to report the outcome promptly.",
    ),
    "sheet_body_district_leader": (
        "该案件超过处置时限后仍未办结, 现提请区领导督办, "
        "请责任单位于收到本单后立即办理并反馈结果。",
        "This case is still open well past its deadline: it goes to the district's leaders, and "
        "the unit is to handle it at once and report the outcome.",
    ),
    "sheet_body_remind": (
        "该案件即将或已经超过处置时限, 请尽快办理。",
        "This case is at or past its deadline: please handle it promptly.",
    ),
    "nobody": (
        "该单位没有可接收的账号, 本单未送达任何人",
        "the unit has no account to receive it: this sheet reached nobody",
    ),
    "print": ("打印", "Print"),
    "light_yellow": ("黄灯", "Yellow"),
    "light_red": ("红灯", "Red"),
    "step_remind": service.STEP_NAMES["remind"],
    "step_unit_leader": service.STEP_NAMES["unit_leader"],
    "step_district_leader": service.STEP_NAMES["district_leader"],
    "app": ("处置通", "Handler app"),
    "app_queue": ("本单位案件", "My unit's cases"),
    "app_offline": ("离线", "Offline"),
    "app_online": ("在线", "Online"),
    "app_outbox": ("待发送", "Waiting to send"),
    "app_sign_in": ("请先登录", "Please sign in"),
    "app_back": ("返回列表", "Back to the list"),
    "app_take": ("签收", "Take"),
    "app_done": ("处置反馈", "Report it done"),
    "app_note": ("说明", "Note"),
    "app_photos": ("处置后照片", "Photos after"),
    "app_comment": ("备注", "Note on the case"),
    "app_comment_send": ("添加备注", "Add the note"),
    "app_queued": ("已保存, 待发送", "Saved, waiting to send"),
    "app_sent": ("已发送", "Sent"),
    "app_new": ("新案件", "New case"),
    "app_empty": ("暂无案件", "No cases"),
    "app_refused": ("被拒绝", "Refused"),
    "app_sign_out": ("退出", "Sign out"),
    "app_open_app": ("手机处置", "Phone app"),
    "app_push": ("开启新案件通知", "Notify me of new cases"),
    "app_push_on": ("新案件通知已开启", "New cases are notified"),
}
add_words("sup_", WORDS)
add_words("job_", {"supervision-escalate": ("督办升级", "Escalate late cases")})


def _named(session, views_: list[dict]) -> list[dict]:
    """Each urge with its unit's name beside the code."""
    units = org_queries.units_by_code(session, {v["unit_code"] for v in views_ if v["unit_code"]})
    for v in views_:
        unit = units.get(v["unit_code"] or "")
        v["unit_name"] = unit.name if unit else ""
    return views_


def _words(request: Request) -> dict[str, str]:
    t = translator(lang_of(request))
    return {key: t("sup_" + key) for key in WORDS}


@router.get("/supervision", response_class=HTMLResponse)
def urge_page(request: Request, session: DbSession, user: PageUser) -> HTMLResponse:
    """The leaders' urge list (督办列表) and the rule table (administrators change it)."""
    if not user.has_role(*LEADERS):
        raise Forbidden("仅领导、调度员和管理员可查看督办", "leaders, dispatchers and admins only")
    return render(
        request,
        "supervision.html",
        user,
        w=_words(request),
        urges=_named(session, [views.urge_view(e) for e in service.urge_list(session, user)]),
        rules=[views.rule_view(r) for r in service.rules(session)],
        editable=user.has_role("admin"),
    )


@router.get("/supervision/sheets/{number}", response_class=HTMLResponse)
def sheet_page(number: str, request: Request, session: DbSession, user: PageUser) -> HTMLResponse:
    """A 督办单, to print."""
    if not user.has_role(*LEADERS):
        raise Forbidden(
            "仅领导、调度员和管理员可查看督办单", "leaders, dispatchers and admins only"
        )
    e = _named(session, [views.urge_view(service.sheet(session, user, number))])[0]
    return render(request, "supervision_sheet.html", user, w=_words(request), e=e)


@router.get("/app/", response_class=HTMLResponse)
def app_shell(request: Request) -> HTMLResponse:
    """The handler app's shell: no user's data in it (the service worker keeps it offline);
    the script reads the cases through the API."""
    t = translator(lang_of(request))
    w = _words(request) | {f"state_{s}": t(f"state_{s}") for s in APP_STATES}
    return render(request, "handler_app.html", None, w=w)


@router.get("/app/manifest.webmanifest")
def manifest(request: Request) -> Response:
    w = _words(request)
    body = {
        "name": f"civicgrid · {w['app']}",
        "short_name": w["app"],
        "start_url": "/app/",
        "scope": "/app/",
        "display": "standalone",
        "background_color": "#ffffff",
        "theme_color": "#1a73e8",
        "lang": "en" if lang_of(request) == "en" else "zh-CN",
        "icons": [{"src": "/static/favicon.svg", "sizes": "any", "type": "image/svg+xml"}],
    }
    return Response(json.dumps(body, ensure_ascii=False), media_type="application/manifest+json")


@router.get("/app/sw.js")
def service_worker() -> Response:
    """The service worker, served under /app/ so that its scope is the app."""
    return Response(
        (STATIC / "js" / "handler-sw.js").read_text(encoding="utf-8"),
        media_type="text/javascript",
    )
