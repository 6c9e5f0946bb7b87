"""The `civicgrid` command."""

from __future__ import annotations

import datetime as dt
import getpass
import json
import sys
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console
from rich.table import Table

from civicgrid.kit import audit
from civicgrid.kit.errors import AppError

app = typer.Typer(
    help="civicgrid 城市管理监督平台 — command line.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
user_app = typer.Typer(
    help="Staff accounts 账户: add, list, disable, passwd.", no_args_is_help=True
)
categories_app = typer.Typer(help="The category catalogue 案件类别.", no_args_is_help=True)
limits_app = typer.Typer(help="Handling time limits 处置时限.", no_args_is_help=True)
rules_app = typer.Typer(help="Dispatch rules 派遣规则.", no_args_is_help=True)
apikey_app = typer.Typer(help="Open311 api keys.", no_args_is_help=True)
citizen_app = typer.Typer(
    help="Citizens' personal data: export and erase on request.", no_args_is_help=True
)
calendar_app = typer.Typer(
    help="The working calendar 工作日历 (holidays, adjusted days).", no_args_is_help=True
)
app.add_typer(user_app, name="user")
app.add_typer(categories_app, name="categories")
app.add_typer(limits_app, name="limits")
app.add_typer(rules_app, name="rules")
app.add_typer(calendar_app, name="calendar")
app.add_typer(apikey_app, name="apikey")
app.add_typer(citizen_app, name="citizen")
media_app = typer.Typer(help="Photo files in the store.", no_args_is_help=True)
app.add_typer(media_app, name="media")

console = Console()
err = Console(stderr=True)


def fail(message: str, code: int = 1) -> None:
    err.print(f"[red]{message}[/red]")
    raise typer.Exit(code)


# A person at the command line can wait longer for the write lock than a web request
# (write_wait_seconds): an import's swap, a burst of reports.
CLI_WRITE_WAIT_SECONDS = 120.0


def run(fn, *, read_only: bool = False):
    """Run fn(session) in one transaction (a read-only one takes no write lock on SQLite); an
    AppError becomes a clear message and exit 1."""
    from civicgrid.kit.db import session_scope, write_wait

    try:
        with (
            write_wait(CLI_WRITE_WAIT_SECONDS),
            audit.acting_as(_cli_actor()),
            session_scope(read_only=read_only) as session,
        ):
            return fn(session)
    except AppError as exc:
        fail_with(exc)


def _cli_actor() -> str:
    """Who the audit log names for a write of this command: "cli:user add"."""
    try:  # typer ≥ 0.2x carries its own copy of click, whose context stack is its own
        from typer._click.globals import get_current_context
    except ImportError:  # pragma: no cover - an older typer on the real click
        from click import get_current_context

    names = []
    context = get_current_context(silent=True)
    while context is not None and context.parent is not None:  # the root is the program
        names.append(context.info_name or "")
        context = context.parent
    return f"cli:{' '.join(reversed(names)) or 'civicgrid'}"


@app.callback()
def _main(ctx: typer.Context) -> None:
    # writes outside run() (an import, the demo) are attributed to the command too
    ctx.call_on_close(audit.set_default_actor(f"cli:{ctx.invoked_subcommand}"))


def fail_with(exc: AppError) -> NoReturn:
    """Print a refusal (with its list of problems, if any) and exit 1."""
    problems = exc.extra.get("problems")
    if problems:
        for p in problems:
            err.print(
                f"  {p}"
                if isinstance(p, str)
                else f"  #{p.get('index')} {p.get('code') or ''}: {p.get('reason')}"
            )
    fail(exc.detail)


def _settings():
    """The settings, or a clear message and exit 2 when they are refused (a short key)."""
    from pydantic import ValidationError

    from civicgrid.config import get_settings

    try:
        return get_settings()
    except ValidationError as exc:
        for problem in exc.errors():
            err.print(f"[red]{problem['msg'].removeprefix('Value error, ')}[/red]")
        raise typer.Exit(2) from None


def _secret_key(*, create: bool = True):
    """The secret key as config.secret_key resolves it, or a clear message and exit 2."""
    from civicgrid.config import SecretKeyError, secret_key

    try:
        return secret_key(_settings(), create=create)
    except SecretKeyError as exc:
        fail(str(exc), 2)


def _describe_key(found) -> str:
    """Where the key comes from, in words (never the key)."""
    if found.source == "environment":
        return "环境变量 / environment (CIVICGRID_SECRET_KEY)"
    if found.source == "generated":
        return f"新生成 / generated into {found.path} (mode 0600)"
    if found.source == "file":
        return f"文件 / file {found.path}"
    return f"尚未生成 / none yet: init or serve will generate {found.path}"


def _show_migration_progress() -> None:
    """Print the migrations' progress (a large table filled in batches) on stderr."""
    import logging

    log = logging.getLogger("civicgrid.migrations")
    if not log.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("migration: %(message)s"))
        log.addHandler(handler)
        log.setLevel(logging.INFO)


@app.command()
def init() -> None:
    """Create or migrate the database, load the category catalogue and time limits if empty,
    install the default dispatch rule (every category to its street office, priority 10000)
    if there is no rule, and generate the secret key file when CIVICGRID_SECRET_KEY is not
    set."""
    from civicgrid import migrate
    from civicgrid.cases import routing
    from civicgrid.categories import service as cat_service
    from civicgrid.kit.db import get_engine

    console.print(f"secret key: {_describe_key(_secret_key())}")
    engine = get_engine()
    _show_migration_progress()
    migrate.upgrade(engine)

    def seed(session):
        if not cat_service.list_categories(session):
            n = cat_service.import_categories(session, cat_service.packaged_csv("categories.csv"))
            console.print(f"loaded {n} categories")
        if not cat_service.list_limits(session):
            n = cat_service.import_limits(session, cat_service.packaged_csv("time-limits.csv"))
            console.print(f"loaded {n} time limits")
        rule = routing.ensure_default_rule(session)
        if rule is not None:
            console.print(
                f"installed dispatch rule {rule.id}: every category to its street office "
                f"(priority {rule.priority}; civicgrid rules list)"
            )

    run(seed)
    console.print(f"database ready: {engine.url.render_as_string(hide_password=True)}")


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port")] = 8000,
    workers: Annotated[int, typer.Option(help="worker processes")] = 1,
    reload: Annotated[bool, typer.Option(help="reload on code change (development)")] = False,
    scheduler: Annotated[
        bool, typer.Option(help="run the periodic jobs (civicgrid jobs list) in this server")
    ] = True,
) -> None:
    """Serve the web application and the API; says which secret key source it uses. Each
    worker runs the periodic jobs' scheduler (a lease per job lets one run it at a time);
    nothing is deleted at start: photo files left by a killed server go with the hourly
    media-sweep job, once older than CIVICGRID_MEDIA_SWEEP_GRACE_SECONDS."""
    import os

    import uvicorn

    # Resolved (and generated if need be) before the workers start, so that they share it.
    err.print(f"secret key: {_describe_key(_secret_key())}")
    try:  # refused here, once, rather than by each worker the server would keep restarting
        _settings().trusted_hosts()
    except ValueError as exc:
        fail(str(exc))
    # What the workers read from the environment (create_app runs in each), put back when the
    # server stops: this process's environment is not left changed.
    from civicgrid.kit import observability

    names = ("CIVICGRID_RUN_SCHEDULER", observability.MULTIPROC_ENV)
    saved = {name: os.environ.get(name) for name in names}
    os.environ["CIVICGRID_RUN_SCHEDULER"] = "true" if scheduler else "false"
    try:
        if workers > 1:  # each worker counts its own requests: /metrics adds them up
            where = observability.multiprocess_dir() or Path(_settings().var_dir) / "prometheus"
            observability.prepare_multiprocess_dir(where)
        uvicorn.run(
            "civicgrid.app:create_app",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            reload=reload,
            log_level="info",
            # uvicorn would believe X-Forwarded-For from 127.0.0.1 by default; the app believes
            # it only from CIVICGRID_TRUSTED_PROXIES (app.py)
            proxy_headers=False,
        )
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@app.command()
def doctor() -> None:
    """Check the installation: the secret key's source, the database reachable and migrated
    to the newest schema. Exits 1 when a check fails (warnings do not)."""
    from sqlalchemy import text
    from sqlalchemy.exc import SQLAlchemyError

    from civicgrid import migrate
    from civicgrid.config import SecretKeyError, secret_key
    from civicgrid.kit.db import get_engine, session_scope

    failed = False

    def report(level: str, message: str) -> None:
        nonlocal failed
        failed = failed or level == "fail"
        colour = {"ok": "green", "warn": "yellow", "fail": "red"}[level]
        console.print(f"[{colour}]{level:4}[/{colour}] {message}")

    settings = _settings()
    try:
        found = secret_key(settings, create=False)
    except SecretKeyError as exc:
        report("fail", f"secret key: {exc}")
    else:
        report("ok", f"secret key: {_describe_key(found)}")
        if settings.mode == "production" and found.source != "environment":
            report(
                "warn",
                "生产模式使用自动生成的密钥: 多台服务器时请在每台设置相同的 CIVICGRID_SECRET_KEY / "
                "production runs on a generated key: with several servers, set the same "
                "CIVICGRID_SECRET_KEY on all of them",
            )
        path = found.path
        if path is not None and path.exists() and path.stat().st_mode & 0o077:
            report(
                "warn",
                f"{path} 可被其他用户读取, 请执行 chmod 600 / {path} is readable by others: "
                "chmod 600 it",
            )

    if settings.tile_local:
        from civicgrid.geo import tiles

        try:
            tiles.open_source(settings.tile_local).close()
        except tiles.TileSourceError as exc:
            report("fail", f"本地瓦片不可用 / local tiles unusable: {exc}")
        else:
            report("ok", f"local tiles: {settings.tile_local} ({settings.tile_datum})")

    url = settings.database_url
    sqlite_path = url.split("///", 1)[-1] if url.startswith("sqlite") else None
    if sqlite_path and sqlite_path != ":memory:" and not Path(sqlite_path).exists():
        report(
            "fail",
            f"数据库文件不存在, 请运行 civicgrid init / no database file {sqlite_path}: "
            "run civicgrid init",
        )
        raise typer.Exit(1)
    shown = get_engine().url.render_as_string(hide_password=True)
    try:
        with session_scope(read_only=True) as session:
            session.execute(text("SELECT 1"))
            current = migrate.current_revision(session.connection())
    except SQLAlchemyError as exc:
        report("fail", f"数据库无法连接 / database unreachable: {shown}: {exc.__class__.__name__}")
        raise typer.Exit(1) from None
    report("ok", f"database reachable: {shown}")
    head = migrate.head_revision()
    if current != head:
        report(
            "fail",
            f"数据库版本 {current or '(空)'} 不是最新 {head}, 请运行 civicgrid init / "
            f"the database is at {current or '(empty)'}, not {head}: run civicgrid init",
        )
    else:
        report("ok", f"migrations at head ({head})")
        with session_scope(read_only=True) as session:
            lacking = onboarding_gaps(session, settings)
        for message in lacking:
            report("warn", message)
        if not lacking:
            report("ok", "the district has what it needs to go live")
    if failed:
        raise typer.Exit(1)


def onboarding_gaps(session, settings) -> list[str]:
    """What a district still lacks before going live (civicgrid doctor's warnings): streets
    without a handler, grids without a supervisor, categories without a time limit, rules that
    point to a unit without people, no live api_key, no working calendar for next year."""
    from civicgrid.auth import service as auth_service
    from civicgrid.cases import routing
    from civicgrid.cases.calendar import WorkCalendar
    from civicgrid.categories import service as cat_service
    from civicgrid.geo import service as geo_service
    from civicgrid.kit.timefmt import local_zone
    from civicgrid.open311 import service as o311
    from civicgrid.org import queries as org_queries

    gaps: list[str] = []
    units = org_queries.units_by_code(session, org_queries.all_codes(session))
    roles_in: dict[str, set[str]] = {}
    for user in auth_service.list_users(session):
        if not user.disabled:
            roles_in.setdefault(user.person.org_unit.code, set()).update(user.roles)

    def listed(codes: list[str]) -> str:
        return ", ".join(codes[:10]) + (f" … ({len(codes)})" if len(codes) > 10 else "")

    streets = sorted(c for c, u in units.items() if u.kind == "street")
    bare = [c for c in streets if "handler" not in roles_in.get(c, set())]
    if bare:
        gaps.append(f"街道无处置人员 / streets without a handler: {listed(bare)}")
    # a grid is covered by the supervisors (网格员) of its community, or its own responsible
    grids = geo_service.areas(session, level="grid")
    unwatched = sorted(
        g.code
        for g in grids
        if not g.responsible and "supervisor" not in roles_in.get(g.parent_code or "", set())
    )
    if unwatched:
        gaps.append(f"网格无网格员 / grids without a supervisor: {listed(unwatched)}")
    unlimited = sorted(
        {
            c.code
            for c in cat_service.list_categories(session)
            if cat_service.limit_for(session, c, "normal").scope == "builtin"
        }
    )
    if unlimited:
        gaps.append(f"类别无处置时限 / categories without a time limit: {listed(unlimited)}")
    for rule in routing.list_rules(session):
        if rule.target == "unit" and not roles_in.get(rule.unit_code or ""):
            gaps.append(
                f"派遣规则 {rule.id} 指向无人员的单位 / rule {rule.id} points to unit "
                f"{rule.unit_code}, which has no people"
            )
        elif rule.target == "department":
            empty = [c for c, u in units.items() if u.kind == "department" and not roles_in.get(c)]
            if empty:
                gaps.append(
                    f"派遣规则 {rule.id} 的部门无人员 / rule {rule.id} sends to departments "
                    f"without people: {listed(sorted(empty))}"
                )
    if not any(k.revoked_at is None for k in o311.list_keys(session)):
        gaps.append("没有 Open311 密钥 / no api key: civicgrid apikey add NAME")
    next_year = dt.datetime.now(local_zone()).year + 1
    if not WorkCalendar.load(session, settings).covered(next_year):
        gaps.append(
            f"{next_year} 年的节假日安排尚未录入 / no working calendar for {next_year}: "
            f"civicgrid calendar year {next_year} (after entering its days)"
        )
    return gaps


@media_app.command("sweep")
def media_sweep(
    grace_seconds: Annotated[
        float, typer.Option(help="keep unreferenced files younger than this")
    ] = 3600,
) -> None:
    """Remove photo files that no photo row refers to (left by a killed process). With a
    grace shorter than the longest request, run it only while no server is running."""
    from civicgrid.config import get_settings
    from civicgrid.media import service as media_service

    removed = run(lambda s: media_service.sweep(s, get_settings(), grace_seconds=grace_seconds))
    for key in removed:
        console.print(key)
    console.print(f"removed {len(removed)} files")


jobs_app = typer.Typer(help="Periodic jobs 定时任务: list, run one now.", no_args_is_help=True)
app.add_typer(jobs_app, name="jobs")


def _registered_jobs():
    """The jobs every server runs: the app's modules register theirs when imported."""
    import civicgrid.app  # noqa: F401 - imports every domain, so every job is registered
    from civicgrid.kit import scheduler as jobs

    return jobs


@jobs_app.command("list")
def jobs_list() -> None:
    """Every periodic job: its interval, last run, result and next run."""
    from civicgrid.kit.timefmt import iso_local

    jobs = _registered_jobs()
    states = run(jobs.job_states, read_only=True)
    table = Table("job", "every", "last started", "ok", "runs", "next run", "running on")
    for job in jobs.jobs():
        state = states.get(job.name)

        def when(value):
            return iso_local(value) if value else "-"

        ok = "-" if state is None or state.last_ok is None else ("yes" if state.last_ok else "NO")
        table.add_row(
            job.name,
            str(job.every),
            when(state and state.last_started_at),
            ok,
            str(state.runs if state else 0),
            when(state and state.next_run_at),
            (state and state.locked_by) or "-",
        )
    console.print(table)
    for job in jobs.jobs():
        state = states.get(job.name)
        if state is not None and state.last_ok is False:
            err.print(f"[red]{job.name}: {state.last_error}[/red]")


@jobs_app.command("run")
def jobs_run(name: Annotated[str, typer.Argument(help="the job's name (jobs list)")]) -> None:
    """Run one job now, whether due or not, unless another node is running it (its lease)."""
    from civicgrid.kit.db import write_wait

    jobs = _registered_jobs()
    job = jobs.get_job(name)
    if job is None:
        known = ", ".join(j.name for j in jobs.jobs())
        fail(f"没有名为 {name} 的任务 / no job named {name}; known: {known}")
    with write_wait(CLI_WRITE_WAIT_SECONDS):
        outcome = jobs.run_job(job, node=f"cli:{jobs.node_id()}", force=True)
    if not outcome.ran:
        fail(f"任务 {name} 正在其他节点运行 / job {name} is running on another node now")
    if not outcome.ok:
        fail(f"任务 {name} 失败 / job {name} failed: {outcome.error}")
    console.print(f"{name}: {outcome.result if outcome.result is not None else 'done'}")


@jobs_app.command("work")
def jobs_work() -> None:
    """Run the periodic jobs in this process until stopped (SIGTERM or Ctrl-C): the background
    jobs' unit of a production layout, beside web workers started with --no-scheduler. Several
    may run on several machines: a lease per job lets one run it at a time."""
    import signal
    import threading

    from civicgrid.kit.db import write_wait

    jobs = _registered_jobs()
    settings = _settings()
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    node = jobs.node_id()
    err.print(
        f"jobs: {', '.join(j.name for j in jobs.jobs())}; node {node}, "
        f"every {settings.scheduler_tick_seconds:g} s"
    )
    with write_wait(CLI_WRITE_WAIT_SECONDS):
        while not stop.is_set():
            for outcome in jobs.run_due(node=node, settings=settings):
                state = "ok" if outcome.ok else f"failed: {outcome.error}"
                err.print(f"{outcome.job}: {state}")
            stop.wait(settings.scheduler_tick_seconds)
    err.print("jobs: stopped")


@app.command()
def demo(
    cases: Annotated[int, typer.Option(help="how many demo cases to create")] = 1000,
    fleet: Annotated[
        bool,
        typer.Option(
            help="the sanitation fleet, its roads and collection points, with yesterday's and"
            " today's tracks sent through the JT/T 808 gateway and the HTTP ingest"
        ),
    ] = True,
) -> None:
    """Load the Xiangfang District demo (idempotent: a second run changes nothing)."""
    from civicgrid import demo as demo_mod

    try:
        demo_mod.load(console, cases=cases, fleet=fleet)
    except AppError as exc:
        fail(exc.detail)


@app.command("import-geo")
def import_geo(file: Annotated[Path, typer.Argument(exists=True, dir_okay=False)]) -> None:
    """Import areas (district, street, community, grid) from a GeoJSON file; all or nothing."""
    from civicgrid.geo import service as geo_service

    try:
        data = json.loads(file.read_text(encoding="utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        fail(f"{file}: 不是有效的 JSON / not valid JSON: {exc}")
    result = run(lambda s: geo_service.import_geojson(s, data))
    console.print(
        f"imported {result.created} new and {result.updated} updated areas: "
        + ", ".join(f"{k} {v}" for k, v in result.by_level.items())
    )


@app.command("import-places")
def import_places(file: Annotated[Path, typer.Argument(exists=True, dir_okay=False)]) -> None:
    """Replace the gazetteer (地名地址库) with a CSV file: name, aliases, lon, lat, datum
    (UTF-8 or GB18030); all or nothing."""
    from civicgrid.geo import gazetteer

    count = run(lambda s: gazetteer.import_places(s, file.read_bytes()))
    console.print(f"imported {count} places")


@app.command("tiles-pack")
def tiles_pack(
    folder: Annotated[Path, typer.Argument(exists=True, file_okay=False)],
    out: Annotated[Path, typer.Argument(help="the .pmtiles or .mbtiles file to write")],
) -> None:
    """Pack a folder of z/x/y raster tiles into one PMTiles or MBTiles file (settings
    tile_local serves either)."""
    from civicgrid.geo import tiles

    try:
        count = tiles.pack(folder, out)
    except tiles.TileSourceError as exc:
        fail(str(exc))
    console.print(f"packed {count} tiles into {out}")


# --- users ----------------------------------------------------------------------------------


@user_app.command("add")
def user_add(
    username: str,
    name: Annotated[str, typer.Option(help="full name 姓名")],
    unit: Annotated[str, typer.Option(help="org unit code 单位编码")],
    role: Annotated[list[str], typer.Option(help="role, repeatable")],
    title: Annotated[str, typer.Option(help="title 职务")] = "",
    phone: Annotated[list[str] | None, typer.Option(help="phone, repeatable")] = None,
    password: Annotated[str | None, typer.Option(help="password (asked when not given)")] = None,
) -> None:
    """Create a staff account."""
    from civicgrid.auth import service as auth_service

    if password is None:
        password = getpass.getpass("password: ")
    run(
        lambda s: auth_service.create_user(
            s,
            username=username,
            password=password,
            name=name,
            org_unit_code=unit,
            roles=role,
            title=title,
            phones=phone or [],
        )
    )
    console.print(f"user {username} created")


@user_app.command("list")
def user_list() -> None:
    """List staff accounts."""
    from civicgrid.auth import service as auth_service

    def show(session):
        table = Table("username", "name", "roles", "unit", "disabled")
        for u in auth_service.list_users(session):
            table.add_row(
                u.username,
                u.person.name,
                ",".join(u.roles),
                u.org_unit.code,
                "yes" if u.disabled else "",
            )
        console.print(table)

    run(show)


@user_app.command("disable")
def user_disable(
    username: str, enable: Annotated[bool, typer.Option(help="enable instead")] = False
) -> None:
    """Disable (or re-enable) an account; its sessions end at once."""
    from civicgrid.auth import service as auth_service

    run(lambda s: auth_service.set_disabled(s, auth_service.require_user(s, username), not enable))
    console.print(f"user {username} {'enabled' if enable else 'disabled'}")


@user_app.command("passwd")
def user_passwd(
    username: str, password: Annotated[str | None, typer.Option(help="new password")] = None
) -> None:
    """Set a new password; the user's sessions end."""
    from civicgrid.auth import service as auth_service

    if password is None:
        password = getpass.getpass("new password: ")
    run(lambda s: auth_service.set_password(s, auth_service.require_user(s, username), password))
    console.print(f"password of {username} changed")


# --- categories and limits ------------------------------------------------------------------


@categories_app.command("import")
def categories_import(
    file: Annotated[
        Path | None, typer.Argument(help="CSV file; the shipped catalogue if omitted")
    ] = None,
) -> None:
    """Load or update categories from a CSV with the columns of categories.csv."""
    from civicgrid.categories import service as cat_service

    text = (
        file.read_text(encoding="utf-8-sig") if file else cat_service.packaged_csv("categories.csv")
    )
    n = run(lambda s: cat_service.import_categories(s, text))
    console.print(f"imported {n} categories")


@categories_app.command("list")
def categories_list(
    q: Annotated[str, typer.Option(help="words or code prefix")] = "",
    kind: Annotated[str | None, typer.Option(help="component or event")] = None,
) -> None:
    """List categories."""
    from civicgrid.categories import service as cat_service

    def show(session):
        table = Table("kind", "code", "major", "name", "department")
        for c in cat_service.list_categories(session, kind=kind, q=q):
            table.add_row(c.kind, c.code, c.major_name, c.name, c.default_department)
        console.print(table)

    run(show)


@limits_app.command("import")
def limits_import(
    file: Annotated[
        Path | None, typer.Argument(help="CSV file; the shipped limits if omitted")
    ] = None,
) -> None:
    """Load or update time limits from a CSV with the columns of time-limits.csv."""
    from civicgrid.categories import service as cat_service

    text = (
        file.read_text(encoding="utf-8-sig")
        if file
        else cat_service.packaged_csv("time-limits.csv")
    )
    n = run(lambda s: cat_service.import_limits(s, text))
    console.print(f"imported {n} time limits")


@limits_app.command("list")
def limits_list() -> None:
    """List time limits."""
    from civicgrid.categories import service as cat_service

    def show(session):
        table = Table("scope", "urgency", "limit", "unit", "note")
        for r in cat_service.list_limits(session):
            table.add_row(r.scope, r.urgency, f"{r.limit:g}", r.unit, r.note)
        console.print(table)

    run(show)


# --- statistics ------------------------------------------------------------------------------


def _check_table_format(format: str, output: Path | None) -> None:
    """A table's --format and --output, checked before any work (stats, assessment)."""
    if format not in ("json", "csv", "xlsx"):
        fail("--format 应为 json、csv 或 xlsx / must be json, csv or xlsx", 2)
    if format == "xlsx" and output is None:
        fail("xlsx 需要 --output 文件 / xlsx needs --output", 2)


def _write_table(report: dict, format: str, output: Path | None, to_csv, to_xlsx) -> None:
    """A table as JSON, CSV or xlsx, to --output or (JSON, CSV) to stdout."""
    if format == "xlsx":
        output.write_bytes(to_xlsx(report))
        err.print(f"written {output}")
        return
    data = json.dumps(report, ensure_ascii=False, indent=1) if format == "json" else to_csv(report)
    if output:
        output.write_text(data, encoding="utf-8")
        err.print(f"written {output}")
    else:
        print(data)


@app.command()
def stats(
    start: Annotated[str, typer.Option(help="ISO 8601 or a date (local midnight)")],
    end: Annotated[str, typer.Option(help="ISO 8601 or a date, exclusive")],
    group_by: Annotated[
        str, typer.Option(help="none, street, community, grid, unit, category, major or source")
    ] = "none",
    format: Annotated[str, typer.Option(help="json, csv or xlsx")] = "json",
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="file (xlsx needs one)")
    ] = None,
) -> None:
    """KPIs for a period (reference/kpis.md): the same numbers as the API and the pages."""
    from civicgrid.kit.timefmt import parse_time
    from civicgrid.stats import export
    from civicgrid.stats import service as stats_service

    _check_table_format(format, output)
    report = run(
        lambda s: stats_service.kpis(
            s, start=parse_time(start, "start"), end=parse_time(end, "end"), group_by=group_by
        )
    )
    _write_table(report, format, output, export.to_csv, export.to_xlsx)


@app.command()
def assessment(
    subject: Annotated[str, typer.Option(help="region, department or post")],
    start: Annotated[str, typer.Option(help="ISO 8601 or a date (local midnight)")],
    end: Annotated[str, typer.Option(help="ISO 8601 or a date, exclusive")],
    level: Annotated[str | None, typer.Option(help="region: street, community or grid")] = None,
    post: Annotated[
        str | None, typer.Option(help="post: supervisor, operator or dispatcher")
    ] = None,
    format: Annotated[str, typer.Option(help="json, csv or xlsx")] = "json",
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="file (xlsx needs one)")
    ] = None,
) -> None:
    """Assessment by subject (reference/assessment.md): the same table as the API."""
    from civicgrid.kit.timefmt import parse_time
    from civicgrid.stats import assessment as assessment_mod
    from civicgrid.stats import export

    _check_table_format(format, output)
    report = run(
        lambda s: assessment_mod.assessment(
            s,
            subject=subject,
            level=level,
            post=post,
            start=parse_time(start, "start"),
            end=parse_time(end, "end"),
        )
    )
    _write_table(report, format, output, export.assessment_csv, export.assessment_xlsx)


# --- cases -----------------------------------------------------------------------------------


@app.command()
def deadline(
    start: Annotated[str, typer.Option(help="ISO 8601 start; without an offset: local time")],
    limit: Annotated[float, typer.Option(help="the time limit")],
    unit: Annotated[
        str, typer.Option(help="working_hours, natural_hours or working_days")
    ] = "working_hours",
) -> None:
    """Print the deadline, ISO 8601 with its offset, by the working calendar."""
    from civicgrid.cases.calendar import WorkCalendar
    from civicgrid.config import get_settings
    from civicgrid.kit.timefmt import iso_local, parse_time

    try:
        begin = parse_time(start, "--start")
    except AppError as exc:
        fail(exc.detail, 2)
    if not 0 < limit <= 10_000:
        fail("--limit 应大于 0 且不超过 10000 / must be more than 0 and at most 10000", 2)
    result = run(lambda s: WorkCalendar.load(s, get_settings()).add(begin, limit, unit))
    print(iso_local(result.at))
    if result.calendar_missing:
        err.print(
            "[yellow]calendar_missing: 该年份没有节假日安排, 按周一至周五计算 / "
            "a year on the way has no holiday calendar; weekdays were assumed[/yellow]"
        )


@app.command("import-cases")
def import_cases(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="JSON Lines file")],
    skip_invalid: Annotated[
        bool, typer.Option(help="import the valid lines, list the rest")
    ] = False,
    replace: Annotated[bool, typer.Option(help="replace cases whose code exists")] = False,
) -> None:
    """Import case histories (JSON Lines): the whole file is checked first, then imported at
    once or not at all (with --skip-invalid: its valid lines). See cases/history.py."""
    from rich.progress import Progress

    from civicgrid.cases import history
    from civicgrid.kit.db import write_wait

    try:
        with (
            write_wait(CLI_WRITE_WAIT_SECONDS),
            file.open(encoding="utf-8-sig") as f,
            Progress(console=err, transient=True) as bar,
        ):
            task = bar.add_task("importing", total=None)
            report = history.import_lines(
                f,
                skip_invalid=skip_invalid,
                replace=replace,
                progress=lambda done, total: bar.update(task, completed=done, total=total),
            )
    except AppError as exc:
        fail_with(exc)
    for problem in report.skipped:
        err.print(f"  skipped {problem}")
    console.print(
        f"imported {report.imported} cases"
        + (f" ({report.replaced} replaced)" if report.replaced else "")
        + (f", skipped {len(report.skipped)} invalid lines" if report.skipped else "")
    )


@app.command("export-cases")
def export_cases(
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="file; stdout if omitted")
    ] = None,
) -> None:
    """Export every case history as JSON Lines (the import format)."""
    from civicgrid.cases import history

    def work(session):
        out = output.open("w", encoding="utf-8") if output else sys.stdout
        n = 0
        try:
            for line in history.export_lines(session):
                out.write(line + "\n")
                n += 1
        finally:
            if output:
                out.close()
        return n

    n = run(work, read_only=True)  # reads only: writers go on meanwhile
    err.print(f"exported {n} cases")


@app.command("verify-cases")
def verify_cases() -> None:
    """Recompute every case from its events and list the cases whose row has drifted."""
    from civicgrid.cases import history

    drifted = run(lambda s: list(history.verify(s)), read_only=True)
    for code, diff in drifted:
        console.print(
            f"{code}: " + "; ".join(f"{k} row={a!r} events={b!r}" for k, (a, b) in diff.items())
        )
    if drifted:
        fail(f"{len(drifted)} case(s) drifted from their events")
    console.print("every case matches its events")


@app.command()
def backup(
    dest: Annotated[
        Path,
        typer.Argument(help="the archive file to write (NAME.tar), or a directory to write it in"),
    ],
    copy_objects: Annotated[
        bool,
        typer.Option(
            "--copy-objects",
            help="with an S3 photo store: copy the objects into the archive "
            "(without it, only an inventory of their keys)",
        ),
    ] = False,
) -> None:
    """Write one archive (tar) of the database and its photos, with a manifest (schema
    revision, row counts, checksums); safe while the server runs. SQLite: the online backup
    API; PostgreSQL: pg_dump in custom format (Debian's postgresql-client)."""
    from civicgrid.ops import backup as backups

    try:
        report = backups.backup(_settings(), dest, copy_objects=copy_objects)
    except AppError as exc:
        fail_with(exc)
    cases = report.counts.get("cases", 0)
    console.print(
        f"backup written: {report.path} ({report.size / 1e6:.1f} MB, {report.seconds:.1f} s)"
    )
    console.print(
        f"{report.engine} schema {report.revision}, {cases} cases, {report.photos} photo files "
        + ("copied" if report.photos_copied else "listed (inventory; objects not copied)")
    )
    if report.missing_photos:
        for key in report.missing_photos[:20]:
            err.print(f"  missing in the store: {key}")
        fail(f"{len(report.missing_photos)} photo file(s) referred to are missing in the store")


@app.command()
def restore(
    archive: Annotated[Path, typer.Argument(help="an archive written by civicgrid backup")],
    force: Annotated[
        bool, typer.Option("--force", help="overwrite a database that holds data")
    ] = False,
) -> None:
    """Restore an archive into the database and photo store the settings name (stop the
    servers first), migrate it to the newest schema, then check every case against its
    events (as verify-cases) and every photo against the store. Exits 1 when a check fails."""
    from civicgrid.ops import backup as backups

    _show_migration_progress()
    try:
        report = backups.restore(_settings(), archive, force=force)
    except AppError as exc:
        fail_with(exc)
    console.print(
        f"restored {report.counts.get('cases', 0)} cases and {report.photos_restored} photo "
        f"files in {report.seconds:.1f} s; schema {report.revision_from} -> {report.revision_to}"
    )
    for table, (want, got) in report.count_mismatches.items():
        err.print(f"  {table}: {got} rows, the manifest says {want}")
    for code, diff in report.drifted[:50]:
        err.print(
            f"  {code}: " + "; ".join(f"{k} row={a!r} events={b!r}" for k, (a, b) in diff.items())
        )
    for problem in report.photo_problems[:50]:
        err.print(f"  {problem}")
    if not report.ok:
        fail(
            f"恢复后检查未通过 / the restored data failed its checks: "
            f"{len(report.count_mismatches)} table count(s), {len(report.drifted)} case(s) "
            f"drifted, {len(report.photo_problems)} photo problem(s)"
        )
    console.print(f"every case matches its events; {report.photos_checked} photos checked")


@rules_app.command("list")
def rules_list() -> None:
    """List dispatch rules."""
    from civicgrid.cases import routing

    def show(session):
        table = Table("id", "match", "target", "unit", "priority", "note")
        for r in routing.list_rules(session):
            table.add_row(str(r.id), r.match, r.target, r.unit_code or "", str(r.priority), r.note)
        console.print(table)

    run(show)


@rules_app.command("add")
def rules_add(
    match: Annotated[str, typer.Argument(help="5-digit category, 2-digit major class or *")],
    target: Annotated[str, typer.Argument(help="street, community, unit or department")],
    unit: Annotated[str | None, typer.Option(help="unit code for target unit")] = None,
    priority: Annotated[int, typer.Option(help="lower wins among equal matches")] = 100,
    note: str = "",
) -> None:
    """Add a dispatch rule."""
    from civicgrid.cases import routing

    rule = run(
        lambda s: routing.add_rule(
            s, match=match, target=target, unit_code=unit, priority=priority, note=note
        )
    )
    console.print(f"rule {rule.id} added")


@rules_app.command("delete")
def rules_delete(rule_id: int) -> None:
    """Delete a dispatch rule."""
    from civicgrid.cases import routing

    run(lambda s: routing.delete_rule(s, rule_id))
    console.print(f"rule {rule_id} deleted")


@calendar_app.command("day")
def calendar_day(
    day: Annotated[str, typer.Argument(help="YYYY-MM-DD")],
    work: Annotated[bool, typer.Option("--work/--off", help="a working day or a day off")],
    note: str = "",
) -> None:
    """Mark a day as a working day or a day off (overrides chinese-calendar)."""
    import datetime as dt

    from civicgrid.cases import admin

    try:
        date = dt.date.fromisoformat(day)
    except ValueError:
        fail(f"{day!r} 不是日期 YYYY-MM-DD / is not a date", 2)
    run(lambda s: admin.set_day(s, day=date, is_workday=work, note=note))
    console.print(f"{day}: {'working day' if work else 'day off'}")


@calendar_app.command("year")
def calendar_year(year: int, note: str = "") -> None:
    """Declare a year entered (after its days off and adjusted working days are set)."""
    from civicgrid.cases import admin

    run(lambda s: admin.enter_year(s, year=year, note=note))
    console.print(f"{year} entered")


@calendar_app.command("list")
def calendar_list() -> None:
    """List the administrators' calendar entries."""
    from civicgrid.cases import admin

    entries = run(admin.calendar_entries)
    console.print_json(data=entries)


# --- open311 and citizens ------------------------------------------------------------------


@apikey_app.command("add")
def apikey_add(name: Annotated[str, typer.Argument(help="the client application's name")]) -> None:
    """Issue an Open311 api_key (printed once)."""
    from civicgrid.open311 import service as o311

    key, plain = run(lambda s: o311.add_key(s, name))
    console.print(f"api key {key.id} for {name}: {plain}")


@apikey_app.command("list")
def apikey_list() -> None:
    """List api keys (not their text)."""
    from civicgrid.open311 import service as o311

    def show(session):
        table = Table("id", "name", "created", "revoked")
        for k in o311.list_keys(session):
            table.add_row(
                str(k.id),
                k.name,
                k.created_at.isoformat(timespec="seconds"),
                k.revoked_at.isoformat(timespec="seconds") if k.revoked_at else "",
            )
        console.print(table)

    run(show)


@apikey_app.command("revoke")
def apikey_revoke(key_id: int) -> None:
    """Revoke an api key: its requests are refused from now on."""
    from civicgrid.open311 import service as o311

    if run(lambda s: o311.revoke_key(s, key_id)) is None:
        fail(f"没有编号为 {key_id} 的密钥 / no api key {key_id}")
    console.print(f"api key {key_id} revoked")


@citizen_app.command("export")
def citizen_export(phone: Annotated[str, typer.Option(help="the citizen's phone number")]) -> None:
    """Print, as JSON, everything kept about the reporter with this phone number."""
    from civicgrid.citizen import service as citizen_service

    print(
        json.dumps(
            run(lambda s: citizen_service.personal_data(s, phone)), ensure_ascii=False, indent=1
        )
    )


@citizen_app.command("erase")
def citizen_erase(
    phone: Annotated[str, typer.Option(help="the citizen's phone number")],
    yes: Annotated[bool, typer.Option("--yes", help="do not ask")] = False,
) -> None:
    """Erase the reporter's name, phone and e-mail from their cases (the cases stay)."""
    from civicgrid.citizen import service as citizen_service

    if not yes and not typer.confirm(f"erase the personal data of {phone}?"):
        raise typer.Exit(1)
    n = run(lambda s: citizen_service.erase(s, phone))
    console.print(f"erased the contact of {n} case(s)")


# Commands of their own modules, registered on `app` when imported (after run() and the rest
# they use are defined above).
from civicgrid import cli_spotchecks, cli_vehicles  # noqa: E402, F401


def main() -> None:  # pragma: no cover
    sys.exit(app())
