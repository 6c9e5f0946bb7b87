"""`civicgrid spotcheck …`: draws anyone can verify (shared/reference/spotcheck-draw.md)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from civicgrid.cli import app, err, run

spotcheck_app = typer.Typer(
    help="Spot checks 抽查: draws anyone can re-run (civicgrid-draw-v1).", no_args_is_help=True
)
app.add_typer(spotcheck_app, name="spotcheck")


def _refuse(exc) -> None:
    err.print(f"[red]{exc.zh} / {exc.en}[/red]", soft_wrap=True)
    raise typer.Exit(2)


def _db_workdays(days):
    """Working days by the project's working calendar (with the administrators' entries) when
    the database answers, else by the holiday package alone (said on stderr)."""
    from civicgrid.cases.calendar import WorkCalendar
    from civicgrid.config import get_settings

    settings = get_settings()
    try:
        calendar = run(lambda s: WorkCalendar.load(s, settings), read_only=True)
    except Exception:  # noqa: BLE001 - no database here: the package's calendar
        calendar = None
    if calendar is None:
        from zoneinfo import ZoneInfo

        from civicgrid.cases.calendar import parse_periods

        err.print(
            "note: no database; working days from the holiday calendar package only "
            "(give --slots to be sure)"
        )
        calendar = WorkCalendar(parse_periods(settings.work_periods), ZoneInfo(settings.timezone))
    return {d: calendar.is_workday(d)[0] for d in days}


@spotcheck_app.command("draw")
def draw_command(
    plan: Annotated[
        str, typer.Argument(help="the plan: a JSON file (id, strata), or a stored plan's code")
    ],
    period: Annotated[str, typer.Argument(help="YYYY-Www (ISO week) or YYYY-MM")],
    seed: Annotated[str, typer.Option(help="the seed: 64 lowercase hex characters")],
    slots: Annotated[
        str | None,
        typer.Option(help="the check windows in order, e.g. 2026-11-23/AM,2026-11-23/PM"),
    ] = None,
    commitment: Annotated[
        str | None,
        typer.Option(help="the published commitment: refuse (exit 3) unless SHA-256(seed) is it"),
    ] = None,
) -> None:
    """Re-run a draw: prints `commitment <hex>`, then `stratum code slot key` per drawn item.
    Without --slots the period's slots are its working days × AM, PM (working calendar)."""
    from civicgrid.spotchecks import draw

    try:
        path = Path(plan)
        if path.is_file():
            the_plan = draw.load_plan_text(path.read_text(encoding="utf-8"))
        else:
            the_plan = _stored_plan(plan)
        if slots is not None:
            the_slots = draw.parse_slots(slots)
        else:
            days = draw.period_days(period)
            workdays = _db_workdays(days)
            the_slots = draw.period_slots(period, lambda d: workdays[d])
        out = draw.render(seed, draw.draw(the_plan, period, seed, the_slots))
    except draw.DrawError as exc:
        _refuse(exc)
    if commitment is not None and draw.commitment(seed) != commitment.strip().lower():
        err.print(
            "[red]种子与公布的承诺值不符 / SHA-256(seed) is not the published commitment[/red]"
        )
        raise typer.Exit(3)
    sys.stdout.write(out)


def _stored_plan(code: str):
    from civicgrid.spotchecks import draw, service

    found = run(lambda s: service.plan_for_draw(s, code), read_only=True)
    if found is None:
        raise draw.DrawError(
            f"{code} 既不是计划文件也不是已存的计划",
            f"{code} is neither a plan file nor a stored plan",
        )
    return found


@spotcheck_app.command("plan-file")
def plan_file(
    code: Annotated[str, typer.Argument(help="a stored plan's code")],
    out: Annotated[
        Path | None, typer.Option(help="write the plan file here (default: stdout)")
    ] = None,
) -> None:
    """A stored plan as the draw's plan file (id, strata), with its period, slots, commitment
    and, once the period has ended, its seed on stderr: what an outside check re-runs."""
    import json

    from civicgrid.spotchecks import service

    def read(session):
        plan = service.get_plan(session, code)
        return service.public_plan(plan)

    shown = run(read, read_only=True)
    text = json.dumps({"id": shown["code"], "strata": shown["strata"]}, ensure_ascii=False)
    if out is None:
        sys.stdout.write(text + "\n")
    else:
        out.write_text(text + "\n", encoding="utf-8")
    err.print(f"period {shown['period']}", soft_wrap=True)
    err.print(f"slots {','.join(shown['slots'])}", soft_wrap=True)
    err.print(f"commitment {shown['commitment']}", soft_wrap=True)
    err.print(f"seed {shown['seed'] or '(published after the period)'}", soft_wrap=True)
