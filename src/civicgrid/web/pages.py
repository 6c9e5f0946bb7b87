"""HTML pages: the citizen's phone page, the staff console, the board, the directory."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from sqlalchemy import func, select

from civicgrid.auth import service as auth_service
from civicgrid.auth.deps import SESSION_COOKIE, OptionalUser
from civicgrid.auth.models import User
from civicgrid.cases import policy as case_policy
from civicgrid.cases import queries as case_queries
from civicgrid.cases import service as case_service
from civicgrid.cases import views, workflow
from civicgrid.cases.api import allowed_for
from civicgrid.cases.models import Case
from civicgrid.cases.queries import QUEUES
from civicgrid.categories.models import Category
from civicgrid.kit.db import utcnow
from civicgrid.kit.errors import ERROR_RESPONSES, AppError
from civicgrid.kit.http import AppSettings, DbSession
from civicgrid.media import service as media_service
from civicgrid.org import service as org_service
from civicgrid.web.i18n import WORDS, lang_of, translator

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).parent.parent / "templates"))
router = APIRouter(include_in_schema=False)
board_router = APIRouter(prefix="/api/v1", tags=["board"])


class LoginRedirect(Exception):
    def __init__(self, next_url: str):
        self.next_url = next_url


def render(request: Request, name: str, user: User | None, **context) -> HTMLResponse:
    lang = lang_of(request)
    return TEMPLATES.TemplateResponse(
        request, f"web/{name}", {"t": translator(lang), "lang": lang, "user": user, **context}
    )


def page_user(request: Request, user: OptionalUser) -> User:
    """The signed-in user, or a redirect to the sign-in page."""
    if user is None:
        raise LoginRedirect(
            request.url.path + (f"?{request.url.query}" if request.url.query else "")
        )
    return user


PageUser = Annotated[User, Depends(page_user)]


def words(lang: str) -> dict:
    t = translator(lang)
    extra = {
        "need_category": ("请选择问题类别", "choose a category"),
        "need_score": ("请选择评分", "choose a score"),
        "failed": ("提交失败, 请重试", "failed, try again"),
    }
    out = {k: t(k) for k in WORDS}
    out.update({k: v[1 if lang == "en" else 0] for k, v in extra.items()})
    return out


_CATEGORIES: list[tuple[dict, ...]] = []


def _category_list(session) -> tuple[dict, ...]:
    """The catalogue with pinyin initials, one entry per code (made once per process, with
    the caller's session: a second session would wait for the first's write lock)."""
    if not _CATEGORIES:
        cats: dict[str, Category] = {}
        for cat in session.scalars(select(Category).order_by(Category.code, Category.kind)):
            if cat.code not in cats or cat.kind == "event":
                cats[cat.code] = cat
        _CATEGORIES.append(
            tuple(
                {
                    "code": c.code,
                    "name": c.name,
                    "keywords": c.keywords,
                    "initials": org_service.name_initials(c.name),
                }
                for c in cats.values()
            )
        )
    return _CATEGORIES[0]


def categories_for_citizens(session) -> list[dict]:
    """The catalogue, the most reported categories of the last 90 days first."""
    since = utcnow() - dt.timedelta(days=90)
    counts = dict(
        session.execute(
            select(Case.category_code, func.count())
            .where(Case.reported_at >= since)
            .group_by(Case.category_code)
        ).all()
    )
    return sorted(_category_list(session), key=lambda c: (-counts.get(c["code"], 0), c["code"]))


@router.get("/", response_class=HTMLResponse)
def index(request: Request, user: OptionalUser) -> HTMLResponse:
    return render(request, "index.html", user, district="香坊区 · 哈尔滨市")


@router.get("/lang/{lang}")
def set_lang(lang: str, request: Request) -> RedirectResponse:
    back = request.headers.get("referer") or "/"
    response = RedirectResponse(back, status_code=303)
    response.set_cookie("lang", "en" if lang == "en" else "zh", max_age=365 * 86400, samesite="lax")
    return response


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
    )


@router.get("/track/{code}", response_class=HTMLResponse)
def track_page(code: str, request: Request, user: OptionalUser) -> HTMLResponse:
    return render(request, "track.html", user, code=code, words=words(lang_of(request)))


@router.get("/console/login", response_class=HTMLResponse)
def login_page(request: Request, next: str = "/console") -> HTMLResponse:
    return render(request, "login.html", None, next=next, error=None)


@router.post("/console/login")
async def login_submit(
    request: Request,
    settings: AppSettings,
    username: Annotated[str, Form(max_length=60)],
    password: Annotated[str, Form(max_length=200)],
    next: Annotated[str, Form()] = "/console",
) -> Response:
    """The sign-in form: the same check, lockout and session as POST /api/v1/auth/login."""
    from civicgrid.auth.api import set_session_cookie, sign_in

    try:
        _, cookie = await sign_in(request, username, password, settings)
    except AppError as exc:
        message = exc.zh if lang_of(request) == "zh" else exc.en
        response = render(request, "login.html", None, next=next, error=message)
        response.status_code = exc.status_code
        return response
    target = next if next.startswith("/") and not next.startswith("//") else "/console"
    return set_session_cookie(RedirectResponse(target, status_code=303), cookie, settings)


@router.post("/console/logout")
def logout(request: Request, session: DbSession, user: OptionalUser) -> RedirectResponse:
    """Sign out: the session ends on the server, so the old cookie stops working at once."""
    from civicgrid.auth.api import sign_out

    sign_out(session, request, user)
    response = RedirectResponse("/", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/console", response_class=HTMLResponse)
def console(
    request: Request, session: DbSession, user: PageUser, queue: str | None = None, q: str = ""
) -> HTMLResponse:
    """Each role's queues; a table of cases; search."""
    mine = case_queries.queues_for(user.roles)
    queue = queue if queue in mine else mine[0]
    scope = auth_service.scope_codes(session, user)
    counts = [
        (key, QUEUES[key].label, case_queries.count_queue(session, key, scope=scope))
        for key in mine
    ]
    cases = case_queries.list_queue(session, queue, scope=scope, q=q, limit=200)
    names = {c["code"]: c["name"] for c in _category_list(session)}
    rows = [
        {**views.case_summary(c), "category_name": names.get(c.category_code, c.category_code)}
        for c in cases
    ]
    dispatchable = queue == "to_dispatch" and user.has_role("dispatcher")
    return render(
        request,
        "console.html",
        user,
        queues=counts,
        queue=queue,
        cases=rows,
        q=q,
        dispatchable=dispatchable,
    )


@router.get("/console/cases/{code}", response_class=HTMLResponse)
def case_page(
    code: str, request: Request, session: DbSession, user: PageUser, settings: AppSettings
) -> HTMLResponse:
    case = case_service.get_visible_case(session, code, auth_service.scope_codes(session, user))
    events = case_service.events_of(session, case)
    detail = views.case_detail(
        session, case, events, user.roles, media_service.photos_of(session, case.id)
    )
    names = {c["code"]: c["name"] for c in _category_list(session)}
    unit = org_service.find_unit(session, case.unit_code) if case.unit_code else None
    detail.update(
        category_name=names.get(case.category_code), unit_name=unit.name if unit else None
    )
    actions = [(a, f"{workflow.ACTION_NAMES_ZH[a]} {a}") for a in allowed_for(session, case, user)]
    units = [u for u in org_service.units(session) if u.kind in ("street", "department")]
    return render(
        request,
        "case.html",
        user,
        case=detail,
        actions=actions,
        units=units,
        tiles=settings.tile_url,
    )


@router.get("/board", response_class=HTMLResponse)
def board(request: Request, user: PageUser, settings: AppSettings) -> HTMLResponse:
    return render(request, "board.html", user, tiles=settings.tile_url)


@board_router.get("/board")
def board_data(session: DbSession, user: OptionalUser) -> dict:
    """Open cases with their light, and counts per street, for the dispatcher's board."""
    if user is None:
        from civicgrid.auth.exceptions import NotSignedIn

        raise NotSignedIn()
    scope = auth_service.scope_codes(session, user)
    now = utcnow()
    query = case_policy.scoped(
        select(Case).where(Case.state.in_(workflow.OPEN_STATES)),
        scope,
    )
    cases = session.scalars(query.order_by(Case.id.desc()).limit(5000)).all()
    streets: dict[str, dict] = {}
    out = []
    for c in cases:
        light = workflow.light(c, now)
        out.append({"code": c.code, "lon": c.lon, "lat": c.lat, "light": light, "state": c.state})
        s = streets.setdefault(
            c.street_code or "—", {"green": 0, "yellow": 0, "red": 0, "total": 0}
        )
        s["total"] += 1
        if light:
            s[light] += 1
    from civicgrid.geo.models import Area

    names = dict(
        session.execute(select(Area.code, Area.name).where(Area.code.in_(list(streets)))).all()
    )
    rows = [{"code": k, "name": names.get(k, k), **v} for k, v in sorted(streets.items())]
    return {"cases": out, "streets": rows}


@router.get("/directory", response_class=HTMLResponse)
def directory(request: Request, session: DbSession, user: PageUser, q: str = "") -> HTMLResponse:
    viewer = {"viewer_unit_id": user.person.org_unit_id, "viewer_is_admin": user.has_role("admin")}
    found = org_service.search_people(session, q=q, limit=200, **viewer)
    people = [
        {
            "name": p.name,
            "title": p.title,
            "org_unit_name": p.org_unit.name,
            "phones": org_service.visible_phones(p, **viewer),
        }
        for p in found
    ]
    return render(
        request, "directory.html", user, people=people, q=q, tree=org_service.tree(session)
    )


@router.get("/stats", response_class=HTMLResponse)
def stats_page(request: Request, user: PageUser, month: str | None = None) -> HTMLResponse:
    """KPI tables and charts for a month, with downloads."""
    from civicgrid.kit.timefmt import local_zone

    month = month or utcnow().astimezone(local_zone()).strftime("%Y-%m")
    groups = [
        ("street", "街道"),
        ("unit", "处置单位"),
        ("community", "社区"),
        ("grid", "网格"),
        ("category", "类别"),
        ("major", "大类"),
        ("source", "来源"),
        ("none", "全区"),
    ]
    return render(request, "stats.html", user, month=month, groups=groups)


@router.get("/stats/assessment/{month}", response_class=HTMLResponse)
def assessment_page(
    month: str, request: Request, session: DbSession, user: PageUser, group_by: str = "street"
) -> HTMLResponse:
    """The monthly assessment as districts publish it, ready to print."""
    from civicgrid.stats import assessment

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

    title = f"{month} 数字城管{'街道' if group_by == 'street' else '部门'}考核"
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


@router.get("/command", response_class=HTMLResponse)
def command(request: Request, user: PageUser, settings: AppSettings) -> HTMLResponse:
    """The big screen of the command centre, pushed live by server-sent events."""
    return render(request, "command.html", user, tiles=settings.tile_url)


@router.get("/admin", response_class=HTMLResponse)
def admin(request: Request, session: DbSession, user: PageUser) -> HTMLResponse:
    """People, org units, time limits, dispatch rules, the holiday calendar, grid import."""
    from civicgrid.auth.models import ROLES
    from civicgrid.cases import admin as case_admin
    from civicgrid.cases import routing
    from civicgrid.categories import service as cat_service
    from civicgrid.org.models import UNIT_KINDS

    if not user.has_role("admin"):
        return HTMLResponse("<h1>403</h1><p>需要管理员角色 / admins only</p>", status_code=403)
    units = [u for u in org_service.units(session) if u.kind != "community"]
    return render(
        request,
        "admin.html",
        user,
        units=units,
        roles=ROLES,
        kinds=UNIT_KINDS,
        limits=cat_service.list_limits(session),
        rules=routing.list_rules(session),
        calendar=case_admin.calendar_entries(session),
    )


def install(app) -> None:
    """Pages, static files and the sign-in redirect."""
    from fastapi.staticfiles import StaticFiles

    app.mount(
        "/static",
        StaticFiles(directory=str(Path(__file__).parent.parent / "static")),
        name="static",
    )
    app.include_router(router)
    app.include_router(board_router, responses=ERROR_RESPONSES)

    @app.exception_handler(LoginRedirect)
    async def _to_login(_request: Request, exc: LoginRedirect) -> RedirectResponse:
        return RedirectResponse(f"/console/login?next={quote(exc.next_url)}", status_code=303)
