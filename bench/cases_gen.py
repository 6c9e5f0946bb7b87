"""Realistic case histories in the import format, made deterministically for benchmarks."""

from __future__ import annotations

import datetime as dt
import json
import random

CST = dt.timezone(dt.timedelta(hours=8))
CATEGORIES = [
    "06010",
    "06012",
    "07001",
    "09006",
    "09009",
    "06011",
    "06029",
    "01002",
    "01037",
    "03005",
    "09001",
    "08001",
]
WEIGHTS = [18, 10, 10, 9, 8, 6, 4, 5, 5, 5, 4, 3]


def iso(t: dt.datetime) -> str:
    return t.isoformat()


# Who acts (`by`), chosen from the case's number and not from the random stream, so that every
# other figure of a history is what it was before histories named their actors.
SUPERVISORS = [f"sup{k:02d}" for k in range(24)]
OPERATORS = [f"op{k}" for k in range(6)]
DISPATCHERS = [f"dp{k}" for k in range(4)]


def _actors(events: list[dict], i: int, source: str) -> None:
    for e in events:
        action = e["action"]
        if action == "report":
            if source == "supervisor":
                e["by"] = SUPERVISORS[i % len(SUPERVISORS)]
        elif action == "accept":
            e["by"] = OPERATORS[i % len(OPERATORS)]
        elif action == "dispatch":
            e["by"] = "system" if i % 10 == 0 else DISPATCHERS[i % len(DISPATCHERS)]
        elif action in ("verify_pass", "verify_fail"):
            e["by"] = SUPERVISORS[(i // 3) % len(SUPERVISORS)]
        elif action != "rate":
            e["by"] = "h1"


def histories(
    n: int,
    units: list[str],
    box: tuple[float, float, float, float],
    seed: int = 7,
    start: dt.datetime | None = None,
    span_days: int = 365,
):
    """n case histories (dicts): report, accept, dispatch, take, done, check, some rework,
    extensions, suspensions and ratings; times spread over `span_days` (a year)."""
    rng = random.Random(seed)
    start = start or dt.datetime(2025, 11, 1, tzinfo=CST)
    span = span_days * 86400
    for i in range(n):
        t = start + dt.timedelta(seconds=rng.uniform(0, span))
        ev = [{"at": iso(t), "action": "report"}]

        def add(minutes: float, action: str, _ev=ev, **extra) -> None:
            nonlocal t
            t = t + dt.timedelta(minutes=minutes)
            _ev.append({"at": iso(t), "action": action, **extra})

        add(rng.uniform(0, 10), "accept")
        deadline = t + dt.timedelta(hours=rng.choice([2, 4, 8, 24]))
        add(rng.uniform(0, 5), "dispatch", unit=rng.choice(units), deadline=iso(deadline))
        roll = rng.random()
        if roll > 0.05:
            add(rng.uniform(5, 90), "take")
            if rng.random() < 0.06:
                until = deadline + dt.timedelta(days=1)
                add(30, "extend_request", until=iso(until))
                add(20, "extend_approve", deadline=iso(until))
            if rng.random() < 0.03:
                add(10, "suspend", note="挂账")
                add(rng.uniform(60, 600), "resume")
            add(rng.uniform(20, 600), "report_done", note="已处置")
            if rng.random() < 0.1:
                add(60, "verify_fail", note="返工")
                add(rng.uniform(30, 300), "report_done", note="已返工")
            add(rng.uniform(20, 240), "verify_pass")
            if rng.random() < 0.5:
                add(rng.uniform(60, 2000), "rate", score=rng.choice([5, 5, 5, 4, 4, 3, 2, 1]))
        source = rng.choice(["citizen", "supervisor", "hotline", "open311"])
        _actors(ev, i, source)
        yield {
            "code": f"B{seed}-{i:08d}",
            "source": source,
            "category": rng.choices(CATEGORIES, WEIGHTS)[0],
            "urgency": "normal",
            "lon": round(rng.uniform(box[0], box[2]), 7),
            "lat": round(rng.uniform(box[1], box[3]), 7),
            "datum": "wgs84",
            "address": f"测试地址{i % 500}号",
            "description": "基准测试案件",
            "events": ev,
        }


def lines(*args, **kwargs):
    for obj in histories(*args, **kwargs):
        yield json.dumps(obj, ensure_ascii=False)
