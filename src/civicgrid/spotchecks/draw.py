"""Draws anyone can verify (抽查抽样), algorithm `civicgrid-draw-v1` of
shared/reference/spotcheck-draw.md. Pure functions: no database, no clock, so that the same
inputs give the same draw on any machine. The working days that make a period's slots come
from the caller (the working calendar, as for deadlines)."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import re
import secrets
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

ALGORITHM = "civicgrid-draw-v1"
HALVES = ("AM", "PM")  # AM 08:30–12:00, PM 13:00–17:30
HALF_TIMES = {"AM": (dt.time(8, 30), dt.time(12, 0)), "PM": (dt.time(13, 0), dt.time(17, 30))}

PLAN_ID = re.compile(r"^[A-Za-z0-9-]+$")
SEED = re.compile(r"^[0-9a-f]{64}$")
WEEK = re.compile(r"^(\d{4})-W(\d{2})$")
MONTH = re.compile(r"^(\d{4})-(\d{2})$")
SLOT = re.compile(r"^(\d{4}-\d{2}-\d{2})/(AM|PM)$")


class DrawError(ValueError):
    """Input the draw refuses: (Chinese, English) messages naming the field."""

    def __init__(self, zh: str, en: str, field: str = "") -> None:
        super().__init__(f"{zh} / {en}")
        self.zh, self.en, self.field = zh, en, field


@dataclass(frozen=True)
class Stratum:
    id: str
    n: int
    candidates: tuple[str, ...]


@dataclass(frozen=True)
class Plan:
    id: str
    strata: tuple[Stratum, ...]

    def as_json(self) -> dict:
        return {
            "id": self.id,
            "strata": [
                {"id": s.id, "n": s.n, "candidates": list(s.candidates)} for s in self.strata
            ],
        }


@dataclass(frozen=True)
class Drawn:
    stratum: str
    code: str
    slot: str
    key: str

    def line(self) -> str:
        return f"{self.stratum} {self.code} {self.slot} {self.key}"


# --- inputs -----------------------------------------------------------------------------------


def parse_plan(data: object) -> Plan:
    """A plan from its JSON form `{"id": "P1", "strata": [{"id", "n", "candidates"}]}`."""
    if not isinstance(data, dict):
        raise DrawError("抽样计划须为 JSON 对象", "a plan is a JSON object", "plan")
    plan_id = data.get("id")
    if not isinstance(plan_id, str) or not PLAN_ID.match(plan_id):
        raise DrawError(
            "计划编号只能由字母、数字和 - 组成", "plan id: letters, digits and - only", "id"
        )
    raw = data.get("strata")
    if not isinstance(raw, list):
        raise DrawError("strata 须为列表", "strata must be a list", "strata")
    strata = []
    seen = set()
    for i, one in enumerate(raw):
        where = f"strata[{i}]"
        if not isinstance(one, dict):
            raise DrawError(f"{where} 须为对象", f"{where} must be an object", where)
        sid, n, cands = one.get("id"), one.get("n"), one.get("candidates")
        if not isinstance(sid, str) or not sid or any(c in sid for c in "| \t\r\n"):
            raise DrawError(
                f"{where}.id 须为不含空格和 | 的文字",
                f"{where}.id must be text without spaces or |",
                f"{where}.id",
            )
        if sid in seen:
            raise DrawError(f"分层 {sid} 重复", f"stratum {sid} is listed twice", f"{where}.id")
        seen.add(sid)
        if isinstance(n, bool) or not isinstance(n, int) or n < 0:
            raise DrawError(
                f"{where}.n 须为非负整数", f"{where}.n must be a whole number ≥ 0", f"{where}.n"
            )
        if not isinstance(cands, list) or not all(
            isinstance(c, str) and c and not any(x in c for x in " \t\r\n") for c in cands
        ):
            raise DrawError(
                f"{where}.candidates 须为不含空格的编码列表",
                f"{where}.candidates must be a list of codes without spaces",
                f"{where}.candidates",
            )
        strata.append(Stratum(sid, n, tuple(dict.fromkeys(cands))))
    return Plan(plan_id, tuple(strata))


def load_plan_text(text: str) -> Plan:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DrawError(f"计划文件不是 JSON: {exc}", f"the plan file is not JSON: {exc}") from exc
    return parse_plan(data)


def seed_bytes(seed: str) -> bytes:
    if not isinstance(seed, str) or not SEED.match(seed):
        raise DrawError(
            "种子须为 64 个小写十六进制字符 (32 字节)",
            "the seed is 64 lowercase hex characters (32 bytes)",
            "seed",
        )
    return bytes.fromhex(seed)


def new_seed() -> str:
    return secrets.token_bytes(32).hex()


def commitment(seed: str) -> str:
    """SHA-256 of the seed as its 64 ASCII hex characters, lowercase hex."""
    seed_bytes(seed)
    return hashlib.sha256(seed.encode("ascii")).hexdigest()


def period_days(period: str) -> list[dt.date]:
    """The calendar days of `YYYY-Www` (ISO week, Monday to Sunday) or `YYYY-MM`."""
    if m := WEEK.match(period or ""):
        year, week = int(m[1]), int(m[2])
        _check_year(year)
        try:
            monday = dt.date.fromisocalendar(year, week, 1)
        except ValueError as exc:
            raise DrawError(
                f"{year} 年没有第 {week} 周", f"{year} has no ISO week {week}", "period"
            ) from exc
        return [monday + dt.timedelta(days=i) for i in range(7)]
    if m := MONTH.match(period or ""):
        year, month = int(m[1]), int(m[2])
        _check_year(year)
        if not 1 <= month <= 12:
            raise DrawError("月份须为 01–12", "the month is 01 to 12", "period")
        day = dt.date(year, month, 1)
        days = []
        while day.month == month:
            days.append(day)
            day += dt.timedelta(days=1)
        return days
    raise DrawError(
        "期间须写作 YYYY-Www (ISO 周) 或 YYYY-MM",
        "the period is YYYY-Www (ISO week) or YYYY-MM",
        "period",
    )


def _check_year(year: int) -> None:
    if not 2000 <= year <= 2099:
        raise DrawError("年份须在 2000–2099 之间", "the year must be 2000 to 2099", "period")


def period_slots(period: str, is_workday: Callable[[dt.date], bool]) -> list[str]:
    """Each working day of the period × AM, PM, in order; refused when there is none."""
    slots = [f"{d.isoformat()}/{h}" for d in period_days(period) if is_workday(d) for h in HALVES]
    if not slots:
        raise DrawError(
            f"期间 {period} 没有工作日, 无法安排抽查时段",
            f"the period {period} has no working day, so no check window",
            "period",
        )
    return slots


def parse_slots(text: str | Sequence[str]) -> list[str]:
    """Slots given explicitly (`2026-11-23/AM,2026-11-23/PM`), in the order given."""
    parts = text.split(",") if isinstance(text, str) else list(text)
    slots = [p.strip() for p in parts if p.strip()]
    for slot in slots:
        m = SLOT.match(slot)
        try:
            ok = m is not None and 2000 <= dt.date.fromisoformat(m[1]).year <= 2099
        except ValueError:
            ok = False
        if not ok:
            raise DrawError(
                f"时段 {slot} 须写作 YYYY-MM-DD/AM 或 /PM",
                f"slot {slot} must be YYYY-MM-DD/AM or /PM",
                "slots",
            )
    if not slots:
        raise DrawError("没有可用的抽查时段", "no working slot was given", "slots")
    return slots


def slot_window(slot: str, tz) -> tuple[dt.datetime, dt.datetime]:
    m = SLOT.match(slot)
    if m is None:
        raise DrawError(f"时段 {slot} 无效", f"bad slot {slot}", "slot")
    day = dt.date.fromisoformat(m[1])
    start, end = HALF_TIMES[m[2]]
    return dt.datetime.combine(day, start, tz), dt.datetime.combine(day, end, tz)


# --- the draw ---------------------------------------------------------------------------------


def key(seed: bytes, plan: str, period: str, stratum: str, code: str) -> str:
    message = "|".join((ALGORITHM, plan, period, stratum, code)).encode("utf-8")
    return hmac.new(seed, message, hashlib.sha256).hexdigest()


def draw(plan: Plan, period: str, seed: str, slots: Sequence[str]) -> list[Drawn]:
    """Per stratum in the plan's order: the n candidates with the smallest keys, ascending,
    each in the slot its key's first 16 hex digits pick."""
    raw = seed_bytes(seed)
    period_days(period)  # checks its form
    if not slots:
        raise DrawError("没有可用的抽查时段", "no working slot", "slots")
    out: list[Drawn] = []
    for stratum in plan.strata:
        keyed = sorted(
            (key(raw, plan.id, period, stratum.id, c), c) for c in dict.fromkeys(stratum.candidates)
        )
        for k, code in keyed[: stratum.n]:
            out.append(Drawn(stratum.id, code, slots[int(k[0:16], 16) % len(slots)], k))
    return out


def render(seed: str, drawn: Iterable[Drawn]) -> str:
    """The published form: `commitment <hex>`, then one `stratum code slot key` per line."""
    return "\n".join([f"commitment {commitment(seed)}", *(d.line() for d in drawn)]) + "\n"
