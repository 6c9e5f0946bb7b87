"""Snow season (雪场管理), after shared/reference/snow.md: the deadline table, events, sections
and fields, the state of an event computed from reports and tracks (geometry.py), the checks
that open cases and give warnings, the daily report.

Services flush, never commit (one transaction per request or command)."""

from __future__ import annotations

import datetime as dt
import io
import math
from dataclasses import dataclass, field

import numpy as np
from shapely import LineString, Polygon
from sqlalchemy.orm import Session

from civicgrid.cases import service as cases_service
from civicgrid.cases.policy import Actor
from civicgrid.citizen import service as citizen_service
from civicgrid.config import Settings, get_settings
from civicgrid.kit import scheduler
from civicgrid.kit.db import utcnow
from civicgrid.kit.timefmt import local_day, local_zone
from civicgrid.media import service as media_service
from civicgrid.notices import service as notices_service
from civicgrid.org import queries as org_queries
from civicgrid.snowfields import geometry, queries
from civicgrid.snowfields.exceptions import (
    BadGeometry,
    BadSnow,
    NotAllowed,
    SnowConflict,
    SnowNotFound,
)
from civicgrid.snowfields.models import (
    CLASSES,
    FIELD_KINDS,
    FIELD_STATES,
    GRADES,
    TASKS,
    DayFigure,
    EventSection,
    FieldSurvey,
    FieldWarning,
    GateTicket,
    SectionReport,
    SnowEvent,
    SnowField,
    SnowLimit,
    SnowSection,
    TripAlarm,
)
from civicgrid.vehicles import coverage as vehicle_coverage
from civicgrid.vehicles import queries as vehicle_queries
from civicgrid.vehicles import service as vehicle_service
from civicgrid.worklogs import queries as worklog_queries

media_service.keep_referenced(queries.photo_keys)

DECLARERS = ("admin", "leader", "dispatcher")
# vehicle types whose working segments clear a section, and the haulers (运雪车)
CLEARING_TYPES = ("snow_plough", "snow_loader")
HAULING_TYPES = ("snow_hauler",)
# the handlers' checks of a report (露路面、见道线、无残片、路边净、无存堆)
CHECKS = ("露路面", "见道线", "无残片", "路边净", "无存堆")
TASK_NAMES = {"clear": ("清雪", "clear"), "haul": ("清运", "haul")}
KIND_NAMES = {
    "clean": ("净雪", "clean snow"),
    "dirty": ("污雪", "polluted snow"),
    "both": ("净雪/污雪", "both"),
}
STATE_NAMES = {"open": ("开放", "open"), "closed": ("关闭", "closed"), "full": ("已满", "full")}
# GB/T 28592-2012: grades of snow by 24-h precipitation (mm), lower bounds
GRADE_BOUNDS = ((30.0, "特大暴雪"), (20.0, "大暴雪"), (10.0, "暴雪"), (5.0, "大雪"), (2.5, "中雪"))
MAX_SECTIONS_IMPORT = 20_000
MAX_VERTICES = 2_000


def grade_of(precipitation_mm: float) -> str:
    """The grade of 24-h precipitation: 小雪 below 2.5 mm, 中雪 2.5–4.9, 大雪 5.0–9.9,
    暴雪 10.0–19.9, 大暴雪 20.0–29.9, 特大暴雪 ≥ 30.0."""
    for low, grade in GRADE_BOUNDS:
        if precipitation_mm >= low:
            return grade
    return "小雪"


# --- the deadline table ---------------------------------------------------------------------


def limits_table(session: Session) -> dict[tuple[str, str], SnowLimit]:
    return {(row.grade, row.street_class): row for row in queries.limits(session)}


def edit_limit(
    session: Session,
    *,
    grade: str,
    street_class: str,
    clear_hours: float,
    haul_hours: float,
    by: str,
) -> SnowLimit:
    row = session.get(SnowLimit, (grade, street_class))
    if row is None:
        raise SnowNotFound("limit", f"{grade}/{street_class}")
    for name, value in (("clear_hours", clear_hours), ("haul_hours", haul_hours)):
        if not (isinstance(value, int | float) and math.isfinite(value) and 0 < value <= 24 * 30):
            raise BadSnow(f"{name} 应在 0–720 小时之间", f"{name} must be within 0–720 hours")
    row.clear_hours, row.haul_hours = float(clear_hours), float(haul_hours)
    row.updated_at, row.updated_by = utcnow(), by
    session.flush()
    return row


def deadlines(
    event: SnowEvent, table: dict[tuple[str, str], SnowLimit]
) -> dict[str, tuple[dt.datetime | None, dt.datetime | None]]:
    """Each class's (clear, haul) deadline: 雪停 + the table's natural hours; None while it
    still snows."""
    out = {}
    for cls in CLASSES:
        row = table.get((event.grade, cls))
        if event.snow_end_at is None or row is None:
            out[cls] = (None, None)
        else:
            end = event.snow_end_at
            out[cls] = (
                end + dt.timedelta(hours=row.clear_hours),
                end + dt.timedelta(hours=row.haul_hours),
            )
    return out


# --- events ---------------------------------------------------------------------------------


def _check_grade(grade: str | None, precipitation_mm: float | None) -> str:
    if precipitation_mm is not None:
        if not (math.isfinite(precipitation_mm) and 0 <= precipitation_mm <= 1000):
            raise BadSnow("降水量应在 0–1000 mm 之间", "precipitation must be within 0–1000 mm")
        if not grade:
            return grade_of(precipitation_mm)
    if grade not in GRADES:
        raise BadSnow(
            f"雪情等级 (grade) 只能是 {'、'.join(GRADES)}, 或给出 24 小时降水量",
            f"grade must be one of {', '.join(GRADES)}, or give the 24-h precipitation",
        )
    return grade


def get_event(session: Session, event_id: int) -> SnowEvent:
    event = session.get(SnowEvent, event_id)
    if event is None:
        raise SnowNotFound("event", str(event_id))
    return event


def declare(
    session: Session,
    user,
    *,
    name: str,
    started_at: dt.datetime,
    snow_end_at: dt.datetime | None = None,
    grade: str | None = None,
    precipitation_mm: float | None = None,
    depth_m: float = 0.0,
    forecast_at: dt.datetime | None = None,
) -> SnowEvent:
    """A snow event declared by a dispatcher or leader. With a forecast, a warning to gather
    1 h before it is published (notices.publish_warning) when the declarer may publish."""
    if not user.has_role(*DECLARERS):
        raise NotAllowed(
            "只有调度员和领导可以发布雪情", "only dispatchers and leaders declare snow"
        )
    name = (name or "").strip()
    if not name or len(name) > 80:
        raise BadSnow("名称 (name) 1–80 字", "name must be 1–80 characters")
    if snow_end_at is not None and snow_end_at < started_at:
        raise BadSnow("雪停时间不能早于开始时间", "snow_end_at must not be before started_at")
    if not (math.isfinite(depth_m) and 0 <= depth_m <= 5):
        raise BadSnow("积雪深度应在 0–5 m 之间", "depth_m must be within 0–5 m")
    event = SnowEvent(
        name=name,
        started_at=started_at,
        snow_end_at=snow_end_at,
        grade=_check_grade(grade, precipitation_mm),
        precipitation_mm=precipitation_mm,
        depth_m=depth_m,
        forecast_at=forecast_at,
        created_by=user.username,
        created_at=utcnow(),
    )
    session.add(event)
    session.flush()
    if forecast_at is not None and user.has_role(*notices_service.REVIEWERS):
        gather = (forecast_at - dt.timedelta(hours=1)).astimezone(local_zone())
        notice = notices_service.publish_warning(
            session,
            title=f"{event.name}: 预报 {event.grade}, 请于 {gather:%m-%d %H:%M} 前集结",
            body=(
                f"预报降雪时间 {forecast_at.astimezone(local_zone()):%Y-%m-%d %H:%M}。"
                f"各单位清雪机械、人员须在降雪前 1 小时 ({gather:%H:%M}) 到岗集结。"
            ),
            by=user,
            area_codes=[],
            expires_at=forecast_at + dt.timedelta(days=3),
        )
        event.gather_notice_id = notice.id
    session.flush()
    return event


def update_event(session: Session, event: SnowEvent, **changes) -> SnowEvent:
    """Change 雪停, grade (or the precipitation it follows), depth, or close the event."""
    if "precipitation_mm" in changes or "grade" in changes:
        precip = changes.get("precipitation_mm", event.precipitation_mm)
        event.grade = _check_grade(changes.get("grade"), precip)
        event.precipitation_mm = precip
    if "snow_end_at" in changes:
        end = changes["snow_end_at"]
        if end is not None and end < event.started_at:
            raise BadSnow("雪停时间不能早于开始时间", "snow_end_at must not be before started_at")
        event.snow_end_at = end
    if "depth_m" in changes:
        depth = changes["depth_m"]
        if not (math.isfinite(depth) and 0 <= depth <= 5):
            raise BadSnow("积雪深度应在 0–5 m 之间", "depth_m must be within 0–5 m")
        event.depth_m = depth
    if "closed_at" in changes:
        closed = changes["closed_at"]
        if closed is not None and closed < event.started_at:
            raise BadSnow("结束时间不能早于开始时间", "closed_at must not be before started_at")
        event.closed_at = closed
    session.flush()
    return event


# --- sections and fields --------------------------------------------------------------------


def _coords(raw, name: str, *, ring: bool) -> list[list[float]]:
    """A list of [lon, lat] checked (422 for anything malformed)."""
    if not isinstance(raw, list) or not (2 <= len(raw) <= MAX_VERTICES):
        raise BadGeometry(
            f"{name}: 坐标应为 2–{MAX_VERTICES} 个点", f"{name}: 2–{MAX_VERTICES} points expected"
        )
    out = []
    for point in raw:
        if (
            not isinstance(point, list | tuple)
            or len(point) < 2
            or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in point[:2])
        ):
            raise BadGeometry(f"{name}: 坐标应为 [经度, 纬度]", f"{name}: [lon, lat] expected")
        lon, lat = float(point[0]), float(point[1])
        if not (-180 <= lon <= 180 and -90 <= lat <= 90):
            raise BadGeometry(f"{name}: 经纬度超出范围", f"{name}: lon/lat out of range")
        out.append([lon, lat])
    if ring:
        if out[0] != out[-1]:
            out.append(out[0])
        if len(out) < 4:
            raise BadGeometry(f"{name}: 多边形至少 3 个顶点", f"{name}: a polygon needs 3 vertices")
    return out


def _project_line(coords: list[list[float]]) -> np.ndarray:
    xs, ys = vehicle_coverage.project_xy([c[0] for c in coords], [c[1] for c in coords])
    return np.column_stack([xs, ys])


def section_line(section: SnowSection) -> LineString:
    return LineString(_project_line(section.coordinates))


def field_polygon(snow_field: SnowField) -> Polygon:
    return Polygon(_project_line(snow_field.polygon))


def save_section(
    session: Session,
    *,
    code: str,
    name: str,
    street_class: str,
    unit_code: str,
    coordinates,
    width_m: float | None = None,
    area_m2: float | None = None,
    open_first: bool = False,
) -> SnowSection:
    """Create or replace the section `code` (a LineString in lon/lat). Its length is measured
    in UTM 52N; its area is given, or length × width."""
    code = (code or "").strip()
    if not code or len(code) > 40:
        raise BadSnow("路段编码 (code) 1–40 字", "code must be 1–40 characters")
    if street_class not in CLASSES:
        raise BadSnow("道路等级 (class) 只能是 A、B、C", "class must be A, B or C")
    unit = org_queries.units_by_code(session, [unit_code]).get(unit_code)
    if unit is None:
        raise BadSnow(f"找不到责任单位 {unit_code}", f"unit {unit_code} not found")
    coords = _coords(coordinates, code, ring=False)
    line = LineString(_project_line(coords))
    length = float(line.length)
    if not length > 0:
        raise BadGeometry(f"{code}: 路段长度为 0", f"{code}: the section has no length")
    if area_m2 is None:
        if width_m is None or not (isinstance(width_m, int | float) and 0 < width_m <= 200):
            raise BadSnow(
                f"{code}: 须给出面积或 0–200 m 的宽度",
                f"{code}: give area_m2 or a width_m of 0–200 m",
            )
        area_m2 = length * float(width_m)
    if not (isinstance(area_m2, int | float) and math.isfinite(area_m2) and area_m2 > 0):
        raise BadSnow(f"{code}: 面积应大于 0", f"{code}: area_m2 must be above 0")
    section = queries.section_by_code(session, code)
    if section is None:
        section = SnowSection(code=code)
        session.add(section)
    section.name = (name or code)[:80]
    section.street_class = street_class
    section.org_unit_id = unit.id
    section.coordinates = coords
    section.length_m = length
    section.area_m2 = float(area_m2)
    section.open_first = bool(open_first)
    section.active = True
    session.flush()
    return section


def import_geojson(session: Session, data) -> list[SnowSection]:
    """Sections from a GeoJSON FeatureCollection of LineStrings whose properties give code,
    name, class (A/B/C), unit (code), width_m or area_m2, and open_first (先通再净). All or
    nothing; malformed geometry is a 422 naming the feature."""
    if not isinstance(data, dict) or data.get("type") != "FeatureCollection":
        raise BadGeometry(
            "应为 GeoJSON FeatureCollection", "a GeoJSON FeatureCollection is expected"
        )
    features = data.get("features")
    if not isinstance(features, list) or not features or len(features) > MAX_SECTIONS_IMPORT:
        raise BadGeometry(
            f"features 应为 1–{MAX_SECTIONS_IMPORT} 个要素",
            f"1–{MAX_SECTIONS_IMPORT} features expected",
        )
    out = []
    for k, feature in enumerate(features):
        where = f"features[{k}]"
        if not isinstance(feature, dict) or not isinstance(feature.get("geometry"), dict):
            raise BadGeometry(f"{where}: 缺少 geometry", f"{where}: geometry missing")
        geom = feature["geometry"]
        if geom.get("type") != "LineString":
            raise BadGeometry(f"{where}: 路段应为 LineString", f"{where}: a LineString is expected")
        props = feature.get("properties") or {}
        if not isinstance(props, dict):
            raise BadGeometry(
                f"{where}: properties 应为对象", f"{where}: properties must be an object"
            )
        area = props.get("area_m2")
        width = props.get("width_m")
        out.append(
            save_section(
                session,
                code=str(props.get("code") or ""),
                name=str(props.get("name") or ""),
                street_class=str(props.get("class") or ""),
                unit_code=str(props.get("unit") or ""),
                coordinates=geom.get("coordinates"),
                width_m=width if isinstance(width, int | float) else None,
                area_m2=area if isinstance(area, int | float) else None,
                open_first=bool(props.get("open_first", False)),
            )
        )
    return out


def save_field(
    session: Session,
    *,
    code: str,
    name: str,
    polygon,
    capacity_m3: float,
    kind: str = "clean",
    hours: str = "",
    lanes: int = 1,
    initial_fill_m3: float = 0.0,
    event_id: int | None = None,
) -> SnowField:
    code = (code or "").strip()
    if not code or len(code) > 40:
        raise BadSnow("卸雪场编码 (code) 1–40 字", "code must be 1–40 characters")
    if kind not in FIELD_KINDS:
        raise BadSnow("类型 (kind) 只能是 clean、dirty、both", "kind must be clean, dirty or both")
    if not (math.isfinite(capacity_m3) and 0 < capacity_m3 <= 1e8):
        raise BadSnow("容量应大于 0", "capacity_m3 must be above 0")
    if not (math.isfinite(initial_fill_m3) and 0 <= initial_fill_m3 <= 1e8):
        raise BadSnow("初始存量应 ≥ 0", "initial_fill_m3 must be ≥ 0")
    if event_id is not None:
        get_event(session, event_id)
    ring = _coords(polygon, code, ring=True)
    shape = Polygon(_project_line(ring))
    if not shape.is_valid or not shape.area >= 1.0:
        raise BadGeometry(
            f"{code}: 多边形自相交或面积不足 1 m²", f"{code}: the polygon is not valid or empty"
        )
    found = queries.field_by_code(session, code)
    if found is None:
        found = SnowField(code=code, state="open", warned_level=0)
        session.add(found)
    found.name = (name or code)[:80]
    found.polygon = ring
    found.capacity_m3 = float(capacity_m3)
    found.kind = kind
    found.hours = (hours or "")[:40]
    found.lanes = max(1, int(lanes))
    found.initial_fill_m3 = float(initial_fill_m3)
    found.event_id = event_id
    session.flush()
    return found


def get_field(session: Session, code: str) -> SnowField:
    found = queries.field_by_code(session, code)
    if found is None:
        raise SnowNotFound("field", code)
    return found


def get_section(session: Session, code: str) -> SnowSection:
    found = queries.section_by_code(session, code)
    if found is None:
        raise SnowNotFound("section", code)
    return found


def set_field_state(session: Session, snow_field: SnowField, state: str) -> SnowField:
    if state not in FIELD_STATES:
        raise BadSnow("状态只能是 open、closed、full", "state must be open, closed or full")
    snow_field.state = state
    session.flush()
    return snow_field


def survey(session: Session, snow_field: SnowField, *, fill_m3: float, at: dt.datetime, by: str):
    if not (math.isfinite(fill_m3) and 0 <= fill_m3 <= 1e8):
        raise BadSnow("测量存量应 ≥ 0", "fill_m3 must be ≥ 0")
    row = FieldSurvey(field_id=snow_field.id, at=at, fill_m3=float(fill_m3), by=by)
    session.add(row)
    session.flush()
    return row


def _event_section(session: Session, event: SnowEvent, section: SnowSection) -> EventSection:
    row = session.get(EventSection, (event.id, section.id))
    if row is None:
        row = EventSection(event_id=event.id, section_id=section.id, dirty=False)
        session.add(row)
        session.flush()
    return row


def set_dirty(
    session: Session, event: SnowEvent, section: SnowSection, dirty: bool
) -> EventSection:
    """Melting agent used on the section in this event (污雪), as its unit enters it."""
    row = _event_section(session, event, section)
    row.dirty = bool(dirty)
    session.flush()
    return row


def report(
    session: Session,
    settings: Settings,
    event: SnowEvent,
    section: SnowSection,
    *,
    task: str,
    photo: bytes,
    checks: list[str],
    note: str,
    by: str,
    at: dt.datetime,
) -> SectionReport:
    """A handler's report that a section's task is done, with a photo (checked as every
    photo) and the checks seen (露路面、见道线、无残片、路边净、无存堆)."""
    if task not in TASKS:
        raise BadSnow("任务 (task) 只能是 clear 或 haul", "task must be clear or haul")
    wrong = [c for c in checks if c not in CHECKS]
    if wrong:
        raise BadSnow(f"未知的检查项: {'、'.join(wrong)}", f"unknown checks: {', '.join(wrong)}")
    checked = media_service.check_image(photo, settings)
    stored = media_service.store(settings, checked)
    row = SectionReport(
        event_id=event.id,
        section_id=section.id,
        task=task,
        at=at,
        checks=list(dict.fromkeys(checks)),
        note=(note or "")[:1000],
        photo_key=stored.key,
        thumb_key=stored.thumb_key,
        by=by,
    )
    session.add(row)
    session.flush()
    return row


def add_ticket(
    session: Session,
    event: SnowEvent,
    snow_field: SnowField,
    *,
    plate: str,
    entered_at: dt.datetime,
    volume_m3: float,
    section_code: str | None,
    by: str,
) -> GateTicket:
    """A gate ticket (运雪号牌) entered at the field's gate."""
    plate = vehicle_service.normalise_plate(plate)
    if not (math.isfinite(volume_m3) and 0 < volume_m3 <= 200):
        raise BadSnow("方量应在 0–200 m³ 之间", "volume_m3 must be within 0–200 m³")
    section_id = get_section(session, section_code).id if section_code else None
    row = GateTicket(
        event_id=event.id,
        field_id=snow_field.id,
        plate=plate,
        entered_at=entered_at,
        volume_m3=float(volume_m3),
        section_id=section_id,
        by=by,
        created_at=utcnow(),
    )
    session.add(row)
    session.flush()
    return row


def enter_workers(
    session: Session, event: SnowEvent, *, day: dt.date, unit_code: str, workers: int
) -> DayFigure:
    unit = org_queries.units_by_code(session, [unit_code]).get(unit_code)
    if unit is None:
        raise BadSnow(f"找不到单位 {unit_code}", f"unit {unit_code} not found")
    if not 0 <= workers <= 100_000:
        raise BadSnow("人次应在 0–100000 之间", "workers must be within 0–100000")
    row = session.get(DayFigure, (event.id, day, unit.id))
    if row is None:
        row = DayFigure(event_id=event.id, day=day, org_unit_id=unit.id, workers=workers)
        session.add(row)
    row.workers = workers
    session.flush()
    return row


# --- the state of an event ------------------------------------------------------------------


@dataclass
class Trip:
    plate: str
    vehicle_id: int | None
    field_id: int
    section_id: int | None
    entered_at: dt.datetime
    left_at: dt.datetime | None
    volume_m3: float
    source: str  # gps, ticket
    ticket_id: int | None = None


@dataclass
class TaskState:
    deadline: dt.datetime | None
    done_at: dt.datetime | None
    by: str  # report, gps, trips, ""

    def status(self, at: dt.datetime) -> str:
        """on_time, late, overdue (open past its deadline), open, as of `at`."""
        if self.done_at is not None and self.done_at <= at:
            if self.deadline is None or self.done_at <= self.deadline:
                return "on_time"
            return "late"
        if self.deadline is not None and at > self.deadline:
            return "overdue"
        return "open"

    def light(self, at: dt.datetime, start: dt.datetime | None, fraction: float) -> str:
        """done, green, yellow (past `fraction` of the time from 雪停 to the deadline), red
        (past the deadline), grey (no deadline yet)."""
        status = self.status(at)
        if status in ("on_time", "late"):
            return "done"
        if self.deadline is None or start is None:
            return "grey"
        if at > self.deadline:
            return "red"
        return "yellow" if at >= start + (self.deadline - start) * fraction else "green"


@dataclass
class SectionState:
    section: SnowSection
    dirty: bool
    clear: TaskState
    haul: TaskState
    hauled_m3: float
    need_m3: float


@dataclass
class EventState:
    event: SnowEvent
    now: dt.datetime
    sections: list[SectionState]
    fields: list[SnowField]
    trips: list[Trip]
    fills: dict[int, float]
    active: dict[dt.date, set[int]]  # day → vehicles with a working segment
    vehicle_units: dict[int, int]
    timings: dict[str, float] = field(default_factory=dict)


def _event_days(event: SnowEvent, end: dt.datetime) -> list[dt.date]:
    zone = local_zone()
    first = event.started_at.astimezone(zone).date()
    last = (end - dt.timedelta(microseconds=1)).astimezone(zone).date()
    return [first + dt.timedelta(days=k) for k in range((last - first).days + 1)]


def event_end(event: SnowEvent, now: dt.datetime) -> dt.datetime:
    return min(now, event.closed_at) if event.closed_at else now


def read_tracks(
    session: Session, start: dt.datetime, end: dt.datetime
) -> list[geometry.VehicleTrack]:
    """The snow vehicles' fixes in [start, end), one array per vehicle (read apart from the
    computation: the benchmark reports both)."""
    out = []
    for role, codes in (("clear", CLEARING_TYPES), ("haul", HAULING_TYPES)):
        for code in codes:
            try:
                kind = vehicle_service.get_type(session, code)
            except Exception:  # noqa: BLE001 - a type not registered: no such vehicles
                continue
            found = vehicle_service.vehicles(session, type_code=code)
            trackers: dict[int, list[int]] = {}
            for tracker in vehicle_service.trackers(session, vehicle_ids=[v.id for v in found]):
                trackers.setdefault(tracker.vehicle_id, []).append(tracker.id)
            for v in found:
                if not v.active:
                    continue
                columns = vehicle_queries.track_columns(session, trackers.get(v.id, []), start, end)
                out.append(
                    geometry.VehicleTrack(
                        vehicle_id=v.id,
                        plate=v.plate,
                        role=role,
                        low=kind.work_speed_min,
                        high=kind.work_speed_max,
                        capacity_m3=v.capacity_m3 or 0.0,
                        unit_id=v.org_unit_id,
                        columns=columns,
                    )
                )
    return out


def evaluate(
    session: Session,
    settings: Settings,
    event: SnowEvent,
    now: dt.datetime,
    tracks: list[geometry.VehicleTrack] | None = None,
) -> EventState:
    """Every section's clear and haul state, every trip and every field's fill of the event
    as of `now` (snow.md). `tracks`: the fixes already read (read_tracks), else read here."""
    import time

    timings: dict[str, float] = {}
    end = event_end(event, now)
    if tracks is None:
        began = time.perf_counter()
        tracks = read_tracks(session, event.started_at, end)
        timings["read_s"] = time.perf_counter() - began
    began = time.perf_counter()
    t0, t1 = event.started_at.timestamp(), end.timestamp()
    table = limits_table(session)
    dls = deadlines(event, table)
    sections = queries.sections(session)
    rows = queries.event_sections(session, event.id)
    fields = [f for f in queries.fields_of(session, event.id)]
    lines = [LineString(c) for c in geometry.project_shapes([s.coordinates for s in sections])]
    polygons = [Polygon(c) for c in geometry.project_shapes([f.polygon for f in fields])]
    geometry.project_all(tracks, geometry.field_boxes([f.polygon for f in fields]))
    gap = settings.coverage_segment_max_gap_s

    # clearing: checkpoints are the deadlines, the ends of the event's days and now
    days = _event_days(event, end)
    day_ends = [local_day(d)[1] for d in days]
    checkpoints = [m.timestamp() for m in day_ends if m < end] + [t1]
    # and each hour: a section's clear time is known to the hour, and a section cleared at one
    # hour is not measured again at the next (most are cleared by the first passes)
    hour = math.floor(t0 / 3600) * 3600 + 3600
    checkpoints += list(np.arange(hour, t1, 3600.0))
    for clear_dl, _haul_dl in dls.values():
        if clear_dl is not None and clear_dl < end:
            checkpoints.append(clear_dl.timestamp())
    segs, seg_t = [], []
    for tr in tracks:
        if tr.role == "clear":
            s, st = geometry.working_segments(tr, t0, t1, gap)
            segs.append(s)
            seg_t.append(st)
    segments = np.concatenate(segs) if segs else np.empty((0, 2, 2))
    seg_time = np.concatenate(seg_t) if seg_t else np.empty(0)
    gps_clear = geometry.clear_times(
        lines,
        segments,
        seg_time,
        checkpoints,
        settings.snow_clear_share,
        settings.coverage_road_buffer_m,
    )

    # trips
    grid = geometry.SectionGrid(
        [np.asarray(line.coords) for line in lines], settings.coverage_road_buffer_m
    )
    found = geometry.find_trips(
        [tr for tr in tracks if tr.role == "haul"],
        polygons,
        grid,
        t0,
        t1,
        settings.snow_trip_min_stay_s,
        settings.snow_trip_lookback_s,
    )
    trips = _with_tickets(session, settings, event, found, sections, fields, end)

    # fills
    fills = _fills(session, fields, trips, end)

    # hauling: trips' volume reaching area × depth, or a report
    per_section: dict[int, list[Trip]] = {}
    for trip in trips:
        if trip.section_id is not None:
            per_section.setdefault(trip.section_id, []).append(trip)
    reported: dict[tuple[int, str], dt.datetime] = {}
    for r in queries.reports(session, event.id):
        if r.at < end:
            reported.setdefault((r.section_id, r.task), r.at)
    states = []
    for k, section in enumerate(sections):
        clear_dl, haul_dl = dls[section.street_class]
        gps_at = (
            dt.datetime.fromtimestamp(gps_clear[k], dt.UTC) if math.isfinite(gps_clear[k]) else None
        )
        rep = reported.get((section.id, "clear"))
        clear_at, clear_by = _earliest((rep, "report"), (gps_at, "gps"))
        need = section.area_m2 * (event.depth_m or 0.0)
        hauled = 0.0
        trips_at = None
        for trip in sorted(per_section.get(section.id, []), key=lambda t: t.entered_at):
            hauled += trip.volume_m3
            if trips_at is None and need > 0 and hauled >= need - 1e-9:
                trips_at = trip.entered_at
        haul_at, haul_by = _earliest(
            (reported.get((section.id, "haul")), "report"), (trips_at, "trips")
        )
        row = rows.get(section.id)
        states.append(
            SectionState(
                section=section,
                dirty=bool(row and row.dirty),
                clear=TaskState(clear_dl, clear_at, clear_by),
                haul=TaskState(haul_dl, haul_at, haul_by),
                hauled_m3=hauled,
                need_m3=need,
            )
        )
    day_starts = [local_day(d)[0].timestamp() for d in days]
    by_index = geometry.active_days(tracks, t0, t1, gap, day_starts)
    active = {days[k]: v for k, v in by_index.items() if k < len(days)}
    timings["compute_s"] = time.perf_counter() - began
    return EventState(
        event=event,
        now=now,
        sections=states,
        fields=fields,
        trips=trips,
        fills=fills,
        active=active,
        vehicle_units={tr.vehicle_id: tr.unit_id for tr in tracks},
        timings=timings,
    )


def _earliest(*pairs: tuple[dt.datetime | None, str]) -> tuple[dt.datetime | None, str]:
    given = [(at, by) for at, by in pairs if at is not None]
    if not given:
        return None, ""
    return min(given, key=lambda p: p[0])


def _with_tickets(
    session: Session,
    settings: Settings,
    event: SnowEvent,
    found: list[geometry.FoundTrip],
    sections: list[SnowSection],
    fields: list[SnowField],
    end: dt.datetime,
) -> list[Trip]:
    """GPS trips with the volume of a matching gate ticket (same plate, entry within
    snow_ticket_match_s), and the tickets that match no GPS trip as trips themselves."""
    tickets = [t for t in queries.tickets(session, event.id) if t.entered_at < end]
    by_plate: dict[str, list[GateTicket]] = {}
    for ticket in tickets:
        by_plate.setdefault(ticket.plate, []).append(ticket)
    used: set[int] = set()
    window = settings.snow_ticket_match_s
    out = []
    for f in found:
        entered = dt.datetime.fromtimestamp(f.entered, dt.UTC)
        field_id = fields[f.field].id
        # snow.md: same plate, entry within 10 minutes (the nearest such ticket not used yet)
        near = [
            (abs(ticket.entered_at.timestamp() - f.entered), ticket.id, ticket)
            for ticket in by_plate.get(f.plate, [])
            if ticket.id not in used and abs(ticket.entered_at.timestamp() - f.entered) <= window
        ]
        match = min(near, key=lambda n: n[:2])[2] if near else None
        if match is not None:
            used.add(match.id)
        out.append(
            Trip(
                plate=f.plate,
                vehicle_id=f.vehicle_id,
                field_id=field_id,
                section_id=sections[f.section].id if f.section >= 0 else None,
                entered_at=entered,
                left_at=dt.datetime.fromtimestamp(f.left, dt.UTC),
                volume_m3=match.volume_m3 if match else f.capacity_m3,
                source="gps",
                ticket_id=match.id if match else None,
            )
        )
    for ticket in tickets:
        if ticket.id not in used:
            out.append(
                Trip(
                    plate=ticket.plate,
                    vehicle_id=None,
                    field_id=ticket.field_id,
                    section_id=ticket.section_id,
                    entered_at=ticket.entered_at,
                    left_at=None,
                    volume_m3=ticket.volume_m3,
                    source="ticket",
                    ticket_id=ticket.id,
                )
            )
    out.sort(key=lambda t: (t.entered_at, t.plate))
    return out


def _fills(
    session: Session, fields: list[SnowField], trips: list[Trip], end: dt.datetime
) -> dict[int, float]:
    """Fill = the latest survey by `end` (or the initial fill) + the trips that entered after
    it (and by `end`)."""
    latest: dict[int, FieldSurvey] = {}
    for row in queries.surveys(session, [f.id for f in fields]):
        if row.at <= end:
            latest[row.field_id] = row  # in time order: the last wins
    since = {f.id: latest[f.id].at if f.id in latest else None for f in fields}
    out = {f.id: latest[f.id].fill_m3 if f.id in latest else f.initial_fill_m3 for f in fields}
    for trip in trips:
        if trip.field_id not in out or trip.entered_at > end:
            continue
        after = since[trip.field_id]
        if after is None or trip.entered_at > after:
            out[trip.field_id] += trip.volume_m3
    return out


def active_event(session: Session, now: dt.datetime) -> SnowEvent | None:
    found = queries.events_at(session, now)
    return found[0] if found else None


# --- routing --------------------------------------------------------------------------------


def route_field(
    session: Session, event: SnowEvent, section: SnowSection, fills: dict[int, float] | None = None
) -> SnowField | None:
    """The nearest field a new trip from this section may go to: open (a field marked full or
    closed is off the routing), below its capacity, and of a kind that takes the section's
    snow (污雪 only to a dirty or both field)."""
    row = session.get(EventSection, (event.id, section.id))
    dirty = bool(row and row.dirty)
    line = section_line(section)
    best, best_d = None, math.inf
    for f in queries.fields_of(session, event.id):
        if f.state != "open":
            continue
        if dirty and f.kind == "clean":
            continue
        if fills is not None and fills.get(f.id, 0.0) >= f.capacity_m3:
            continue
        d = field_polygon(f).distance(line)
        if d < best_d:
            best, best_d = f, d
    return best


# --- checks: overdue tasks, 污雪 trips, field warnings -----------------------------------


def _open_case(
    session: Session,
    settings: Settings,
    *,
    lon: float | None,
    lat: float | None,
    address: str,
    description: str,
    unit_code: str | None,
    at: dt.datetime,
) -> str:
    """One case (source system) through citizen's intake; with `unit_code` it is accepted and
    dispatched to that unit (the section's), else routed as any report by its place."""
    prepared = citizen_service.prepare(
        session,
        settings,
        category=settings.snow_case_category,
        source="system",
        lon=lon,
        lat=lat,
        address=address,
        description=description,
        actor=Actor.system(),
        at=at,
        auto_dispatch=unit_code is None,
    )
    case = citizen_service.write(session, settings, prepared, find_duplicates=False).case
    if unit_code is not None:
        system = Actor.system()
        if case.state == "reported":
            cases_service.act(session, settings, case, "accept", actor=system, at=at)
        cases_service.act(
            session, settings, case, "dispatch", actor=system, at=at, payload={"unit": unit_code}
        )
    return case.code


def _middle(coords: list[list[float]]) -> tuple[float, float]:
    return tuple(coords[len(coords) // 2][:2])  # type: ignore[return-value]


def check_event(session: Session, settings: Settings, event: SnowEvent, now: dt.datetime) -> dict:
    """Decide what the event's state asks for, each once: a case for each task past its
    deadline and still open, on the section's unit; an alarm and a case for each 污雪 trip into
    a clean-only field; a warning each time a field's fill crosses 80 % and 95 %; a field
    whose fill reaches its capacity is marked full (off the routing)."""
    state = evaluate(session, settings, event, now)
    units = org_queries.code_names_by_id(session, {s.section.org_unit_id for s in state.sections})
    out = {"cases": 0, "alarms": 0, "warnings": 0}
    for s in state.sections:
        for task in TASKS:
            ts: TaskState = getattr(s, task)
            if ts.status(now) != "overdue":
                continue
            row = _event_section(session, event, s.section)
            attr = f"{task}_case"
            if getattr(row, attr):
                continue
            unit = units.get(s.section.org_unit_id, ("", ""))
            lon, lat = _middle(s.section.coordinates)
            code = _open_case(
                session,
                settings,
                lon=lon,
                lat=lat,
                address=s.section.name,
                description=(
                    f"{event.name}: 路段 {s.section.name} ({s.section.code}, "
                    f"{s.section.street_class} 类) {TASK_NAMES[task][0]}超时, 时限 "
                    f"{ts.deadline.astimezone(local_zone()):%m-%d %H:%M}, "
                    f"责任单位 {unit[1]} ({unit[0]})"
                ),
                unit_code=unit[0] or None,
                at=now,
            )
            setattr(row, attr, code)
            out["cases"] += 1
    dirty = {s.section.id for s in state.sections if s.dirty}
    by_field = {f.id: f for f in state.fields}
    by_section = {s.section.id: s.section for s in state.sections}
    for trip in state.trips:
        f = by_field.get(trip.field_id)
        if trip.section_id not in dirty or f is None or f.kind != "clean":
            continue
        if queries.alarm_exists(session, event.id, trip.plate, trip.entered_at):
            continue
        section = by_section[trip.section_id]
        lon, lat = f.polygon[0][:2]
        code = _open_case(
            session,
            settings,
            lon=lon,
            lat=lat,
            address=f.name,
            description=(
                f"{event.name}: 运雪车 {trip.plate} 将污雪 (路段 {section.name}) 运入净雪场 "
                f"{f.name}, 进场 {trip.entered_at.astimezone(local_zone()):%m-%d %H:%M}"
            ),
            unit_code=None,
            at=now,
        )
        session.add(
            TripAlarm(
                event_id=event.id,
                plate=trip.plate,
                entered_at=trip.entered_at,
                field_id=f.id,
                section_id=section.id,
                case_code=code,
                at=now,
            )
        )
        out["alarms"] += 1
    levels = sorted(int(x) for x in settings.snow_field_warn_percents.split(","))
    for f in state.fields:
        fill = state.fills.get(f.id, 0.0)
        percent = 100.0 * fill / f.capacity_m3
        level = max([lv for lv in levels if percent >= lv], default=0)
        if level > f.warned_level:
            for lv in levels:
                if f.warned_level < lv <= level:
                    session.add(FieldWarning(field_id=f.id, level=lv, fill_m3=fill, at=now))
                    out["warnings"] += 1
        f.warned_level = level  # below a level again: its next crossing warns again
        if fill >= f.capacity_m3 and f.state == "open":
            f.state = "full"
    session.flush()
    return out


def warnings_of(session: Session, field_ids: list[int]) -> list[FieldWarning]:
    return queries.warnings(session, field_ids)


def check_all(session: Session, settings: Settings, now: dt.datetime | None = None) -> dict:
    now = now or utcnow()
    total = {"cases": 0, "alarms": 0, "warnings": 0}
    for event in queries.events_at(session, now):
        for key, value in check_event(session, settings, event, now).items():
            total[key] += value
    return total


CHECK_JOB = scheduler.register(
    scheduler.Job(
        name="snow-checks",
        every=dt.timedelta(minutes=5),
        run=check_all,
        description="雪情检查: overdue sections and 污雪 trips open cases; field fill warnings",
    )
)


# --- citizens' road-snow reports ------------------------------------------------------------


def citizen_deadline(session: Session, case) -> dt.datetime | None:
    """snow.md: a citizen report of road snow during an event gets the event's clear deadline
    for the class of the section within the road buffer of it (the nearest; class C when none).
    A cap for cases.service.DEADLINE_CAPS (civicgrid.app puts it there)."""
    settings = get_settings()
    if getattr(case, "category_code", None) != settings.snow_report_category:
        return None
    if (
        getattr(case, "category_kind", "event") != "event"
        or getattr(case, "source", "") == "system"
    ):
        return None
    at = getattr(case, "reported_at", None) or utcnow()
    event = active_event(session, at)
    if event is None:
        return None
    dls = deadlines(event, limits_table(session))
    cls = "C"
    lon, lat = getattr(case, "lon", None), getattr(case, "lat", None)
    if lon is not None and lat is not None:
        sections = queries.sections(session)
        if sections:
            grid = geometry.SectionGrid(
                [np.asarray(section_line(s).coords) for s in sections],
                settings.coverage_road_buffer_m,
            )
            x, y = vehicle_coverage.project_xy([lon], [lat])
            k = int(grid.nearest(x, y)[0])
            if k >= 0:
                cls = sections[k].street_class
    return dls[cls][0]


# --- the daily report -----------------------------------------------------------------------


def daily_report(
    session: Session,
    settings: Settings,
    event: SnowEvent,
    day: dt.date,
    now: dt.datetime,
    state: EventState | None = None,
) -> dict:
    """snow.md's daily report for day D: the sections' tasks as of the end of D (or now) —
    on time, late, overdue, open — per street (the section's unit) and for the district;
    人次 from the day's work logs, else as entered; 台次 (vehicles with a working segment
    that day); trips and m³ per field and per street, of trips entering in [D, D+1)."""
    start, stop = local_day(day)
    at = min(stop, event_end(event, now))
    if state is None:
        state = evaluate(session, settings, event, at)
    unit_ids = {s.section.org_unit_id for s in state.sections}
    unit_ids |= {u for u in state.vehicle_units.values()}
    units = org_queries.code_names_by_id(session, unit_ids)
    blank = lambda: {  # noqa: E731
        "clear": {"on_time": 0, "late": 0, "overdue": 0, "open": 0},
        "haul": {"on_time": 0, "late": 0, "overdue": 0, "open": 0},
        "trips": 0,
        "volume_m3": 0.0,
        "workers": 0,
        "machines": 0,
    }
    streets: dict[int, dict] = {}
    for s in state.sections:
        row = streets.setdefault(s.section.org_unit_id, blank())
        for task in TASKS:
            row[task][getattr(s, task).status(at)] += 1
    section_unit = {s.section.id: s.section.org_unit_id for s in state.sections}
    fields: dict[int, dict] = {f.id: {"trips": 0, "volume_m3": 0.0} for f in state.fields}
    unknown = {"trips": 0, "volume_m3": 0.0}
    for trip in state.trips:
        if not (start <= trip.entered_at < stop) or trip.entered_at > at:
            continue
        fields.setdefault(trip.field_id, {"trips": 0, "volume_m3": 0.0})
        fields[trip.field_id]["trips"] += 1
        fields[trip.field_id]["volume_m3"] += trip.volume_m3
        unit = section_unit.get(trip.section_id)
        if unit is None:
            unknown["trips"] += 1
            unknown["volume_m3"] += trip.volume_m3
        else:
            streets.setdefault(unit, blank())["trips"] += 1
            streets[unit]["volume_m3"] += trip.volume_m3
    for vehicle_id in state.active.get(day, set()):
        unit = state.vehicle_units.get(vehicle_id)
        streets.setdefault(unit, blank())["machines"] += 1
    logs = worklog_queries.logs_of_units(session, list(streets), day, day)
    logged: dict[int, int] = {}
    for log in logs:
        logged[log.unit_id] = logged.get(log.unit_id, 0) + 1
    entered = _entered(session, event, day)
    for unit, row in streets.items():
        row["workers"] = logged.get(unit, entered.get(unit, 0))
        row["workers_from"] = (
            "worklogs" if unit in logged else ("entered" if unit in entered else "")
        )
    district = blank()
    for row in streets.values():
        for task in TASKS:
            for key, value in row[task].items():
                district[task][key] += value
        for key in ("trips", "volume_m3", "workers", "machines"):
            district[key] += row[key]
    district["trips"] += unknown["trips"]
    district["volume_m3"] += unknown["volume_m3"]
    names = {f.id: f for f in state.fields}
    return {
        "event": event.id,
        "event_name": event.name,
        "grade": event.grade,
        "day": day.isoformat(),
        "as_of": at,
        "district": district,
        "streets": [
            {"unit": units.get(u, ("", ""))[0], "unit_name": units.get(u, ("", ""))[1], **row}
            for u, row in sorted(streets.items(), key=lambda p: units.get(p[0], ("", ""))[0])
        ],
        "fields": [
            {
                "code": names[fid].code if fid in names else "",
                "name": names[fid].name if fid in names else "",
                "fill_m3": state.fills.get(fid, 0.0),
                "capacity_m3": names[fid].capacity_m3 if fid in names else 0.0,
                **row,
            }
            for fid, row in fields.items()
        ],
        "unknown_origin": unknown,
    }


def _entered(session: Session, event: SnowEvent, day: dt.date) -> dict[int, int]:
    return {r.org_unit_id: r.workers for r in queries.day_figures(session, event.id, day)}


STATUS_WORDS = {
    "on_time": ("按时", "on time"),
    "late": ("超时完成", "late"),
    "overdue": ("超时未完成", "overdue"),
    "open": ("未完成", "open"),
}


def report_xlsx(report: dict) -> bytes:
    """The daily report as a workbook: the streets and the district, then the fields."""
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.title = "街道"
    sheet.append([f"{report['event_name']} ({report['grade']}) 雪情日报 {report['day']}"])
    head = ["单位编码", "单位"]
    for task in TASKS:
        for key in STATUS_WORDS:
            head.append(f"{TASK_NAMES[task][0]}{STATUS_WORDS[key][0]}")
    head += ["人次", "台次", "车次", "方量 (m³)"]
    sheet.append(head)

    def line(code, name, row):
        values = [code, name]
        for task in TASKS:
            values += [row[task][key] for key in STATUS_WORDS]
        values += [row["workers"], row["machines"], row["trips"], round(row["volume_m3"], 1)]
        return values

    for row in report["streets"]:
        sheet.append(line(row["unit"], row["unit_name"], row))
    sheet.append(line("", "全区合计", report["district"]))
    fields = book.create_sheet("卸雪场")
    fields.append(["编码", "名称", "车次", "方量 (m³)", "存量 (m³)", "容量 (m³)"])
    for row in report["fields"]:
        fields.append(
            [
                row["code"],
                row["name"],
                row["trips"],
                round(row["volume_m3"], 1),
                round(row["fill_m3"], 1),
                row["capacity_m3"],
            ]
        )
    fields.append(
        [
            "",
            "来源不明",
            report["unknown_origin"]["trips"],
            round(report["unknown_origin"]["volume_m3"], 1),
            "",
            "",
        ]
    )
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


# --- the command centre's snow layout -------------------------------------------------------


def layout(session: Session, settings: Settings, now: dt.datetime) -> dict | None:
    """What /command shows during an event: sections coloured by state (their clear light),
    fields with fill bars, the trucks live; None when no event is going on."""
    event = active_event(session, now)
    if event is None:
        return None
    state = evaluate(session, settings, event, now)
    start = event.snow_end_at
    frac = settings.light_yellow_fraction
    return {
        "event": {"id": event.id, "name": event.name, "grade": event.grade},
        "sections": [
            {
                "code": s.section.code,
                "name": s.section.name,
                "class": s.section.street_class,
                "coordinates": s.section.coordinates,
                "clear": s.clear.light(now, start, frac),
                "haul": s.haul.light(now, start, frac),
                "open_first": s.section.open_first,
            }
            for s in state.sections
        ],
        "fields": [
            {
                "code": f.code,
                "name": f.name,
                "kind": f.kind,
                "state": f.state,
                "polygon": f.polygon,
                "fill_m3": round(state.fills.get(f.id, 0.0), 1),
                "capacity_m3": f.capacity_m3,
                "percent": round(100 * state.fills.get(f.id, 0.0) / f.capacity_m3, 1),
            }
            for f in state.fields
        ],
        "trucks": [
            {**p, "time": p["time"].isoformat() if p["time"] else None}
            for p in vehicle_queries.live_positions(session)
            if p["type"] in CLEARING_TYPES + HAULING_TYPES
        ],
    }


def conflict_if(cond: bool, zh: str, en: str) -> None:
    if cond:
        raise SnowConflict(zh, en)
