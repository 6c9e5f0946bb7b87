"""The JT/T 808 gateway over real TCP: a simulated terminal registers, authenticates, sends
locations and a backfill batch; replies are compared byte for byte and fixes read back."""

import asyncio
import datetime as dt
import socket
import struct
import threading
from contextlib import contextmanager

import pytest
from sqlalchemy import select

from civicgrid.vehicles import gateway, jt808, service
from civicgrid.vehicles.models import Fix, Tracker
from tests.conftest import free_port
from tests.factories import STREET_A, small_geography

PHONE = "013912345678"


@contextmanager
def running_gateway():
    port = free_port()
    loop = asyncio.new_event_loop()
    started = threading.Event()
    holder = {}

    async def main():
        holder["server"] = await gateway.start("127.0.0.1", port)
        holder["stop"] = asyncio.Event()
        started.set()
        await holder["stop"].wait()
        await gateway.shutdown(holder["server"])

    thread = threading.Thread(target=loop.run_until_complete, args=(main(),), daemon=True)
    thread.start()
    assert started.wait(10)
    try:
        yield port
    finally:
        loop.call_soon_threadsafe(holder["stop"].set)
        thread.join(10)
        loop.close()


class Terminal:
    """A simulated terminal: sends frames, reads whole replies."""

    def __init__(self, port: int, phone: str = PHONE, version: int | None = None):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.phone, self.version, self.serial = phone, version, 0
        self.splitter = jt808.Splitter()
        self.pending: list[bytes] = []

    def send(self, msg_id: int, body: bytes = b"") -> jt808.Message:
        self.serial += 1
        self.sock.sendall(jt808.build(msg_id, self.phone, self.serial, body, version=self.version))
        return self.reply()

    def reply(self) -> jt808.Message:
        while not self.pending:
            data = self.sock.recv(4096)
            assert data, "the gateway closed the connection"
            self.pending += self.splitter.feed(data)
        return jt808.parse(self.pending.pop(0))

    def raw(self) -> bytes:
        data = self.sock.recv(4096)
        return data

    def close(self):
        self.sock.close()


def location_body(local: str, lat: float, lon: float, speed_kmh: float, alarm: int = 0) -> bytes:
    status = jt808.STATUS_VALID | 1
    t = bytes.fromhex(local)  # YYMMDDhhmmss GMT+8
    body = struct.pack(
        ">IIIIhHH",
        alarm,
        status,
        round(lat * 1e6),
        round(lon * 1e6),
        150,
        round(speed_kmh * 10),
        90,
    )
    return (
        body + t + bytes.fromhex("0104000004d2") + bytes.fromhex("300119") + bytes.fromhex("31010c")
    )


@pytest.fixture()
def fleet(committed):
    with committed() as session:
        small_geography(session)
        vehicle = service.create_vehicle(
            session, plate="黑A12345", type_code="sweeper", unit_code=STREET_A
        )
        service.create_tracker(session, terminal_id=PHONE, protocol="jt808", vehicle_id=vehicle.id)
        session.commit()
    return committed


def fixes(factory):
    with factory() as session:
        return list(session.scalars(select(Fix).order_by(Fix.fix_time)))


def test_register_auth_locate_backfill_and_logout_over_tcp(fleet):
    with running_gateway() as port:
        t = Terminal(port)
        reg = t.send(
            jt808.REGISTER,
            bytes.fromhex("002c012f")
            + b"70111"
            + b"BSJ-A6".ljust(20, b"\0")
            + b"0567872"
            + b"\x01"
            + "黑A12345".encode("gbk"),
        )
        assert reg.msg_id == 0x8100 and reg.serial == 0 and reg.phone == PHONE
        assert reg.body[:3] == struct.pack(">HB", 1, 0)
        code = reg.body[3:].decode()
        assert len(code) == 16
        # a wrong code fails (result 1), the right one passes; serials count from 0
        wrong = t.send(jt808.AUTH, b"nope")
        assert (wrong.serial, wrong.body) == (1, struct.pack(">HHB", 2, 0x0102, 1))
        ok = t.send(jt808.AUTH, code.encode())
        assert ok.body == struct.pack(">HHB", 3, 0x0102, 0)
        beat = t.send(jt808.HEARTBEAT)
        assert beat.body == struct.pack(">HHB", 4, 0x0002, 0)
        # the whole reply, byte for byte, as the standard builds it
        t.serial += 1
        t.sock.sendall(
            jt808.build(
                jt808.LOCATION,
                PHONE,
                t.serial,
                location_body("261129080000", 45.75, 126.65, 6.5, alarm=1),
            )
        )
        got = b""
        while got.count(b"\x7e") < 2:
            got += t.sock.recv(4096)
        head = bytes.fromhex("80010005") + bytes.fromhex(PHONE) + struct.pack(">H", 4)
        body = struct.pack(">HHB", 5, 0x0200, 0)
        check = 0
        for b in head + body:
            check ^= b
        assert got == b"\x7e" + head + body + bytes([check]) + b"\x7e"
        # a backfill batch of two (blind area), then an unknown message id
        items = [
            location_body("261129075900", 45.7490, 126.6490, 5.0),
            location_body("261129075930", 45.7495, 126.6495, 5.5),
        ]
        batch = struct.pack(">HB", 2, 1) + b"".join(struct.pack(">H", len(i)) + i for i in items)
        assert t.send(jt808.BATCH, batch).body[-1] == 0
        assert t.send(0x0900, b"\x01\x02").body[-1] == jt808.NOT_SUPPORTED
        bye = t.send(jt808.LOGOUT)
        assert bye.body[-1] == 0
        assert t.sock.recv(10) == b""  # closed after the logout
        t.close()
    stored = fixes(fleet)
    assert [(f.fix_time.hour, f.fix_time.minute, f.backfill) for f in stored] == [
        (23, 59, True),
        (23, 59, True),
        (0, 0, False),
    ]
    live = stored[-1]
    assert (live.lat, live.lon, live.speed, live.alarm, live.altitude, live.direction) == (
        45.75,
        126.65,
        6.5,
        1,
        150,
        90,
    )
    assert live.mileage == pytest.approx(123.4) and live.valid
    with fleet() as session:
        tracker = session.scalars(select(Tracker)).one()
        assert tracker.last_fix_time == dt.datetime(2026, 11, 29, 0, 0, tzinfo=dt.UTC)


def test_unknown_terminals_are_refused_and_bad_frames_harm_no_one(fleet):
    with running_gateway() as port:
        good = Terminal(port)
        stranger = Terminal(port, phone="013900000000")
        reg = stranger.send(jt808.REGISTER, bytes(37) + b"X")
        assert reg.body == struct.pack(">HB", 1, jt808.REG_NO_TERMINAL)
        loc = stranger.send(jt808.LOCATION, location_body("261129080000", 45.75, 126.65, 1))
        assert loc.body[-1] == jt808.FAILURE
        # a bad check code is answered "message error"; garbage without a header is dropped
        frame = bytearray(jt808.build(jt808.HEARTBEAT, PHONE, 77))
        frame[-2] ^= 0x10  # 0x7f → 0x6f (not a flag or an escape)
        stranger.sock.sendall(b"\x7e\x01\x7e" + bytes(frame))
        assert stranger.reply().body == struct.pack(">HHB", 77, 2, jt808.MESSAGE_ERROR)
        # the other terminal is not disturbed, and a 2019 terminal is answered in 2019 form
        assert (
            good.send(jt808.LOCATION, location_body("261129080000", 45.75, 126.65, 1)).body[-1] == 0
        )
        v2019 = Terminal(port, phone="00000000" + PHONE, version=1)
        r = v2019.send(jt808.LOCATION, location_body("261129080010", 45.7501, 126.6501, 1))
        assert (r.version, r.phone, r.body[-1]) == (1, "00000000" + PHONE, 0)
        for t in (good, stranger, v2019):
            t.close()
    assert len(fixes(fleet)) == 2


def test_idle_connections_close(fleet, monkeypatch):
    monkeypatch.setenv("CIVICGRID_GPS_IDLE_SECONDS", "0.3")
    from civicgrid.config import get_settings

    get_settings.cache_clear()
    with running_gateway() as port:
        t = Terminal(port)
        t.sock.settimeout(5)
        assert t.sock.recv(10) == b""
        t.close()


def test_gateway_command_has_help():
    from typer.testing import CliRunner

    from civicgrid.cli import app

    result = CliRunner().invoke(app, ["gps-gateway", "--help"])
    assert result.exit_code == 0 and "6808" in result.output


def test_gps_simulate_sends_a_day_through_an_in_process_gateway(fleet):
    from typer.testing import CliRunner

    from civicgrid.cli import app

    result = CliRunner().invoke(app, ["gps-simulate", "--day", "2026-11-20"])
    assert result.exit_code == 0, result.output
    stored = fixes(fleet)
    # 06:30–18:00 local, a fix every 30 s
    assert len(stored) == 23 * 60 and f"sent {len(stored)} fixes of 1 vehicle" in result.output
    assert stored[0].fix_time == dt.datetime(2026, 11, 19, 22, 30, tzinfo=dt.UTC)
    assert max(f.speed for f in stored) == 6.0  # ¾ of the sweeper's 8 km/h
    assert CliRunner().invoke(app, ["gps-simulate", "--day", "1999-01-01"]).exit_code != 0
