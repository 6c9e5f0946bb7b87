"""The platform's fields onto ours: one JSON file an administrator edits (fields, category codes,
urgencies, datums, status codes). The packaged one is a generic JSON platform's; the setting
`hotline_mapping_path` names another."""

from __future__ import annotations

import datetime as dt
import json
import math
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from civicgrid.config import Settings
from civicgrid.hotline.exceptions import BadOrder

GENERIC = Path(__file__).parent / "mappings" / "generic.json"
FIELDS = (
    "order_no",
    "received_at",
    "channel",
    "caller_name",
    "caller_phone",
    "category",
    "content",
    "address",
    "lon",
    "lat",
    "datum",
    "urgency",
    "deadline",
    "attachments",
)
STATUSES = (
    "accepted",
    "returned",
    "extension_requested",
    "extension_approved",
    "extension_refused",
    "handled",
    "closed",
)


@dataclass(frozen=True)
class Mapping:
    name: str
    fields: dict[str, str]
    categories: dict[str, str]
    category_fallback: str | None
    urgencies: dict[str, str]
    urgency_default: str
    datums: dict[str, str]
    datum_default: str
    statuses: dict[str, str]
    orders_path: str
    return_window_working_days: float
    satisfaction: dict[str, Any] = field(default_factory=dict)


def load(path: str | Path) -> Mapping:
    """Read and check a mapping file: every field named, every status given a code."""
    raw = json.loads(Path(path).read_text(encoding="utf-8"))
    missing = [f for f in ("order_no", "category", "content") if f not in raw.get("fields", {})]
    unknown = [f for f in raw.get("fields", {}) if f not in FIELDS]
    no_code = [s for s in STATUSES if s not in raw.get("statuses", {})]
    if missing or unknown or no_code:
        raise ValueError(
            f"mapping {path}: missing fields {missing}, unknown fields {unknown}, "
            f"statuses without a code {no_code}"
        )
    return Mapping(
        name=raw.get("name", Path(path).stem),
        fields=raw["fields"],
        categories={str(k): str(v) for k, v in raw.get("categories", {}).items()},
        category_fallback=raw.get("category_fallback"),
        urgencies={str(k): v for k, v in raw.get("urgencies", {}).items()},
        urgency_default=raw.get("urgency_default", "normal"),
        datums={str(k).upper(): v for k, v in raw.get("datums", {}).items()},
        datum_default=raw.get("datum_default", "wgs84"),
        statuses=raw["statuses"],
        orders_path=raw.get("orders_path", "orders"),
        return_window_working_days=float(raw.get("return_window_working_days", 2)),
        satisfaction=raw.get("satisfaction", {}),
    )


@lru_cache(maxsize=4)
def _cached(path: str, mtime: float) -> Mapping:
    return load(path)


def current(settings: Settings) -> Mapping:
    """The mapping in use (re-read when its file changes)."""
    path = settings.hotline_mapping_path or str(GENERIC)
    return _cached(path, Path(path).stat().st_mtime)


def pick(data: dict, dotted: str | None) -> Any:
    """The value at `a.b.c` in nested objects, or None."""
    if not dotted:
        return None
    value: Any = data
    for part in dotted.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


@dataclass
class Order:
    """A work order in our words."""

    order_no: str
    category: str | None  # the platform's code mapped (None: unknown, see `platform_category`)
    platform_category: str
    content: str
    received_at: dt.datetime | None = None
    channel: str = ""
    caller_name: str = ""
    caller_phone: str = ""
    address: str = ""
    lon: float | None = None
    lat: float | None = None
    datum: str = "wgs84"
    urgency: str = "normal"
    deadline: dt.datetime | None = None
    attachments: list[str] = field(default_factory=list)


def _text(raw: dict, m: Mapping, name: str, limit: int, required: bool = False) -> str:
    platform = m.fields.get(name, name)
    value = pick(raw, m.fields.get(name))
    if value is None or value == "":
        if required:
            raise BadOrder(platform, "必填", "required")
        return ""
    if not isinstance(value, str | int):
        raise BadOrder(platform, "应为文字", "must be text")
    value = str(value).strip()
    if len(value) > limit:
        raise BadOrder(platform, f"不能超过 {limit} 字", f"at most {limit} characters")
    return value


def _time(raw: dict, m: Mapping, name: str) -> dt.datetime | None:
    platform = m.fields.get(name, name)
    value = pick(raw, m.fields.get(name))
    if value in (None, ""):
        return None
    try:
        moment = dt.datetime.fromisoformat(str(value))
    except ValueError:
        raise BadOrder(
            platform, "时间格式应为 ISO 8601 (带时区)", "must be an ISO 8601 time with an offset"
        ) from None
    if moment.tzinfo is None:
        raise BadOrder(platform, "时间须带时区", "the time must carry its UTC offset")
    if not 2000 <= moment.year <= 2099:
        raise BadOrder(platform, "年份须在 2000–2099 之间", "the year must be 2000–2099")
    return moment.astimezone(dt.UTC)


def _number(raw: dict, m: Mapping, name: str) -> float | None:
    value = pick(raw, m.fields.get(name))
    if value in (None, ""):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = math.nan
    if not math.isfinite(number):
        raise BadOrder(m.fields[name], "应为数字", "must be a number")
    return number


def map_order(raw: Any, m: Mapping, known_categories: set[str]) -> Order:
    """The platform's order in our words; BadOrder naming the platform's field when a value
    cannot be read. An unknown category is mapped to the fallback, else left None."""
    if not isinstance(raw, dict):
        raise BadOrder("(body)", "工单应为 JSON 对象", "an order is a JSON object")
    platform_category = _text(raw, m, "category", 40, required=True)
    category = m.categories.get(platform_category)
    if category is None and platform_category in known_categories:
        category = platform_category
    if category is None:
        category = m.category_fallback
    urgency_raw = _text(raw, m, "urgency", 20)
    urgency = m.urgencies.get(urgency_raw, None) if urgency_raw else m.urgency_default
    if urgency is None:
        raise BadOrder(
            m.fields["urgency"], f"未知紧急程度 {urgency_raw}", f"unknown urgency {urgency_raw}"
        )
    datum_raw = _text(raw, m, "datum", 20)
    datum = m.datums.get(datum_raw.upper(), datum_raw.lower()) if datum_raw else m.datum_default
    attachments = pick(raw, m.fields.get("attachments")) or []
    if not isinstance(attachments, list) or not all(isinstance(a, str) for a in attachments):
        raise BadOrder(
            m.fields.get("attachments", "attachments"), "应为网址列表", "must be a list of URLs"
        )
    return Order(
        order_no=_text(raw, m, "order_no", 64, required=True),
        category=category,
        platform_category=platform_category,
        content=_text(raw, m, "content", 2000, required=True),
        received_at=_time(raw, m, "received_at"),
        channel=_text(raw, m, "channel", 40),
        caller_name=_text(raw, m, "caller_name", 60),
        caller_phone=_text(raw, m, "caller_phone", 40),
        address=_text(raw, m, "address", 200),
        lon=_number(raw, m, "lon"),
        lat=_number(raw, m, "lat"),
        datum=datum,
        urgency=urgency,
        deadline=_time(raw, m, "deadline"),
        attachments=attachments[:20],
    )
