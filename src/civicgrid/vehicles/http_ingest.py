"""Positions over HTTP: the OsmAnd protocol (Traccar Client and many phone apps) and batches
of JSON or NDJSON with a device token. Both feed the one store (ingest.store).

Positions are WGS-84 as the devices send them. OsmAnd speeds are knots (as Traccar reads
them); JSON speeds are km/h."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping

import orjson
from sqlalchemy.orm import Session

from civicgrid.kit.errors import BadRequest
from civicgrid.vehicles import ingest, service
from civicgrid.vehicles.exceptions import TrackerDisabled, TrackerNotFound

KNOT_KMH = 1.852
MAX_BATCH = 100_000


class BadFix(BadRequest):
    pass


def _time(value: object) -> dt.datetime:
    """Epoch seconds (or milliseconds, as some apps send) or an ISO 8601 time with offset."""
    if isinstance(value, bool):
        raise ValueError("not a time")
    if isinstance(value, int | float) or (
        isinstance(value, str) and value.replace(".", "", 1).isdigit()
    ):
        seconds = float(value)
        if seconds > 1e11:
            seconds /= 1000
        result = dt.datetime.fromtimestamp(seconds, dt.UTC)
    elif isinstance(value, str):
        result = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        if result.tzinfo is None:
            raise ValueError("a time needs its offset (Z or +08:00)")
        result = result.astimezone(dt.UTC)
    else:
        raise ValueError("not a time")
    if not 2000 <= result.year <= 2099:
        raise ValueError("year outside 2000–2099")
    return result


def _number(value: object, low: float, high: float) -> float:
    if isinstance(value, bool):
        raise ValueError("not a number")
    number = float(value)
    if not math.isfinite(number) or not low <= number <= high:
        raise ValueError(f"outside {low:g}…{high:g}")
    return number


def fix_from(item: Mapping, *, speed_factor: float = 1.0) -> ingest.FixIn:
    """One position from its fields (time|timestamp, lat, lon, speed, direction|bearing|
    heading, altitude, valid); ValueError naming what is wrong."""
    try:
        when = item.get("time", item.get("timestamp"))
        if when is None:
            raise ValueError("time missing")
        fix = ingest.FixIn(
            fix_time=_time(when),
            lat=_number(item["lat"], -90, 90),
            lon=_number(item["lon"], -180, 180),
        )
        if item.get("speed") not in (None, ""):
            fix.speed = _number(item["speed"], 0, 1000) * speed_factor
        for key in ("direction", "bearing", "heading"):
            if item.get(key) not in (None, ""):
                fix.direction = round(_number(item[key], 0, 360)) % 360
                break
        if item.get("altitude") not in (None, ""):
            fix.altitude = round(_number(item["altitude"], -1000, 10000))
        valid = item.get("valid")
        if valid is not None:
            fix.valid = valid if isinstance(valid, bool) else str(valid).lower() in ("1", "true")
        return fix
    except KeyError as exc:
        raise ValueError(f"{exc.args[0]} missing") from None
    except TypeError:
        raise ValueError("a value of the wrong kind") from None


def osmand(session: Session, params: Mapping[str, str]) -> ingest.Stored:
    """One OsmAnd position (id, lat, lon, timestamp, speed in knots, bearing, altitude)."""
    device = params.get("id") or params.get("deviceid") or ""
    tracker = service.tracker_by_terminal(session, device)
    if tracker is None or tracker.protocol != "osmand":
        raise TrackerNotFound(device)
    if not tracker.active:
        raise TrackerDisabled(device)
    try:
        fix = fix_from(params, speed_factor=KNOT_KMH)
    except ValueError as exc:
        raise BadFix(f"位置无效: {exc}", f"position invalid: {exc}") from None
    return ingest.store(session, tracker, [fix])


def osmand_json(session: Session, body: bytes) -> ingest.Stored:
    """Traccar Client's JSON form of OsmAnd: {"device_id", "location": {"timestamp",
    "coords": {"latitude", "longitude", "speed" (m/s), "heading", "altitude"}}}."""
    try:
        data = orjson.loads(body)
        location = data["location"]
        coords = location["coords"]
        params = {
            "id": str(data["device_id"]),
            "timestamp": location["timestamp"],
            "lat": coords["latitude"],
            "lon": coords["longitude"],
            "bearing": coords.get("heading"),
            "altitude": coords.get("altitude"),
        }
        speed = coords.get("speed")
        if speed not in (None, "") and not isinstance(speed, bool) and float(speed) >= 0:
            params["speed"] = float(speed) * 3.6 / KNOT_KMH  # m/s, as knots for osmand()
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
        raise BadFix(
            "不是 Traccar Client 的 JSON 位置", "not a Traccar Client JSON position"
        ) from None
    return osmand(session, params)


def parse_batch(body: bytes, content_type: str) -> list[dict]:
    """The items of a JSON array, a {"fixes": [...]} object or NDJSON lines."""
    try:
        if "ndjson" in content_type or "jsonlines" in content_type:
            items = [orjson.loads(line) for line in body.splitlines() if line.strip()]
        else:
            data = orjson.loads(body)
            items = data.get("fixes") if isinstance(data, dict) else data
    except orjson.JSONDecodeError as exc:
        raise BadFix("内容不是有效的 JSON", f"the body is not valid JSON: {exc}") from None
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise BadFix(
            "应为位置对象的数组 (或 NDJSON, 每行一个)",
            "expected an array of position objects (or NDJSON, one per line)",
        )
    if len(items) > MAX_BATCH:
        raise BadFix(f"一批最多 {MAX_BATCH} 个位置", f"at most {MAX_BATCH} positions a batch")
    return items


def batch(session: Session, token: str, body: bytes, content_type: str) -> ingest.Stored:
    """A device's batch, all or nothing: any unreadable position refuses the batch (400, each
    problem by its index); readable ones then pass the storage filters."""
    tracker = service.tracker_by_token(session, token)
    items = parse_batch(body, content_type)
    plain = ingest.plain_columns(items)
    if plain is not None:
        stored = ingest.store_plain(session, tracker, plain)
        if stored is not None:
            return stored
    fixes, problems = [], []
    for index, item in enumerate(items):
        try:
            fixes.append(fix_from(item))
        except ValueError as exc:
            problems.append({"index": index, "reason": str(exc)})
            if len(problems) >= 100:
                break
    if problems:
        raise BadFix(
            f"{len(problems)} 个位置无效, 整批未存",
            f"{len(problems)} positions invalid; nothing of the batch stored",
            extra={"problems": problems},
        )
    return ingest.store(session, tracker, fixes)
