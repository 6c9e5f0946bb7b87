"""A vehicle's track, trips, stops and summary over a period, as JSON-ready values and xlsx."""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass

from sqlalchemy.orm import Session

from civicgrid.config import get_settings
from civicgrid.kit.errors import BadRequest
from civicgrid.kit.sheets import xlsx_append
from civicgrid.kit.timefmt import local_zone, parse_time
from civicgrid.vehicles import motion, queries, service
from civicgrid.vehicles.models import Vehicle

MAX_PERIOD = dt.timedelta(days=31)


class BadPeriod(BadRequest):
    pass


@dataclass
class Period:
    start: dt.datetime
    end: dt.datetime


def period(day: str | None, start: str | None, end: str | None) -> Period:
    """A local calendar day (`day`, 2026-11-29) or [start, end) (ISO 8601, local without an
    offset); at most 31 days."""
    if day:
        if len(day.strip()) != 10:
            raise BadPeriod("day 应为日期 (如 2026-11-29)", "day must be a date (e.g. 2026-11-29)")
        first = parse_time(day, "day")
        begin = first.replace(tzinfo=None)
        zone = local_zone()
        return Period(
            begin.replace(tzinfo=zone), (begin + dt.timedelta(days=1)).replace(tzinfo=zone)
        )
    if not (start and end):
        raise BadPeriod("须给出 day, 或 from 与 to", "give a day, or both from and to")
    result = Period(parse_time(start, "from"), parse_time(end, "to"))
    if result.end <= result.start:
        raise BadPeriod("to 须晚于 from", "to must be after from")
    if result.end - result.start > MAX_PERIOD:
        raise BadPeriod("一次最多查询 31 天", "at most 31 days at a time")
    return result


def settings() -> motion.Settings:
    s = get_settings()
    return motion.Settings(
        min_distance=s.trip_min_distance_m,
        min_duration=s.trip_min_duration_s,
        stop_gap=s.trip_stop_gap_s,
    )


def points(session: Session, vehicle: Vehicle, when: Period) -> list[motion.Point]:
    ids = queries.tracker_ids_of_vehicle(session, vehicle.id)
    return queries.track(session, ids, when.start, when.end)


def _iso(value: dt.datetime) -> str:
    return value.astimezone(local_zone()).isoformat()


def trip_dict(trip: motion.Trip) -> dict:
    return {
        "start_time": _iso(trip.start.time),
        "start_lon": trip.start.lon,
        "start_lat": trip.start.lat,
        "end_time": _iso(trip.end.time),
        "end_lon": trip.end.lon,
        "end_lat": trip.end.lat,
        "distance_m": round(trip.distance, 1),
        "duration_s": round(trip.duration),
        "average_speed_kmh": round(trip.average_speed, 2),
        "max_speed_kmh": round(trip.max_speed, 2),
        "open": trip.open,
    }


def stop_dict(stop: motion.Stop) -> dict:
    return {
        "start_time": _iso(stop.start),
        "end_time": _iso(stop.end),
        "lon": stop.lon,
        "lat": stop.lat,
        "duration_s": round(stop.duration),
        "open": stop.open,
    }


def summary_dict(total: motion.Summary) -> dict:
    return {
        "distance_m": round(total.distance, 1),
        "moving_s": round(total.moving),
        "parked_s": round(total.parked),
        "max_speed_kmh": round(total.max_speed, 2),
        "average_speed_kmh": round(total.average_speed, 2),
        "trips": total.trips,
        "stops": total.stops,
    }


def report(session: Session, vehicle_id: int, when: Period) -> dict:
    """The vehicle, the period, its trips, stops and summary."""
    vehicle = service.get_vehicle(session, vehicle_id)
    found = points(session, vehicle, when)
    legs = motion.legs(found)
    trips, stops = motion.trips_and_stops(found, settings(), legs)
    return {
        "vehicle": {"id": vehicle.id, "plate": vehicle.plate, "type": vehicle.type.name},
        "from": _iso(when.start),
        "to": _iso(when.end),
        "fixes": len(found),
        "trips": [trip_dict(t) for t in trips],
        "stops": [stop_dict(s) for s in stops],
        "summary": summary_dict(motion.summary(found, trips, stops, legs)),
    }


def track(session: Session, vehicle_id: int, when: Period) -> dict:
    """The fixes for playback: [epoch seconds, lon, lat, speed km/h, direction, alarm,
    backfill] each, time order."""
    vehicle = service.get_vehicle(session, vehicle_id)
    ids = queries.tracker_ids_of_vehicle(session, vehicle.id)
    rows = queries.track_rows(session, ids, when.start, when.end)
    return {
        "vehicle": {"id": vehicle.id, "plate": vehicle.plate, "type": vehicle.type.name},
        "from": _iso(when.start),
        "to": _iso(when.end),
        "points": [[r[0], r[1], r[2], r[3], r[4], r[5], bool(r[6])] for r in rows],
    }


def xlsx(data: dict) -> bytes:
    """The report as a workbook: 概要, 行程, 停车."""
    from openpyxl import Workbook

    book = Workbook()
    head = book.active
    head.title = "概要"
    total = data["summary"]
    for row in (
        ("车牌号", data["vehicle"]["plate"]),
        ("车辆类型", data["vehicle"]["type"]),
        ("开始", data["from"]),
        ("结束", data["to"]),
        ("里程 (km)", round(total["distance_m"] / 1000, 3)),
        ("行驶时长 (分钟)", round(total["moving_s"] / 60, 1)),
        ("停车时长 (分钟)", round(total["parked_s"] / 60, 1)),
        ("最高速度 (km/h)", total["max_speed_kmh"]),
        ("平均速度 (km/h)", total["average_speed_kmh"]),
        ("行程数", total["trips"]),
        ("停车次数", total["stops"]),
    ):
        xlsx_append(head, row)
    sheet = book.create_sheet("行程")
    xlsx_append(
        sheet,
        (
            "开始时间",
            "开始经度",
            "开始纬度",
            "结束时间",
            "结束经度",
            "结束纬度",
            "里程 (m)",
            "时长 (秒)",
            "平均速度 (km/h)",
            "最高速度 (km/h)",
            "未结束",
        ),
    )
    for t in data["trips"]:
        xlsx_append(
            sheet,
            (
                t["start_time"],
                t["start_lon"],
                t["start_lat"],
                t["end_time"],
                t["end_lon"],
                t["end_lat"],
                t["distance_m"],
                t["duration_s"],
                t["average_speed_kmh"],
                t["max_speed_kmh"],
                "是" if t["open"] else "",
            ),
        )
    sheet = book.create_sheet("停车")
    xlsx_append(sheet, ("开始时间", "结束时间", "经度", "纬度", "时长 (秒)", "未结束"))
    for s in data["stops"]:
        xlsx_append(
            sheet,
            (
                s["start_time"],
                s["end_time"],
                s["lon"],
                s["lat"],
                s["duration_s"],
                "是" if s["open"] else "",
            ),
        )
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
