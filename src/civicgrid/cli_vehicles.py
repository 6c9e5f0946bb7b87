"""`civicgrid vehicles …` (the fleet registry) and `civicgrid gps-gateway` (JT/T 808)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from civicgrid.cli import app, console, fail, run

vehicles_app = typer.Typer(
    help="Vehicle tracks 车辆轨迹: types, vehicles, trackers, xlsx import.", no_args_is_help=True
)
app.add_typer(vehicles_app, name="vehicles")


@vehicles_app.command("types")
def types_list() -> None:
    """List the vehicle types and their work speed ranges (min, max] km/h."""
    from civicgrid.vehicles import service

    def show(session):
        table = Table("code", "name 名称", "work speed km/h 作业速度")
        for kind in service.vehicle_types(session):
            high = "—" if kind.work_speed_max is None else f"{kind.work_speed_max:g}"
            table.add_row(kind.code, kind.name, f"({kind.work_speed_min:g}, {high}]")
        console.print(table)

    run(show, read_only=True)


@vehicles_app.command("type-set")
def type_set(
    code: Annotated[str, typer.Argument(help="type code, e.g. sweeper")],
    name: Annotated[str | None, typer.Option(help="name, e.g. 清扫车")] = None,
    work_min: Annotated[
        float | None, typer.Option(help="work speed lower bound (exclusive)")
    ] = None,
    work_max: Annotated[float | None, typer.Option(help="work speed upper bound, km/h")] = None,
) -> None:
    """Create a vehicle type or change its name or work speed range."""
    from civicgrid.vehicles import service

    kind = run(
        lambda s: service.save_type(
            s, code=code, name=name, work_speed_min=work_min, work_speed_max=work_max
        )
    )
    console.print(f"saved type {kind.code} {kind.name}")


@vehicles_app.command("add")
def add(
    plate: Annotated[str, typer.Argument(help="plate 车牌号, e.g. 黑A12345")],
    type_code: Annotated[str, typer.Option("--type", help="vehicle type code")],
    unit: Annotated[str, typer.Option(help="owning org unit code")],
    capacity: Annotated[float | None, typer.Option(help="capacity m³ (haulers)")] = None,
    terminal: Annotated[str | None, typer.Option(help="tracker's terminal id")] = None,
    protocol: Annotated[str, typer.Option(help="jt808, osmand or http")] = "jt808",
) -> None:
    """Register a vehicle, and its tracker when --terminal is given."""
    from civicgrid.vehicles import service

    def add_one(session):
        vehicle = service.create_vehicle(
            session, plate=plate, type_code=type_code, unit_code=unit, capacity_m3=capacity
        )
        made = None
        if terminal:
            made = service.create_tracker(
                session, terminal_id=terminal, protocol=protocol, vehicle_id=vehicle.id
            )
        return vehicle.id, vehicle.plate, made and (made.tracker.terminal_id, made.token)

    vehicle_id, shown, made = run(add_one)
    console.print(f"vehicle {vehicle_id} {shown}")
    if made:
        console.print(f"tracker {made[0]}" + (f" token {made[1]} (shown once)" if made[1] else ""))


@vehicles_app.command("list")
def list_vehicles(
    unit: Annotated[str | None, typer.Option(help="only this unit's")] = None,
    type_code: Annotated[str | None, typer.Option("--type", help="only this type")] = None,
) -> None:
    """List the fleet by plate."""
    from civicgrid.vehicles import service

    def show(session):
        found = service.vehicles(session, unit_code=unit, type_code=type_code)
        units = service.unit_codes_by_id(session, {v.org_unit_id for v in found})
        table = Table("id", "plate 车牌", "type 类型", "unit 单位", "m³", "active")
        for v in found:
            table.add_row(
                str(v.id),
                v.plate,
                v.type.name,
                units[v.org_unit_id][1],
                "" if v.capacity_m3 is None else f"{v.capacity_m3:g}",
                "yes" if v.active else "no",
            )
        console.print(table)

    run(show, read_only=True)


@vehicles_app.command("tracker-add")
def tracker_add(
    terminal: Annotated[str, typer.Argument(help="terminal id (JT/T 808: its phone number)")],
    protocol: Annotated[str, typer.Option(help="jt808, osmand or http")] = "jt808",
    plate: Annotated[str | None, typer.Option(help="the vehicle it is in")] = None,
    person: Annotated[
        int | None, typer.Option(help="or the person (directory id) carrying it")
    ] = None,
) -> None:
    """Register a tracker on a vehicle (--plate) or carried by a person (--person)."""
    from civicgrid.vehicles import service

    def add_one(session):
        vehicle_id = service.vehicle_by_plate(session, plate).id if plate else None
        made = service.create_tracker(
            session,
            terminal_id=terminal,
            protocol=protocol,
            vehicle_id=vehicle_id,
            person_id=person,
        )
        return made.tracker.terminal_id, made.token

    terminal_id, token = run(add_one)
    console.print(f"tracker {terminal_id}" + (f" token {token} (shown once)" if token else ""))


@vehicles_app.command("trackers")
def trackers_list() -> None:
    """List the trackers with their vehicle or person and last fix."""
    from civicgrid.vehicles import service

    def show(session):
        table = Table("terminal 终端", "protocol", "vehicle 车辆", "person", "last fix", "active")
        for t in service.trackers(session):
            table.add_row(
                t.terminal_id,
                t.protocol,
                t.vehicle.plate if t.vehicle else "",
                str(t.person_id or ""),
                t.last_fix_time.isoformat() if t.last_fix_time else "",
                "yes" if t.active else "no",
            )
        console.print(table)

    run(show, read_only=True)


@vehicles_app.command("import")
def import_file(
    path: Annotated[Path, typer.Argument(help="an xlsx workbook (车牌号 车辆类型 单位编码 …)")],
) -> None:
    """Import vehicles (and trackers) from xlsx, all or nothing: any bad row refuses the file,
    each problem listed by its row number."""
    from civicgrid.vehicles import service

    if not path.is_file():
        fail(f"找不到文件 / no such file: {path}")
    result = run(lambda s: service.import_xlsx(s, path.read_bytes()))
    console.print(f"imported {result.vehicles} vehicle(s), {result.trackers} tracker(s)")
    for terminal, token in result.tokens.items():
        console.print(f"tracker {terminal} token {token} (shown once)")


@vehicles_app.command("template")
def template(path: Annotated[Path, typer.Argument(help="where to write the xlsx")]) -> None:
    """Write an empty import workbook with its header and an example row."""
    from civicgrid.vehicles import service

    path.write_bytes(service.import_template())
    console.print(f"wrote {path}")


@app.command("gps-gateway")
def gps_gateway(
    port: Annotated[int, typer.Option(help="TCP port to listen on")] = 6808,
    host: Annotated[str, typer.Option(help="address to listen on")] = "0.0.0.0",
) -> None:
    """Run the JT/T 808 gateway: vehicle terminals connect over TCP, register, authenticate
    and send positions (0x0200, 0x0704), each answered (0x8001, 0x8100) once stored. Unknown
    terminals are refused unless CIVICGRID_GPS_AUTO_REGISTER is on."""
    import asyncio

    from civicgrid.vehicles import gateway

    console.print(f"JT/T 808 gateway on {host}:{port}")
    try:
        asyncio.run(gateway.serve(host, port))
    except KeyboardInterrupt:
        pass
    except OSError as exc:
        fail(f"无法监听 / cannot listen on {host}:{port}: {exc}")


@app.command("gps-simulate")
def gps_simulate(
    day: Annotated[str, typer.Option(help="the local day to simulate, 2026-11-29")],
    host: Annotated[str | None, typer.Option(help="a running gateway's host")] = None,
    port: Annotated[int | None, typer.Option(help="its port (none: an in-process gateway)")] = None,
    lon: Annotated[float, typer.Option(help="where the vehicles start (depot)")] = 126.70,
    lat: Annotated[float, typer.Option(help="where the vehicles start (depot)")] = 45.72,
) -> None:
    """Simulate a working day of every vehicle with a JT/T 808 terminal and send it through
    the gateway over TCP (register, auth, 0x0704 batches), as the terminals would: the demo's
    tracks come in by the real path, never written as rows."""
    import datetime as dt

    from civicgrid.kit.timefmt import check_year
    from civicgrid.vehicles import service, simulate

    try:
        when = dt.date.fromisoformat(day)
        check_year(when, "day")
    except ValueError:
        fail(f"day 应为日期 / day must be a date: {day}")
    trackers = run(
        lambda s: [
            (t.terminal_id, t.vehicle.plate, t.vehicle.type.work_speed_max or 30.0)
            for t in service.trackers(s)
            if t.protocol == "jt808" and t.active and t.vehicle is not None
        ],
        read_only=True,
    )

    def send_all(host: str, port: int) -> int:
        total = 0
        for terminal, plate, speed in trackers:
            fixes = simulate.day_of(terminal, when, (lon, lat), min(speed * 0.75, 40.0))
            total += simulate.send_day(host, port, terminal, plate, fixes)
        return total

    if port is None:  # an in-process gateway on a free port, for this run
        with simulate.in_process_gateway() as (local_host, local_port):
            total = send_all(local_host, local_port)
    else:
        total = send_all(host or "127.0.0.1", port)
    console.print(f"sent {total} fixes of {len(trackers)} vehicle(s) for {when.isoformat()}")
