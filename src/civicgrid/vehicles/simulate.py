"""Simulated fleet days (`civicgrid gps-simulate`): a vehicle's working day made up from a seed,
sent as a JT/T 808 terminal would send it — over TCP to the gateway (register, auth, then
0x0704 batches) — so that the demo's tracks come in by the real path, never as rows."""

from __future__ import annotations

import asyncio
import datetime as dt
import math
import random
import socket
import struct
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from civicgrid.kit.timefmt import local_zone
from civicgrid.vehicles import gateway, jt808
from civicgrid.vehicles.geodesy import EARTH_RADIUS_M, distance_m

FIX_EVERY_S = 30
ITEMS_PER_BATCH = 25  # 25 × 34 bytes stays under the 1,023-byte body


@dataclass
class SimFix:
    time: dt.datetime
    lon: float
    lat: float
    speed: float  # km/h
    direction: int


def day_of(seed: str, day: dt.date, start: tuple[float, float], work_speed: float) -> list[SimFix]:
    """A day: parked at `start` until about 07:00, then legs at `work_speed` (km/h) with
    stops of 5–20 min between, back by about 17:00, parked to 18:00. Deterministic per seed."""
    rng = random.Random(f"{seed}:{day.isoformat()}")
    zone = local_zone()
    t = dt.datetime.combine(day, dt.time(6, 30), tzinfo=zone)
    leave = t + dt.timedelta(minutes=30 + rng.randint(0, 30))
    home = dt.datetime.combine(day, dt.time(16, 30), tzinfo=zone)
    lon, lat = start
    out: list[SimFix] = []
    step = dt.timedelta(seconds=FIX_EVERY_S)
    while t < leave:
        out.append(SimFix(t, lon, lat, 0.0, 0))
        t += step
    heading = rng.uniform(0, 360)
    while t < home:
        # a leg of 5–25 minutes, then a stop
        for _ in range(rng.randint(10, 50)):
            metres = work_speed / 3.6 * FIX_EVERY_S
            lat += math.degrees(metres * math.cos(math.radians(heading)) / EARTH_RADIUS_M)
            lon += math.degrees(
                metres
                * math.sin(math.radians(heading))
                / (EARTH_RADIUS_M * math.cos(math.radians(lat)))
            )
            out.append(SimFix(t, lon, lat, work_speed, round(heading) % 360))
            t += step
        for _ in range(rng.randint(10, 40)):
            out.append(SimFix(t, lon, lat, 0.0, round(heading) % 360))
            t += step
        heading = (heading + rng.choice((-90, 90, 180))) % 360
    end = dt.datetime.combine(day, dt.time(18, 0), tzinfo=zone)
    while t < end:
        out.append(SimFix(t, lon, lat, 0.0, 0))
        t += step
    return out


@dataclass(frozen=True)
class Leg:
    """Drive to (lon, lat) in a straight line at `speed` km/h, then stay `dwell` seconds."""

    lon: float
    lat: float
    speed: float
    dwell: int = 0


def route_day(
    seed: str,
    day: dt.date,
    depot: tuple[float, float],
    legs: list[Leg],
    *,
    transit_kmh: float = 25.0,
    start: dt.time = dt.time(6, 30),
) -> list[SimFix]:
    """A day along a route: parked at the depot from 00:00 until 20–50 minutes after `start`
    (about 07:00 by default), then the legs over and over
    (a sweeper up and down its roads, a garbage truck from point to point) until about 16:30,
    back to the depot at `transit_kmh`, parked to 18:00. Deterministic per seed."""
    rng = random.Random(f"{seed}:{day.isoformat()}")
    zone = local_zone()
    step = dt.timedelta(seconds=FIX_EVERY_S)
    t = dt.datetime.combine(day, start, tzinfo=zone)
    leave = t + dt.timedelta(minutes=20 + rng.randint(0, 30))
    home = dt.datetime.combine(day, dt.time(16, 30), tzinfo=zone)
    end = dt.datetime.combine(day, dt.time(18, 0), tzinfo=zone)
    out: list[SimFix] = []
    here = depot

    def park(until: dt.datetime, heading: int) -> None:
        nonlocal t
        while t < until:
            out.append(SimFix(t, here[0], here[1], 0.0, heading))
            t += step

    def drive(to: tuple[float, float], speed: float) -> int:
        nonlocal t, here
        metres = distance_m(here[1], here[0], to[1], to[0])
        heading = round(_bearing(here, to)) % 360
        steps = max(1, math.ceil(metres / (speed / 3.6 * FIX_EVERY_S)))
        start = here
        for k in range(1, steps + 1):
            here = (
                start[0] + (to[0] - start[0]) * k / steps,
                start[1] + (to[1] - start[1]) * k / steps,
            )
            out.append(SimFix(t, here[0], here[1], speed, heading))
            t += step
        return heading

    park(leave, 0)
    heading = 0
    while t < home and legs:
        for leg in legs:
            heading = drive((leg.lon, leg.lat), leg.speed)
            park(t + dt.timedelta(seconds=leg.dwell), heading)
            if t >= home:
                break
    drive(depot, transit_kmh)
    park(end, 0)
    return out


def _bearing(a: tuple[float, float], b: tuple[float, float]) -> float:
    east = (b[0] - a[0]) * math.cos(math.radians((a[1] + b[1]) / 2))
    return math.degrees(math.atan2(east, b[1] - a[1])) % 360


def location_body(fix: SimFix) -> bytes:
    status = jt808.STATUS_VALID | 1  # ACC on, positioned
    local = fix.time.astimezone(jt808.TERMINAL_TZ)
    when = bytes.fromhex(local.strftime("%y%m%d%H%M%S"))
    return (
        struct.pack(
            ">IIIIhHH",
            0,
            status,
            round(abs(fix.lat) * 1e6),
            round(abs(fix.lon) * 1e6),
            150,
            round(fix.speed * 10),
            fix.direction,
        )
        + when
    )


class Terminal:
    """A JT/T 808 terminal over TCP (2013 header)."""

    def __init__(self, host: str, port: int, phone: str):
        self.sock = socket.create_connection((host, port), timeout=30)
        self.phone = phone
        self.serial = 0
        self.splitter = jt808.Splitter()
        self.pending: list[bytes] = []

    def request(self, msg_id: int, body: bytes) -> jt808.Message:
        self.serial = (self.serial + 1) & 0xFFFF
        self.sock.sendall(jt808.build(msg_id, self.phone, self.serial, body))
        while not self.pending:
            data = self.sock.recv(4096)
            if not data:
                raise ConnectionError("the gateway closed the connection")
            self.pending += self.splitter.feed(data)
        return jt808.parse(self.pending.pop(0))

    def close(self) -> None:
        self.sock.close()


def send_day(host: str, port: int, phone: str, plate: str, fixes: list[SimFix]) -> int:
    """Register, authenticate and send the fixes in 0x0704 batches; the fixes acknowledged."""
    terminal = Terminal(host, port, phone)
    try:
        body = b"\x00\x00\x00\x00" + b"CGSIM" + b"civicgrid-sim".ljust(20, b"\x00")
        body += phone[-7:].encode() + b"\x01" + plate.encode("gbk")
        reply = terminal.request(jt808.REGISTER, body)
        if reply.body[2] != jt808.REG_OK:
            raise ConnectionError(f"terminal {phone} refused (0x8100 result {reply.body[2]})")
        code = reply.body[3:]
        if terminal.request(jt808.AUTH, code).body[-1] != jt808.OK:
            raise ConnectionError(f"terminal {phone}: authentication refused")
        sent = 0
        for k in range(0, len(fixes), ITEMS_PER_BATCH):
            items = [location_body(f) for f in fixes[k : k + ITEMS_PER_BATCH]]
            batch = struct.pack(">HB", len(items), 0)
            batch += b"".join(struct.pack(">H", len(i)) + i for i in items)
            if terminal.request(jt808.BATCH, batch).body[-1] == jt808.OK:
                sent += len(items)
        terminal.request(jt808.LOGOUT, b"")
        return sent
    finally:
        terminal.close()


@contextmanager
def in_process_gateway() -> Iterator[tuple[str, int]]:
    """The JT/T 808 gateway on a free port of 127.0.0.1, in a thread, for as long as the block
    runs (`gps-simulate` without a port, and the demo's fleet)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    loop = asyncio.new_event_loop()
    server = loop.run_until_complete(gateway.start("127.0.0.1", port))
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        yield "127.0.0.1", port
    finally:
        asyncio.run_coroutine_threadsafe(gateway.shutdown(server), loop).result(30)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(30)
        loop.close()
