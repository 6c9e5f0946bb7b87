"""JT/T 808 (道路运输车辆卫星定位系统 终端通讯协议), the frames a vehicle terminal and the platform
exchange: 0x7e framing, 0x7d escapes, the XOR check code, the 2011/2013 header (phone BCD[6])
and the 2019 one (version flag, protocol version, phone BCD[10]), and the bodies the gateway
reads (register, auth, location, batch) and writes (0x8001, 0x8100).

Pure functions over bytes: no sockets, no database (the gateway has those)."""

from __future__ import annotations

import datetime as dt
import struct
from dataclasses import dataclass, field

FLAG = 0x7E
ESC = 0x7D

# message ids
HEARTBEAT = 0x0002
LOGOUT = 0x0003
REGISTER = 0x0100
AUTH = 0x0102
LOCATION = 0x0200
BATCH = 0x0704
GENERAL_RESPONSE = 0x8001
REGISTER_RESPONSE = 0x8100

# 0x8001 results (JT/T 808 §8.1)
OK, FAILURE, MESSAGE_ERROR, NOT_SUPPORTED, ALARM_CONFIRMED = 0, 1, 2, 3, 4
# 0x8100 results (§8.6)
REG_OK, REG_VEHICLE_TAKEN, REG_NO_VEHICLE, REG_TERMINAL_TAKEN, REG_NO_TERMINAL = 0, 1, 2, 3, 4

# message body attributes
LENGTH_MASK = 0x03FF
ENCRYPTION_MASK = 0x1C00
SUBPACKAGE = 0x2000
VERSION_FLAG = 0x4000

# status bits of a location
STATUS_VALID = 1 << 1
STATUS_SOUTH = 1 << 2
STATUS_WEST = 1 << 3

TERMINAL_TZ = dt.timezone(dt.timedelta(hours=8))  # the standard's times are GMT+8
MAX_FRAME = 2048  # escaped bytes between two 0x7e: the standard's body is ≤ 1023 bytes


class FrameError(ValueError):
    """A frame that cannot be read. `header` is set when the header could be read, so that
    the frame can still be answered (0x8001 result 2)."""

    def __init__(self, reason: str, header: Message | None = None):
        super().__init__(reason)
        self.header = header


def unescape(data: bytes) -> bytes:
    """0x7d 0x02 → 0x7e, 0x7d 0x01 → 0x7d; any other byte after 0x7d is an error."""
    if ESC not in data:
        return data
    out = bytearray()
    i, n = 0, len(data)
    while i < n:
        b = data[i]
        if b == ESC:
            if i + 1 >= n or data[i + 1] not in (0x01, 0x02):
                raise FrameError("bad escape 0x7d")
            out.append(0x7D if data[i + 1] == 0x01 else 0x7E)
            i += 2
        else:
            out.append(b)
            i += 1
    return bytes(out)


def escape(data: bytes) -> bytes:
    return data.replace(b"\x7d", b"\x7d\x01").replace(b"\x7e", b"\x7d\x02")


def xor(data: bytes) -> int:
    check = 0
    for b in data:
        check ^= b
    return check


class Splitter:
    """Cuts a TCP stream into frames: the bytes between two 0x7e, escapes still in. Bytes
    before the first 0x7e are dropped; a frame longer than MAX_FRAME is dropped whole."""

    def __init__(self) -> None:
        self._buf = bytearray()
        self._open = False
        self.dropped = 0

    def feed(self, data: bytes) -> list[bytes]:
        """The complete frames in what has arrived so far (without their 0x7e)."""
        frames: list[bytes] = []
        pos, n = 0, len(data)
        while pos < n:
            if not self._open:
                start = data.find(b"\x7e", pos)
                if start < 0:
                    return frames
                self._open = True
                self._buf.clear()
                pos = start + 1
                continue
            end = data.find(b"\x7e", pos)
            if end < 0:
                self._buf += data[pos:]
                self._check_size()
                return frames
            self._buf += data[pos:end]
            pos = end + 1
            if not self._buf:
                # two flags in a row: the second opens the next frame (7e…7e7e…7e)
                continue
            if len(self._buf) <= MAX_FRAME:
                frames.append(bytes(self._buf))
            else:
                self.dropped += 1
            self._buf.clear()
            self._open = False
        return frames

    def _check_size(self) -> None:
        if len(self._buf) > MAX_FRAME:  # never a frame: forget it, wait for the next flag
            self._buf.clear()
            self._open = False
            self.dropped += 1


@dataclass
class Message:
    msg_id: int
    attributes: int
    phone: str  # the terminal's phone number, BCD digits as sent (12 or 20)
    serial: int
    body: bytes = b""
    version: int | None = None  # 2019: the protocol version byte; None for 2011/2013
    packet: tuple[int, int] | None = None  # (total, index) of a sub-packaged message

    @property
    def is_2019(self) -> bool:
        return self.version is not None


def bcd(data: bytes) -> str:
    return data.hex()


def to_bcd(digits: str, size: int) -> bytes:
    digits = digits.rjust(size * 2, "0")
    if len(digits) != size * 2 or not digits.isdigit():
        raise ValueError(f"not {size * 2} digits: {digits!r}")
    return bytes.fromhex(digits)


def parse(frame: bytes) -> Message:
    """A frame (between its 0x7e, escapes in) as a message, or FrameError: bad escape, short,
    check code wrong, body length not as declared."""
    data = unescape(frame)
    if len(data) < 13:
        raise FrameError("frame too short")
    msg_id, attributes = struct.unpack_from(">HH", data, 0)
    if attributes & VERSION_FLAG:
        if len(data) < 18:
            raise FrameError("frame too short")
        version = data[4]
        phone = bcd(data[5:15])
        (serial,) = struct.unpack_from(">H", data, 15)
        pos = 17
    else:
        version = None
        phone = bcd(data[4:10])
        (serial,) = struct.unpack_from(">H", data, 10)
        pos = 12
    header = Message(msg_id, attributes, phone, serial, version=version)
    if attributes & SUBPACKAGE:
        if len(data) < pos + 5:
            raise FrameError("frame too short", header)
        header.packet = struct.unpack_from(">HH", data, pos)
        pos += 4
    if xor(data[:-1]) != data[-1]:
        raise FrameError("check code wrong", header)
    body = data[pos:-1]
    if len(body) != attributes & LENGTH_MASK:
        raise FrameError("body length not as declared", header)
    header.body = body
    return header


def build(
    msg_id: int, phone: str, serial: int, body: bytes = b"", *, version: int | None = None
) -> bytes:
    """A whole frame, 0x7e to 0x7e, escaped, in the header form of `version` (None: 2013)."""
    if len(body) > LENGTH_MASK:
        raise ValueError("body too long for one packet")
    attributes = len(body)
    if version is None:
        head = struct.pack(">HH", msg_id, attributes) + to_bcd(phone[-12:], 6)
    else:
        head = struct.pack(">HHB", msg_id, attributes | VERSION_FLAG, version)
        head += to_bcd(phone, 10)
    data = head + struct.pack(">H", serial & 0xFFFF) + body
    return b"\x7e" + escape(data + bytes([xor(data)])) + b"\x7e"


def general_response(request: Message, serial: int, result: int) -> bytes:
    """0x8001 to `request`: its serial, its id, the result; in the request's header form."""
    body = struct.pack(">HHB", request.serial, request.msg_id, result)
    return build(GENERAL_RESPONSE, request.phone, serial, body, version=request.version)


def register_response(request: Message, serial: int, result: int, auth_code: str = "") -> bytes:
    """0x8100 to a 0x0100: its serial, the result, and the auth code when the result is 0."""
    body = struct.pack(">HB", request.serial, result)
    if result == REG_OK:
        body += auth_code.encode("gbk")
    return build(REGISTER_RESPONSE, request.phone, serial, body, version=request.version)


# --- bodies ---------------------------------------------------------------------------------


def _text(raw: bytes) -> str:
    return raw.rstrip(b"\x00").decode("gbk", errors="replace").strip()


@dataclass
class Registration:
    province: int
    city: int
    manufacturer: str
    model: str
    terminal_id: str
    plate_color: int
    plate: str  # the plate (GBK) when plate_color > 0, else the VIN


def parse_register(message: Message) -> Registration:
    """A 0x0100 body: 2019 (manufacturer [11], model [30], id [30]), 2013 (5, 20, 7) or 2011
    (5, 8, 7); 2011 and 2013 share a header and are told apart by the body's length (2013's
    fixed part is 37 bytes)."""
    body = message.body
    if message.is_2019:
        sizes = (11, 30, 30)
    elif len(body) >= 37:
        sizes = (5, 20, 7)
    else:
        sizes = (5, 8, 7)
    fixed = 4 + sum(sizes) + 1
    if len(body) < fixed:
        raise FrameError("register body too short", message)
    province, city = struct.unpack_from(">HH", body, 0)
    pos = 4
    parts = []
    for size in sizes:
        parts.append(_text(body[pos : pos + size]))
        pos += size
    return Registration(province, city, *parts, plate_color=body[pos], plate=_text(body[pos + 1 :]))


def parse_auth(message: Message) -> str:
    """The auth code of a 0x0102: the whole body (2011/2013), or length-prefixed (2019,
    followed by IMEI [15] and software version [20])."""
    body = message.body
    if message.is_2019:
        if not body or len(body) < 1 + body[0]:
            raise FrameError("auth body too short", message)
        return body[1 : 1 + body[0]].decode("gbk", errors="replace")
    return body.decode("gbk", errors="replace").rstrip("\x00")


@dataclass
class Location:
    alarm: int
    status: int
    lat: float
    lon: float
    altitude: int  # m
    speed: float  # km/h
    direction: int  # degrees
    time: dt.datetime  # UTC
    mileage: float | None = None  # km (0x01, 1/10 km)
    fuel: float | None = None  # L (0x02, 1/10 L)
    signal: int | None = None  # 0x30
    satellites: int | None = None  # 0x31
    extras: dict[int, bytes] = field(default_factory=dict)

    @property
    def valid(self) -> bool:
        return bool(self.status & STATUS_VALID)


def bcd_time(raw: bytes) -> dt.datetime:
    """YYMMDDhhmmss in BCD, GMT+8, as an aware UTC time; FrameError if not a date."""
    digits = raw.hex()
    try:
        local = dt.datetime(
            2000 + int(digits[0:2]),
            int(digits[2:4]),
            int(digits[4:6]),
            int(digits[6:8]),
            int(digits[8:10]),
            int(digits[10:12]),
            tzinfo=TERMINAL_TZ,
        )
    except ValueError:
        raise FrameError(f"not a BCD time: {digits}") from None
    return local.astimezone(dt.UTC)


def parse_location(body: bytes) -> Location:
    """A location body (0x0200, and each item of 0x0704): the 28 fixed bytes, then extras
    (id BYTE, length BYTE, value)."""
    if len(body) < 28:
        raise FrameError("location body too short")
    alarm, status, lat, lon, altitude, speed, direction = struct.unpack_from(">IIIIhHH", body, 0)
    location = Location(
        alarm=alarm,
        status=status,
        lat=(-lat if status & STATUS_SOUTH else lat) / 1e6,
        lon=(-lon if status & STATUS_WEST else lon) / 1e6,
        altitude=altitude,
        speed=speed / 10,
        direction=direction,
        time=bcd_time(body[22:28]),
    )
    pos = 28
    while pos + 2 <= len(body):
        item, size = body[pos], body[pos + 1]
        value = body[pos + 2 : pos + 2 + size]
        if len(value) < size:
            break  # a truncated extra: the fixed part stands, the rest is not trusted
        pos += 2 + size
        if item == 0x01 and size == 4:
            location.mileage = int.from_bytes(value, "big") / 10
        elif item == 0x02 and size == 2:
            location.fuel = int.from_bytes(value, "big") / 10
        elif item == 0x30 and size == 1:
            location.signal = value[0]
        elif item == 0x31 and size == 1:
            location.satellites = value[0]
        else:
            location.extras[item] = value
    return location


def parse_batch(body: bytes) -> tuple[int, list[Location]]:
    """A 0x0704 body: count WORD, type BYTE (0 normal batch, 1 blind-area backfill 盲区补报),
    then each item as length WORD and a location body."""
    if len(body) < 3:
        raise FrameError("batch body too short")
    count, kind = struct.unpack_from(">HB", body, 0)
    pos = 3
    locations = []
    for _ in range(count):
        if pos + 2 > len(body):
            raise FrameError("batch shorter than its count")
        (size,) = struct.unpack_from(">H", body, pos)
        pos += 2
        if pos + size > len(body):
            raise FrameError("batch item longer than the body")
        locations.append(parse_location(body[pos : pos + size]))
        pos += size
    return kind, locations
