"""The `civicgrid` command."""

from __future__ import annotations

import getpass
import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from civicgrid.errors import AppError

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
app.add_typer(user_app, name="user")
app.add_typer(categories_app, name="categories")
app.add_typer(limits_app, name="limits")

console = Console()
err = Console(stderr=True)


def fail(message: str, code: int = 1) -> None:
    err.print(f"[red]{message}[/red]")
    raise typer.Exit(code)


def run(fn):
    """Run fn(session) in one transaction; an AppError becomes a clear message and exit 1."""
    from civicgrid.db import session_scope

    try:
        with session_scope() as session:
            return fn(session)
    except AppError as exc:
        problems = exc.extra.get("problems")
        if problems:
            for p in problems:
                err.print(
                    f"  {p}"
                    if isinstance(p, str)
                    else f"  #{p.get('index')} {p.get('code') or ''}: {p.get('reason')}"
                )
        fail(exc.detail)


@app.command()
def init() -> None:
    """Create or migrate the database, and load the category catalogue and time limits if empty."""
    from civicgrid import migrate
    from civicgrid.categories import service as cat_service
    from civicgrid.db import get_engine

    engine = get_engine()
    migrate.upgrade(engine)

    def seed(session):
        if not cat_service.list_categories(session):
            n = cat_service.import_categories(session, cat_service.packaged_csv("categories.csv"))
            console.print(f"loaded {n} categories")
        if not cat_service.list_limits(session):
            n = cat_service.import_limits(session, cat_service.packaged_csv("time-limits.csv"))
            console.print(f"loaded {n} time limits")

    run(seed)
    console.print(f"database ready: {engine.url.render_as_string(hide_password=True)}")


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port")] = 8000,
    workers: Annotated[int, typer.Option(help="worker processes")] = 1,
    reload: Annotated[bool, typer.Option(help="reload on code change (development)")] = False,
) -> None:
    """Serve the web application and the API."""
    import uvicorn

    uvicorn.run(
        "civicgrid.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        reload=reload,
        log_level="info",
    )


@app.command()
def demo(
    cases: Annotated[int, typer.Option(help="how many demo cases to create")] = 1500,
) -> None:
    """Load the Xiangfang District demo (idempotent: a second run changes nothing)."""
    from civicgrid import demo as demo_mod

    try:
        demo_mod.load(console, cases=cases)
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


def main() -> None:  # pragma: no cover
    sys.exit(app())
