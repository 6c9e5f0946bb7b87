"""create_app(): the FastAPI application with every domain's routers."""

from __future__ import annotations

import asyncio
import gc
import logging
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI, Request
from fastapi.middleware.gzip import GZipMiddleware
from fastapi.responses import JSONResponse, Response
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from starlette.middleware.trustedhost import TrustedHostMiddleware
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from civicgrid import __version__, migrate
from civicgrid.auth import api as auth_api
from civicgrid.auth import pages as auth_pages
from civicgrid.auth.deps import SESSION_COOKIE, cookie_user, current_user
from civicgrid.cases import admin_api as cases_admin_api
from civicgrid.cases import api as cases_api
from civicgrid.cases import metrics as case_metrics
from civicgrid.cases import pages as case_pages
from civicgrid.cases import service as cases_service
from civicgrid.cases import workflow
from civicgrid.categories import api as categories_api
from civicgrid.citizen import api as citizen_api
from civicgrid.citizen import pages as citizen_pages
from civicgrid.citizen import service as citizen_service
from civicgrid.command import api as command_api
from civicgrid.command import pages as command_pages
from civicgrid.config import Settings, get_settings
from civicgrid.geo import api as geo_api
from civicgrid.geo import words as geo_words
from civicgrid.geo.index import index as geo_index
from civicgrid.hotline import api as hotline_api
from civicgrid.hotline import pages as hotline_pages
from civicgrid.kit import headers, observability, scheduler
from civicgrid.kit.db import session_scope
from civicgrid.kit.errors import ERROR_RESPONSES, AppError, install_handlers, refusal
from civicgrid.kit.guard import InputGuard, OpsGate
from civicgrid.kit.http import DbSession
from civicgrid.media import service as media_service  # noqa: F401 - registers media-sweep
from civicgrid.notices import api as notices_api
from civicgrid.notices import pages as notices_pages
from civicgrid.notices import words as notices_words
from civicgrid.open311 import api as open311_api
from civicgrid.open311 import service as open311_service
from civicgrid.ops import api as ops_api
from civicgrid.ops import pages as ops_pages
from civicgrid.org import api as org_api
from civicgrid.org import pages as org_pages
from civicgrid.snowfields import api as snowfields_api
from civicgrid.snowfields import pages as snowfields_pages
from civicgrid.snowfields import service as snowfields_service
from civicgrid.snowfields import words as snowfields_words
from civicgrid.spotchecks import api as spotchecks_api
from civicgrid.spotchecks import pages as spotchecks_pages
from civicgrid.spotchecks import service as spotchecks_service
from civicgrid.stats import api as stats_api
from civicgrid.stats import hooks as stats_hooks
from civicgrid.stats import kpi
from civicgrid.stats import pages as stats_pages
from civicgrid.stats import subjects as stats_subjects
from civicgrid.supervision import api as supervision_api
from civicgrid.supervision import pages as supervision_pages
from civicgrid.supervision import service as supervision_service
from civicgrid.vehicles import api as vehicles_api
from civicgrid.vehicles import pages as vehicles_pages
from civicgrid.web import i18n, layout
from civicgrid.web import pages as web_pages
from civicgrid.worklogs import api as worklogs_api
from civicgrid.worklogs import pages as worklogs_pages
from civicgrid.worklogs import service as worklogs_service

log = logging.getLogger(__name__)
# What only operators may read in production (kit.guard.OpsGate).
OPS_PATHS = ("/metrics", "/docs", "/docs/oauth2-redirect", "/redoc", "/openapi.json")

PUBLIC_ROUTERS = [
    auth_api.public_router,
    geo_api.public_router,
    # the local base map's tiles (settings tile_local)
    geo_api.tiles_router,
    categories_api.public_router,
    citizen_api.public_router,
    # signed-in staff only; it says so itself (401), as it did beside the pages
    cases_api.board_router,
    # devices: an OsmAnd id or a device token, no sign-in
    vehicles_api.gps_router,
    # the published draws: commitments, and seeds after their period
    spotchecks_api.public_router,
    # the 12345 platform's webhooks: HMAC-signed, no sign-in
    hotline_api.public_router,
]
# The names the domains keep in both languages, as the pages' words (web imports no domain).
i18n.add_words("action_", workflow.ACTION_NAMES)
i18n.add_words("state_", workflow.STATE_NAMES)
i18n.add_words("kpi_", kpi.NAMES)
i18n.add_words("assess_", stats_subjects.NAMES)
i18n.add_words("assess_", stats_subjects.SUBJECT_NAMES)
# stats is below spot checks and supervision: the ranking takes their figures through hooks
stats_hooks.provide(
    spotcheck_scores=spotchecks_service.scores_by_unit,
    urged_cases=lambda s, start, end: supervision_service.urged_cases_by_unit(
        s, start=start, end=end
    ),
)
i18n.add_words("step_", citizen_service.PUBLIC_STEPS)
i18n.add_words("notices_", notices_words.WORDS)
i18n.add_words("place_", geo_words.WORDS)
i18n.add_words("worklogs_state_", worklogs_service.STATE_NAMES)
i18n.add_words("worklogs_source_", worklogs_service.SOURCE_NAMES)
i18n.add_words("snow_", snowfields_words.WORDS)
i18n.add_words("job_", {"snow-checks": ("雪情检查", "Snow checks")})

# Each domain's HTML pages (a page asks for its user itself: PageUser redirects to sign-in).
PAGE_ROUTERS = [
    citizen_pages.router,
    auth_pages.router,
    case_pages.router,
    org_pages.router,
    stats_pages.router,
    command_pages.router,
    ops_pages.router,
    vehicles_pages.router,
    notices_pages.router,
    worklogs_pages.router,
    spotchecks_pages.router,
    supervision_pages.router,
    hotline_pages.router,
    snowfields_pages.router,
]
PRIVATE_ROUTERS = [
    auth_api.router,
    org_api.router,
    geo_api.router,
    categories_api.router,
    cases_api.router,
    citizen_api.staff_router,
    cases_admin_api.router,
    stats_api.router,
    command_api.router,
    ops_api.router,
    vehicles_api.router,
    notices_api.router,
    worklogs_api.router,
    spotchecks_api.router,
    supervision_api.router,
    hotline_api.router,
    snowfields_api.router,
]
# Citizens' road-snow reports during a snow event get the event's clear deadline (snow.md):
# cases is below snowfields, so the cap is handed to it here.
if snowfields_service.citizen_deadline not in cases_service.DEADLINE_CAPS:
    cases_service.DEADLINE_CAPS.append(snowfields_service.citizen_deadline)


def _load_index() -> None:
    try:
        with session_scope() as session:
            geo_index.rebuild(session)
    except SQLAlchemyError as exc:  # not migrated yet: /readyz says so
        log.warning("grid index not loaded: %s", exc)


@asynccontextmanager
async def lifespan(_app: FastAPI):
    _load_index()
    # What startup built (the grid index, the app, the catalogue) lives as long as the process:
    # out of the collector's sight, a full collection no longer walks it (pauses of 100 ms and
    # more under load, the p99 of bench/intake.py).
    gc.freeze()
    settings = Settings()  # not cached: a test may change CIVICGRID_* after this
    jobs = None
    if settings.run_scheduler:  # `civicgrid serve` turns it on; never in the tests' clients
        jobs = scheduler.Scheduler(tick=settings.scheduler_tick_seconds)
        jobs.start()
    try:
        yield
    finally:
        if jobs is not None:  # waits for a running job: off the event loop
            await asyncio.to_thread(jobs.stop)


def _error_page(request: Request, status: int, zh: str, en: str) -> Response:
    """The site's error page with the header of whoever is signed in. Looking them up must not
    break the page: when the lookup fails (the database is down, a bug) it is drawn for nobody."""
    if request.cookies.get(SESSION_COOKIE):
        try:
            with session_scope(read_only=True) as session:
                user = cookie_user(request, session, get_settings())
                if user is not None:  # drawn inside: the user's rows are read in its session
                    return layout.error_page(request, status, zh, en, user=user)
        except Exception:  # noqa: BLE001 - the refusal itself must still be answered
            log.warning("error page drawn signed out: the session lookup failed", exc_info=True)
    return layout.error_page(request, status, zh, en)


def _refusal(path: str, exc: AppError):
    if path.startswith("/open311/"):
        return open311_api.refusal(path, exc)
    return refusal(exc)


def _open311_http_errors(app: FastAPI) -> None:
    """A path under /open311/ that no route has (or a method it does not take) is answered
    with GeoReport's error document, XML for a `.xml` path; everything else as before."""
    from starlette.exceptions import HTTPException as StarletteHTTPException

    before = app.exception_handlers[StarletteHTTPException]

    async def handler(request, exc):
        if request.url.path.startswith("/open311/"):
            return open311_api.http_refusal(request.url.path, exc.status_code, exc.detail)
        return await before(request, exc)

    app.add_exception_handler(StarletteHTTPException, handler)


def create_app() -> FastAPI:
    app = FastAPI(
        title="civicgrid 城市管理监督平台",
        version=__version__,
        lifespan=lifespan,
    )
    install_handlers(app, page=_error_page)
    _open311_http_errors(app)
    # Read, not cached: what is decided here is fixed for the app's life, and a test that sets
    # CIVICGRID_* after making the app must still see its change everywhere else.
    settings = Settings()
    open311_service.PublicPolicy.of(settings)  # a public source the workflow does not know
    app.add_middleware(GZipMiddleware, minimum_size=1000)
    # Middleware runs outermost-last-added: the proxy's client address first, then the request
    # log, the operators' gate, and the input guard just before the routes.
    app.add_middleware(
        InputGuard,
        limits=[
            *open311_api.BODY_LIMITS,
            *citizen_api.BODY_LIMITS,
            *cases_api.BODY_LIMITS,
            *geo_api.BODY_LIMITS,
            *categories_api.BODY_LIMITS,
            *vehicles_api.BODY_LIMITS,
            *notices_pages.BODY_LIMITS,
        ],
        session_cookie=SESSION_COOKIE,
        public_origin=lambda: get_settings().public_base_url,
        render=_refusal,
    )
    if settings.mode == "production":
        app.add_middleware(
            OpsGate,
            paths=frozenset(p for p in OPS_PATHS if p),
            allowed=settings.ops_allowed_addresses,
            token=settings.ops_token,
        )
    observability.install(app)
    case_metrics.install()
    headers.install(app)  # on every answer, refusals of the middleware inside included
    if settings.trusted_proxies:
        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=settings.trusted_proxies)
    # Routes are matched in order (FastAPI tries each in turn, ~1.5 µs apiece): the busiest,
    # report intake, comes first.
    app.include_router(open311_api.router, responses=ERROR_RESPONSES)
    web_pages.install(app)
    for router in PAGE_ROUTERS:
        app.include_router(router)
    for router in PUBLIC_ROUTERS:
        app.include_router(router, responses=ERROR_RESPONSES)
    # Private unless a router says otherwise: signed-in users only.
    for router in PRIVATE_ROUTERS:
        app.include_router(router, dependencies=[Depends(current_user)], responses=ERROR_RESPONSES)

    @app.get("/healthz", tags=["health"])
    def healthz() -> dict:
        """The process is up."""
        return {"status": "ok", "version": __version__}

    @app.get("/readyz", tags=["health"])
    def readyz(session: DbSession) -> JSONResponse:
        """Database reachable, migrations at head, grid index loaded."""
        checks = {"database": False, "migrations": False, "grid_index": geo_index.loaded}
        try:
            session.execute(text("SELECT 1"))
            checks["database"] = True
            current = migrate.current_revision(session.connection())
            checks["migrations"] = current == migrate.head_revision()
            if checks["migrations"] and not geo_index.loaded:
                geo_index.rebuild(session)
                checks["grid_index"] = geo_index.loaded
        except SQLAlchemyError:
            session.rollback()
        ok = all(checks.values())
        return JSONResponse(
            {"status": "ready" if ok else "not ready", **checks}, status_code=200 if ok else 503
        )

    # Added last, so it runs first: a request for a host this server is not gets 400 before
    # anything reads it. In production without a host list this refuses to make the app.
    hosts = settings.trusted_hosts()
    if hosts != ["*"]:
        app.add_middleware(TrustedHostMiddleware, allowed_hosts=hosts)
    return app
