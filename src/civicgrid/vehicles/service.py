"""The fleet registry (车辆登记): vehicle types as data, vehicles, trackers, and the xlsx import.

Services flush, never commit (one transaction per request or command)."""

from __future__ import annotations

import hashlib
import io
import re
import secrets
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from civicgrid.org import queries as org_queries
from civicgrid.vehicles.exceptions import (
    BadToken,
    BadVehicle,
    Exists,
    TrackerNotFound,
    VehicleNotFound,
    VehicleTypeNotFound,
)
from civicgrid.vehicles.models import PROTOCOLS, Tracker, Vehicle, VehicleType

# Dots and spaces people put in plates (粤B·88888, 粤B 88888) are not part of them.
_PLATE_NOISE = re.compile(r"[\s·・.\-]")
PLATE_MAX_BYTES = 16  # GBK bytes; the longest real plates (新能源, 挂, 使) stay far below
TERMINAL_ID = re.compile(r"^[0-9A-Za-z_\-]{1,40}$")


def normalise_plate(raw: str) -> str:
    """A plate as the registry keeps it: no spaces or dots, Latin letters upper case, and
    encodable in GBK (what JT/T 808 terminals send), or BadVehicle."""
    plate = _PLATE_NOISE.sub("", raw or "").upper()
    if not plate:
        raise BadVehicle("车牌号不能为空", "the plate is required")
    try:
        encoded = plate.encode("gbk")
    except UnicodeEncodeError:
        raise BadVehicle(
            f"车牌号 {plate} 含有 GBK 无法表示的字符", f"plate {plate} has characters GBK lacks"
        ) from None
    if len(encoded) > PLATE_MAX_BYTES or not plate.isprintable():
        raise BadVehicle(
            f"车牌号 {plate} 过长或含有控制字符 (最多 {PLATE_MAX_BYTES} 字节)",
            f"plate {plate} is too long or has control characters (at most "
            f"{PLATE_MAX_BYTES} GBK bytes)",
        )
    return plate


# --- vehicle types --------------------------------------------------------------------------


def vehicle_types(session: Session) -> list[VehicleType]:
    return list(session.scalars(select(VehicleType).order_by(VehicleType.id)))


def get_type(session: Session, code: str) -> VehicleType:
    found = session.scalar(select(VehicleType).where(VehicleType.code == code))
    if found is None:
        raise VehicleTypeNotFound(code)
    return found


def _check_range(low: float, high: float | None) -> None:
    if low < 0 or (high is not None and high <= low):
        raise BadVehicle(
            "作业速度范围无效: 下限 ≥ 0 且上限须大于下限",
            "work speed range invalid: the lower bound is ≥ 0 and the upper above it",
        )


def save_type(
    session: Session,
    *,
    code: str,
    name: str | None = None,
    work_speed_min: float | None = None,
    work_speed_max: float | None = None,
    clear_max: bool = False,
) -> VehicleType:
    """Create the vehicle type `code`, or change the given fields of an existing one. The work
    speed range is (min, max] km/h; a type without a max has no working fixes."""
    found = session.scalar(select(VehicleType).where(VehicleType.code == code))
    if found is None:
        if not name:
            raise BadVehicle("新车辆类型须有名称", "a new vehicle type needs a name")
        found = VehicleType(code=code, name=name, work_speed_min=0.0)
        session.add(found)
    elif name:
        found.name = name
    if work_speed_min is not None:
        found.work_speed_min = work_speed_min
    if work_speed_max is not None:
        found.work_speed_max = work_speed_max
    elif clear_max:
        found.work_speed_max = None
    _check_range(found.work_speed_min, found.work_speed_max)
    session.flush()
    return found


# --- vehicles -------------------------------------------------------------------------------


def get_vehicle(session: Session, vehicle_id: int) -> Vehicle:
    found = session.get(Vehicle, vehicle_id)
    if found is None:
        raise VehicleNotFound(str(vehicle_id))
    return found


def vehicle_by_plate(session: Session, plate: str) -> Vehicle:
    found = session.scalar(select(Vehicle).where(Vehicle.plate == normalise_plate(plate)))
    if found is None:
        raise VehicleNotFound(plate)
    return found


def vehicles(
    session: Session, *, unit_code: str | None = None, type_code: str | None = None
) -> list[Vehicle]:
    query = select(Vehicle).order_by(Vehicle.plate)
    if unit_code:
        unit = _unit_id(session, unit_code)
        query = query.where(Vehicle.org_unit_id == unit)
    if type_code:
        query = query.where(Vehicle.type_id == get_type(session, type_code).id)
    return list(session.scalars(query))


def _unit_id(session: Session, code: str) -> int:
    unit = org_queries.units_by_code(session, [code]).get(code)
    if unit is None:
        raise BadVehicle(f"找不到单位 {code}", f"org unit {code} not found")
    return unit.id


def unit_codes_by_id(session: Session, ids: set[int]) -> dict[int, tuple[str, str]]:
    """(code, name) of each unit id, for answers."""
    return org_queries.code_names_by_id(session, ids)


def _check_capacity(capacity: float | None) -> None:
    if capacity is not None and not 0 < capacity <= 200:
        raise BadVehicle("容积应在 0–200 m³ 之间", "capacity must be within 0–200 m³")


def create_vehicle(
    session: Session,
    *,
    plate: str,
    type_code: str,
    unit_code: str,
    capacity_m3: float | None = None,
    note: str = "",
) -> Vehicle:
    """A new vehicle; the plate is unique, the type and unit must exist."""
    plate = normalise_plate(plate)
    if session.scalar(select(Vehicle.id).where(Vehicle.plate == plate)) is not None:
        raise Exists(f"车牌号 {plate} 已登记", f"plate {plate} is already registered")
    _check_capacity(capacity_m3)
    vehicle = Vehicle(
        plate=plate,
        type=get_type(session, type_code),
        org_unit_id=_unit_id(session, unit_code),
        capacity_m3=capacity_m3,
        note=note,
        active=True,
    )
    session.add(vehicle)
    session.flush()
    return vehicle


def update_vehicle(session: Session, vehicle: Vehicle, **changes) -> Vehicle:
    """Apply the given changes (type_code, unit_code, capacity_m3, note, active, plate)."""
    if "plate" in changes and changes["plate"] is not None:
        plate = normalise_plate(changes.pop("plate"))
        other = session.scalar(select(Vehicle.id).where(Vehicle.plate == plate))
        if other is not None and other != vehicle.id:
            raise Exists(f"车牌号 {plate} 已登记", f"plate {plate} is already registered")
        vehicle.plate = plate
    if changes.get("type_code"):
        vehicle.type = get_type(session, changes["type_code"])
    if changes.get("unit_code"):
        vehicle.org_unit_id = _unit_id(session, changes["unit_code"])
    if "capacity_m3" in changes:
        _check_capacity(changes["capacity_m3"])
        vehicle.capacity_m3 = changes["capacity_m3"]
    if changes.get("note") is not None:
        vehicle.note = changes["note"]
    if changes.get("active") is not None:
        vehicle.active = changes["active"]
    session.flush()
    return vehicle


# --- trackers -------------------------------------------------------------------------------


def normalise_terminal_id(raw: str, protocol: str) -> str:
    """A terminal id as kept: JT/T 808 phone numbers are 12 digits (2011/2013, BCD[6]) or 20
    (2019, BCD[10]) with their leading zeros; other ids are letters, digits, _ and -."""
    value = (raw or "").strip()
    if protocol == "jt808":
        if not value.isdigit() or len(value) > 20:
            raise BadVehicle(
                f"JT/T 808 终端手机号 {value!r} 应为至多 20 位数字",
                f"a JT/T 808 terminal id {value!r} is at most 20 digits",
            )
        return value.zfill(12 if len(value) <= 12 else 20)
    if not TERMINAL_ID.match(value):
        raise BadVehicle(
            f"终端号 {value!r} 无效 (字母、数字、_ 和 -, 至多 40 个)",
            f"terminal id {value!r} invalid (letters, digits, _ and -, at most 40)",
        )
    return value


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@dataclass
class NewTracker:
    tracker: Tracker
    token: str | None  # the HTTP device token, shown once


def create_tracker(
    session: Session,
    *,
    terminal_id: str,
    protocol: str,
    vehicle_id: int | None = None,
    person_id: int | None = None,
) -> NewTracker:
    """A tracker on a vehicle or carried by a person (exactly one). An HTTP tracker gets a
    device token (returned once; only its hash is kept); an OsmAnd one is known by its id."""
    if protocol not in PROTOCOLS:
        raise BadVehicle(
            f"协议 {protocol} 无效, 应为 {', '.join(PROTOCOLS)}",
            f"unknown protocol {protocol}; use one of {', '.join(PROTOCOLS)}",
        )
    if (vehicle_id is None) == (person_id is None):
        raise BadVehicle(
            "定位终端须属于一辆车或一个人 (二者之一)",
            "a tracker belongs to exactly one vehicle or one person",
        )
    terminal_id = normalise_terminal_id(terminal_id, protocol)
    if session.scalar(select(Tracker.id).where(Tracker.terminal_id == terminal_id)):
        raise Exists(f"终端号 {terminal_id} 已登记", f"terminal {terminal_id} already registered")
    if vehicle_id is not None:
        get_vehicle(session, vehicle_id)
    if person_id is not None and not org_queries.person_exists(session, person_id):
        raise BadVehicle(f"找不到人员 {person_id}", f"person {person_id} not found")
    token = secrets.token_urlsafe(24) if protocol == "http" else None
    tracker = Tracker(
        terminal_id=terminal_id,
        protocol=protocol,
        vehicle_id=vehicle_id,
        person_id=person_id,
        token_hash=token_hash(token) if token else None,
        active=True,
    )
    session.add(tracker)
    session.flush()
    return NewTracker(tracker, token)


def trackers(session: Session, *, vehicle_ids: list[int] | None = None) -> list[Tracker]:
    """Every tracker, or those of these vehicles, by terminal id."""
    query = select(Tracker).order_by(Tracker.terminal_id)
    if vehicle_ids is not None:
        query = query.where(Tracker.vehicle_id.in_(vehicle_ids))
    return list(session.scalars(query))


def tracker_by_terminal(session: Session, terminal_id: str) -> Tracker | None:
    return session.scalar(select(Tracker).where(Tracker.terminal_id == terminal_id))


def get_tracker(session: Session, terminal_id: str) -> Tracker:
    found = tracker_by_terminal(session, terminal_id)
    if found is None:
        raise TrackerNotFound(terminal_id)
    return found


def tracker_by_token(session: Session, token: str) -> Tracker:
    """The active HTTP tracker of this device token, or BadToken (401)."""
    found = session.scalar(select(Tracker).where(Tracker.token_hash == token_hash(token)))
    if found is None or not found.active:
        raise BadToken()
    return found


def set_tracker_active(session: Session, tracker: Tracker, active: bool) -> Tracker:
    tracker.active = active
    session.flush()
    return tracker


# --- xlsx import ----------------------------------------------------------------------------

# The workbook's first row names the columns (Chinese or English); order does not matter.
IMPORT_COLUMNS = {
    "车牌号": "plate",
    "plate": "plate",
    "车辆类型": "type",
    "type": "type",
    "单位编码": "unit",
    "unit": "unit",
    "容积": "capacity_m3",
    "容积(m³)": "capacity_m3",
    "capacity_m3": "capacity_m3",
    "终端号": "terminal_id",
    "terminal_id": "terminal_id",
    "协议": "protocol",
    "protocol": "protocol",
    "备注": "note",
    "note": "note",
}
REQUIRED = ("plate", "type", "unit")
IMPORT_MAX_ROWS = 20_000


@dataclass
class ImportResult:
    vehicles: int
    trackers: int
    tokens: dict[str, str]  # terminal id → device token, for HTTP trackers made by the import


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def import_xlsx(session: Session, data: bytes) -> ImportResult:
    """Vehicles (and their trackers) from the first sheet of a workbook, all or nothing: every
    row is checked first; any problem refuses the whole file with each problem by row number
    (the sheet's own numbering), and nothing is written."""
    from openpyxl import load_workbook

    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a file that is not a workbook
        raise BadVehicle(
            "无法读取 xlsx 文件", f"the file is not a readable xlsx workbook ({type(exc).__name__})"
        ) from None
    rows = book.worksheets[0].iter_rows(values_only=True)
    header = next(rows, None) or ()
    columns = [IMPORT_COLUMNS.get(_cell(h).lower(), IMPORT_COLUMNS.get(_cell(h))) for h in header]
    missing = [c for c in REQUIRED if c not in columns]
    if missing:
        raise BadVehicle(
            f"表头缺少列: {', '.join(missing)} (车牌号 车辆类型 单位编码)",
            f"the header lacks columns: {', '.join(missing)} (plate type unit)",
        )
    problems: list[dict] = []
    parsed: list[tuple[int, dict]] = []
    types = {t.code: t for t in vehicle_types(session)} | {
        t.name: t for t in vehicle_types(session)
    }
    known_units = org_queries.all_codes(session)
    plates: dict[str, int] = {}
    terminals: dict[str, int] = {}
    registered_plates = set(session.scalars(select(Vehicle.plate)))
    registered_terminals = set(session.scalars(select(Tracker.terminal_id)))
    for number, raw in enumerate(rows, start=2):
        if number - 1 > IMPORT_MAX_ROWS:
            raise BadVehicle(
                f"行数超过 {IMPORT_MAX_ROWS}", f"more than {IMPORT_MAX_ROWS} rows in one file"
            )
        row = {c: _cell(v) for c, v in zip(columns, raw, strict=False) if c}
        if not any(row.values()):
            continue

        def problem(reason: str, number=number, row=row) -> None:
            problems.append({"index": number, "code": row.get("plate", ""), "reason": reason})

        try:
            plate = normalise_plate(row.get("plate", ""))
        except BadVehicle as exc:
            problem(exc.detail)
            continue
        if plate in plates:
            problem(f"车牌号与第 {plates[plate]} 行重复 / same plate as row {plates[plate]}")
            continue
        plates[plate] = number
        if plate in registered_plates:
            problem("车牌号已登记 / plate already registered")
        kind = types.get(row.get("type", ""))
        if kind is None:
            problem(f"车辆类型 {row.get('type')!r} 不存在 / unknown vehicle type")
        if row.get("unit") not in known_units:
            problem(f"单位编码 {row.get('unit')!r} 不存在 / unknown org unit")
        capacity = None
        if row.get("capacity_m3"):
            try:
                capacity = float(row["capacity_m3"])
                _check_capacity(capacity)
            except ValueError:
                problem("容积不是数字 / capacity is not a number")
            except BadVehicle as exc:
                problem(exc.detail)
        terminal = None
        if row.get("terminal_id"):
            protocol = row.get("protocol") or "jt808"
            if protocol not in PROTOCOLS:
                problem(f"协议 {protocol!r} 无效 / unknown protocol")
            else:
                try:
                    terminal = normalise_terminal_id(row["terminal_id"], protocol)
                except BadVehicle as exc:
                    problem(exc.detail)
                if terminal in terminals:
                    problem(
                        f"终端号与第 {terminals[terminal]} 行重复 / same terminal as row "
                        f"{terminals[terminal]}"
                    )
                elif terminal in registered_terminals:
                    problem("终端号已登记 / terminal already registered")
                elif terminal:
                    terminals[terminal] = number
                row["protocol"] = protocol
        parsed.append(
            (
                number,
                {
                    **row,
                    "plate": plate,
                    "capacity_m3": capacity,
                    "terminal": terminal,
                    "kind": kind,
                },
            )
        )
    if problems:
        raise BadVehicle(
            f"导入被拒绝: {len(problems)} 处问题, 未写入任何车辆",
            f"import refused: {len(problems)} problems, no vehicle written",
            extra={"problems": problems},
        )
    tokens: dict[str, str] = {}
    made_trackers = 0
    for _number, row in parsed:
        vehicle = create_vehicle(
            session,
            plate=row["plate"],
            type_code=row["kind"].code,
            unit_code=row["unit"],
            capacity_m3=row["capacity_m3"],
            note=row.get("note", ""),
        )
        if row["terminal"]:
            made = create_tracker(
                session,
                terminal_id=row["terminal"],
                protocol=row["protocol"],
                vehicle_id=vehicle.id,
            )
            made_trackers += 1
            if made.token:
                tokens[made.tracker.terminal_id] = made.token
    return ImportResult(vehicles=len(parsed), trackers=made_trackers, tokens=tokens)


def import_template() -> bytes:
    """An empty workbook with the import's header and one example row."""
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.title = "车辆"
    sheet.append(["车牌号", "车辆类型", "单位编码", "容积(m³)", "终端号", "协议", "备注"])
    sheet.append(["黑A12345", "清扫车", "230110", None, "013912345678", "jt808", ""])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
