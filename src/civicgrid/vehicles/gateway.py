"""The JT/T 808 gateway (`civicgrid gps-gateway`): an asyncio TCP server. Each connection's
frames are read in order and answered in order; what needs the database (register, auth,
locations) goes through one group writer, so the fixes of many terminals are committed
together and a terminal's 0x8001 is sent only once its fixes are stored.

Replies follow the standard: 0x8001 (result 0 OK, 1 failure — an unknown or disabled terminal,
a wrong auth code —, 2 message error — a frame or body that cannot be read —, 3 not supported),
0x8100 (0 with the auth code; 4 "no such terminal" for an unknown one unless
gps_auto_register). Each reply carries the platform's own serial number, counted per
connection from 0, and the header form of the terminal's frame (2013 or 2019). A frame whose
header cannot be read is dropped; nothing one connection sends touches another."""

from __future__ import annotations

import asyncio
import logging
import secrets
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from civicgrid.config import get_settings
from civicgrid.kit.errors import AppError
from civicgrid.kit.groupwrite import GroupWriter
from civicgrid.vehicles import ingest, jt808, service
from civicgrid.vehicles.models import Tracker

log = logging.getLogger(__name__)

READ_SIZE = 4096


@dataclass(slots=True)
class Work:
    message: jt808.Message
    payload: object  # Registration, auth code, or (backfill, [Location])


@dataclass(slots=True)
class Answer:
    result: int
    auth_code: str = ""


def terminal_candidates(phone: str) -> list[str]:
    """The registry ids a BCD phone may be kept under: as sent, and as 12 and 20 digits (a
    2019 terminal sends 20 digits where the registry may hold the 12 of its SIM)."""
    bare = phone.lstrip("0") or "0"
    return list(dict.fromkeys([phone, bare.zfill(12), bare.zfill(20)]))


def find_tracker(session: Session, phone: str) -> Tracker | None:
    query = select(Tracker).where(
        Tracker.terminal_id.in_(terminal_candidates(phone)), Tracker.protocol == "jt808"
    )
    return session.scalars(query).first()


def _auto_register(session: Session, phone: str, registration: jt808.Registration) -> Tracker:
    unit = get_settings().gps_auto_register_unit
    if not unit:
        raise AppError("未设置自动登记单位", "gps_auto_register_unit is not set")
    plate = registration.plate if registration.plate_color else ""
    try:
        plate = service.normalise_plate(plate)
    except AppError:
        plate = "T" + phone[-12:]
    vehicle = service.create_vehicle(session, plate=plate, type_code="other", unit_code=unit)
    return service.create_tracker(
        session, terminal_id=phone, protocol="jt808", vehicle_id=vehicle.id
    ).tracker


def _one(session: Session, work: Work) -> Answer:
    message = work.message
    tracker = find_tracker(session, message.phone)
    if message.msg_id == jt808.REGISTER:
        if tracker is None and get_settings().gps_auto_register:
            tracker = _auto_register(session, message.phone, work.payload)
        if tracker is None or not tracker.active:
            return Answer(jt808.REG_NO_TERMINAL)
        if not tracker.auth_code:
            tracker.auth_code = secrets.token_hex(8)
        return Answer(jt808.REG_OK, tracker.auth_code)
    if tracker is None or not tracker.active:
        return Answer(jt808.FAILURE)
    if message.msg_id == jt808.AUTH:
        if not tracker.auth_code:  # set up by hand with a code the platform never gave
            tracker.auth_code = work.payload[:40]
        return Answer(jt808.OK if work.payload == tracker.auth_code else jt808.FAILURE)
    ingest.store(session, tracker, _fixes(work))
    return Answer(jt808.OK)


def _fixes(work: Work) -> list[ingest.FixIn]:
    backfill, locations = work.payload
    return [
        ingest.FixIn(
            fix_time=loc.time,
            lon=loc.lon,
            lat=loc.lat,
            speed=loc.speed,
            direction=loc.direction,
            altitude=loc.altitude,
            alarm=loc.alarm,
            status=loc.status,
            mileage=loc.mileage,
            valid=loc.valid,
            backfill=backfill,
        )
        for loc in locations
    ]


def _trackers(session: Session, phones: set[str]) -> dict[str, Tracker]:
    """The tracker of each phone, in one query (as find_tracker finds one)."""
    candidates = {phone: terminal_candidates(phone) for phone in phones}
    wanted = {c for found in candidates.values() for c in found}
    rows = session.scalars(
        select(Tracker).where(Tracker.terminal_id.in_(wanted), Tracker.protocol == "jt808")
    ).all()
    by_id = {tracker.terminal_id: tracker for tracker in rows}
    found = {}
    for phone, ids in candidates.items():
        tracker = next((by_id[i] for i in ids if i in by_id), None)
        if tracker is not None:
            found[phone] = tracker
    return found


def write_many(session: Session, items: list[Work]) -> list[Answer | Exception]:
    """Registrations and authentications one by one (each in a savepoint: a refusal costs
    the others nothing); the positions of every terminal of the batch in one statement."""
    results: list[Answer | Exception | None] = [None] * len(items)
    positions: list[int] = []
    for index, work in enumerate(items):
        if work.message.msg_id in (jt808.LOCATION, jt808.BATCH):
            positions.append(index)
            continue
        try:
            with session.begin_nested():
                results[index] = _one(session, work)
        except AppError as exc:
            results[index] = exc
    if positions:
        trackers = _trackers(session, {items[i].message.phone for i in positions})
        stored: list[tuple[Tracker, list[ingest.FixIn]]] = []
        for index in positions:
            tracker = trackers.get(items[index].message.phone)
            if tracker is None or not tracker.active:
                results[index] = Answer(jt808.FAILURE)
                continue
            stored.append((tracker, _fixes(items[index])))
            results[index] = Answer(jt808.OK)
        ingest.store_many(session, stored)
    return results  # type: ignore[return-value] - every index is set above


# A fleet's positions arrive as a stream of one-fix messages: a batch waits up to 5 ms for
# company (a terminal's answer waits that much more at most), which divides the writer's CPU
# per fix (bench/gateway.py measures both).
writer: GroupWriter[Work, Answer] = GroupWriter("jt808-writer", write_many, linger=0.005)


class Connection:
    """One terminal's TCP connection."""

    def __init__(self, reader: asyncio.StreamReader, stream: asyncio.StreamWriter):
        self.reader = reader
        self.stream = stream
        self.serial = 0
        self.splitter = jt808.Splitter()

    def next_serial(self) -> int:
        serial = self.serial
        self.serial = (self.serial + 1) & 0xFFFF
        return serial

    async def run(self) -> None:
        idle = get_settings().gps_idle_seconds
        try:
            while True:
                try:
                    data = await asyncio.wait_for(self.reader.read(READ_SIZE), idle)
                except TimeoutError:
                    return
                if not data:
                    return
                for frame in self.splitter.feed(data):
                    if not await self.answer(frame):
                        return
        except (ConnectionError, OSError):
            return
        except asyncio.CancelledError:
            # the gateway shutting down: the connection ends here (a task that ends cancelled
            # makes asyncio's stream callback log an error)
            return
        finally:
            self.stream.close()

    async def answer(self, frame: bytes) -> bool:
        """Answer one frame; False when the connection is to close (after a logout)."""
        try:
            message = jt808.parse(frame)
        except jt808.FrameError as exc:
            if exc.header is not None:
                self.send(
                    jt808.general_response(exc.header, self.next_serial(), jt808.MESSAGE_ERROR)
                )
            return True
        msg_id = message.msg_id
        if message.packet is not None or message.attributes & jt808.ENCRYPTION_MASK:
            self.send(jt808.general_response(message, self.next_serial(), jt808.NOT_SUPPORTED))
        elif msg_id == jt808.HEARTBEAT:
            self.send(jt808.general_response(message, self.next_serial(), jt808.OK))
        elif msg_id == jt808.LOGOUT:
            self.send(jt808.general_response(message, self.next_serial(), jt808.OK))
            await self.stream.drain()
            return False
        elif msg_id in (jt808.REGISTER, jt808.AUTH, jt808.LOCATION, jt808.BATCH):
            try:
                payload = _payload(message)
            except jt808.FrameError:
                self.send(jt808.general_response(message, self.next_serial(), jt808.MESSAGE_ERROR))
                return True
            try:
                answer = await asyncio.wrap_future(writer.submit(Work(message, payload)))
            except AppError:
                answer = Answer(
                    jt808.REG_NO_TERMINAL if msg_id == jt808.REGISTER else jt808.FAILURE
                )
            except Exception:  # the database failed: the terminal keeps the fix and resends
                log.exception("jt808: could not store the message of %s", message.phone)
                answer = Answer(jt808.FAILURE)
            if msg_id == jt808.REGISTER:
                self.send(
                    jt808.register_response(
                        message, self.next_serial(), answer.result, answer.auth_code
                    )
                )
            else:
                self.send(jt808.general_response(message, self.next_serial(), answer.result))
        else:
            self.send(jt808.general_response(message, self.next_serial(), jt808.NOT_SUPPORTED))
        await self.stream.drain()
        return True

    def send(self, data: bytes) -> None:
        self.stream.write(data)


def _payload(message: jt808.Message) -> object:
    if message.msg_id == jt808.REGISTER:
        return jt808.parse_register(message)
    if message.msg_id == jt808.AUTH:
        return jt808.parse_auth(message)
    if message.msg_id == jt808.LOCATION:
        return False, [jt808.parse_location(message.body)]
    kind, locations = jt808.parse_batch(message.body)
    return kind == 1, locations


async def _connected(reader: asyncio.StreamReader, stream: asyncio.StreamWriter) -> None:
    await Connection(reader, stream).run()


async def start(host: str, port: int) -> asyncio.Server:
    """The listening server (already accepting); close it with server.close()."""
    return await asyncio.start_server(_connected, host, port, reuse_address=True)


async def shutdown(server: asyncio.Server) -> None:
    """Stop listening and end every open connection (their tasks cancelled and awaited)."""
    server.close()
    others = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
    for task in others:
        task.cancel()
    await asyncio.gather(*others, return_exceptions=True)
    await server.wait_closed()


async def serve(host: str, port: int) -> None:
    server = await start(host, port)
    async with server:
        await server.serve_forever()
