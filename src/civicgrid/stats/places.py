"""Trends and places: counts over time, top categories, hotspots, time distributions."""

from __future__ import annotations

import datetime as dt
import math
from collections import Counter, defaultdict

import h3
from sqlalchemy.orm import Session

from civicgrid.cases import queries as case_queries
from civicgrid.categories import queries as categories_queries
from civicgrid.geo import queries as geo_queries
from civicgrid.kit.errors import BadRequest
from civicgrid.kit.timefmt import local_zone

BUCKETS = ("day", "week", "month")
# Upper bounds of the distribution bins, in minutes (the last bin is open).
BINS_MIN = (5, 15, 30, 60, 120, 240, 480, 1440, 2880)


def _bucket(moment: dt.datetime, by: str) -> str:
    local = moment.astimezone(local_zone()).date()
    if by == "day":
        return local.isoformat()
    if by == "week":
        monday = local - dt.timedelta(days=local.weekday())
        return monday.isoformat()
    return local.strftime("%Y-%m")


def trend(session: Session, *, start: dt.datetime, end: dt.datetime, by: str = "day") -> dict:
    """Cases reported, registered and closed per day, week (from Monday) or month, local time.
    Every bucket of the period is listed, empty ones with zeros."""
    if by not in BUCKETS:
        raise BadRequest("by 应为 day、week 或 month", "by must be day, week or month")
    counts: dict[str, Counter] = defaultdict(Counter)
    for name, moments in case_queries.milestones_between(session, start=start, end=end).items():
        for moment in moments:
            counts[_bucket(moment, by)][name] += 1
    keys, cursor = [], start
    while cursor < end:
        key = _bucket(cursor, by)
        if not keys or keys[-1] != key:
            keys.append(key)
        cursor += dt.timedelta(days=1)
    return {
        "by": by,
        "series": [
            {
                "bucket": k,
                "reported": counts[k]["reported"],
                "registered": counts[k]["registered"],
                "closed": counts[k]["closed"],
            }
            for k in keys
        ],
    }


def top_categories(
    session: Session, *, start: dt.datetime, end: dt.datetime, limit: int = 10
) -> list[dict]:
    rows = case_queries.reported_between(session, start=start, end=end)
    counts = Counter(r.category_code for r in rows)
    names = categories_queries.names_by_code(session, counts)
    return [
        {"code": code, "name": names.get(code, code), "count": n}
        for code, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:limit]
    ]


def _ranked(counts: Counter, limit: int) -> list[tuple[str, int]]:
    """Most first; ties by key, so that the same data always gives the same list."""
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:limit]


def hotspots(
    session: Session,
    *,
    start: dt.datetime,
    end: dt.datetime,
    by: str = "grid",
    resolution: int = 9,
    limit: int = 50,
) -> list[dict]:
    """Where cases come from: per unit grid, or per H3 cell of the resolution (7-11)."""
    rows = case_queries.reported_between(session, start=start, end=end)
    if by == "grid":
        counts = Counter(r.grid_code for r in rows if r.grid_code)
        names = geo_queries.names_by_code(session, counts)
        return [{"key": k, "name": names.get(k, k), "count": n} for k, n in _ranked(counts, limit)]
    if by == "h3":
        if not 7 <= resolution <= 11:
            raise BadRequest("H3 分辨率应在 7 到 11 之间", "H3 resolution must be 7 to 11")
        counts = Counter(
            h3.latlng_to_cell(r.lat, r.lon, resolution) for r in rows if r.lat is not None
        )
        out = []
        for cell, n in _ranked(counts, limit):
            lat, lon = h3.cell_to_latlng(cell)
            out.append(
                {
                    "key": cell,
                    "count": n,
                    "lat": lat,
                    "lon": lon,
                    "boundary": [[b, a] for a, b in h3.cell_to_boundary(cell)],
                }
            )
        return out
    raise BadRequest("by 应为 grid 或 h3", "by must be grid or h3")


def distributions(session: Session, *, start: dt.datetime, end: dt.datetime) -> dict:
    """How long dispatch (report → dispatch) and handling (dispatch → close) took: bins of
    minutes, and the median and 90th percentile (nearest rank) in seconds."""
    rows = case_queries.reported_between(session, start=start, end=end)
    dispatch = sorted(
        (r.dispatched_at - r.reported_at).total_seconds() for r in rows if r.dispatched_at
    )
    handling = sorted(
        (r.closed_at - r.dispatched_at).total_seconds()
        for r in rows
        if r.closed_at and r.dispatched_at
    )

    def describe(values: list[float]) -> dict:
        bins = [0] * (len(BINS_MIN) + 1)
        for v in values:
            minutes = v / 60
            i = next((k for k, b in enumerate(BINS_MIN) if minutes <= b), len(BINS_MIN))
            bins[i] += 1

        def rank(q: float) -> float | None:
            return values[math.ceil(q * len(values)) - 1] if values else None

        labels = [f"≤{b}min" for b in BINS_MIN] + [f">{BINS_MIN[-1]}min"]
        return {
            "count": len(values),
            "median_s": rank(0.5),
            "p90_s": rank(0.9),
            "bins": [{"label": lab, "count": c} for lab, c in zip(labels, bins, strict=True)],
        }

    return {"dispatch": describe(dispatch), "handling": describe(handling)}
