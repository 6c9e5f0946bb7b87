"""The snow season's geometry over whole fleets at once (shared/reference/snow.md): numpy
arrays of each vehicle's fixes, one projection to UTM 52N for all of them, a grid join of
points against the sections' edges, shapely's vectorised point-in-polygon for the fields, and
vehicles.coverage.covered_lengths for the ploughs' coverage. No database here: service.py
reads the rows and calls these."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import shapely
from shapely import LineString, Polygon

from civicgrid.vehicles import coverage

INF = float("inf")
CHUNK = 16  # consecutive segments boxed together (a vehicle's path stays together)


@dataclass
class VehicleTrack:
    """One vehicle's fixes in time order: epoch seconds, lon, lat, speed (km/h), as
    vehicles.queries.track_columns reads them; `x`, `y` are filled by `project_all`."""

    vehicle_id: int
    plate: str
    role: str  # "clear" (plough, loader) or "haul" (hauler)
    low: float  # work speed range (low, high] of its type; high None: no working segment
    high: float | None
    capacity_m3: float
    unit_id: int
    columns: np.ndarray
    x: np.ndarray = field(default_factory=lambda: np.empty(0))
    y: np.ndarray = field(default_factory=lambda: np.empty(0))


def project_all(tracks: list[VehicleTrack], boxes: list[tuple[float, ...]] = ()) -> None:
    """Project to UTM 52N, in one call for all tracks, the fixes the geometry reads: a clearing
    vehicle's fixes that end a working segment, a hauler's fixes within `boxes` (lon/lat
    boxes around the fields, widened); the others stay NaN (a hauler's fixes before an entry
    are projected when find_trips reaches them)."""
    picks = []
    for t in tracks:
        c = t.columns
        if not len(c):
            picks.append(np.empty(0, dtype=np.int64))
            continue
        if t.role == "clear":
            seg = working_mask(t, -INF, INF, INF)
            point = np.zeros(len(c), dtype=bool)
            point[:-1] |= seg
            point[1:] |= seg
        else:
            point = np.zeros(len(c), dtype=bool)
            for x0, y0, x1, y1 in boxes:
                point |= (c[:, 1] >= x0) & (c[:, 1] <= x1) & (c[:, 2] >= y0) & (c[:, 2] <= y1)
        picks.append(np.flatnonzero(point))
    lon = np.concatenate([t.columns[k, 1] for t, k in zip(tracks, picks, strict=True)] or [[]])
    lat = np.concatenate([t.columns[k, 2] for t, k in zip(tracks, picks, strict=True)] or [[]])
    xs, ys = coverage.project_xy(lon, lat) if len(lon) else (np.empty(0), np.empty(0))
    at = 0
    for t, k in zip(tracks, picks, strict=True):
        t.x = np.full(len(t.columns), np.nan)
        t.y = np.full(len(t.columns), np.nan)
        t.x[k], t.y[k] = xs[at : at + len(k)], ys[at : at + len(k)]
        at += len(k)


def field_boxes(rings: list[list[list[float]]], margin: float = 0.002) -> list[tuple]:
    """Each field's lon/lat box widened by `margin` degrees (≥ 150 m at 45° N): every fix inside
    the field's UTM polygon lies in it."""
    out = []
    for ring in rings:
        a = np.asarray(ring, dtype=float)[:, :2]
        out.append((*(a.min(axis=0) - margin), *(a.max(axis=0) + margin)))
    return out


def project_shapes(shapes: list[list[list[float]]]) -> list[np.ndarray]:
    """Lists of [lon, lat] (sections' lines, fields' rings) → arrays of UTM x, y, in one call."""
    if not shapes:
        return []
    sizes = [len(c) for c in shapes]
    flat = np.array([p[:2] for c in shapes for p in c], dtype=float)
    xs, ys = coverage.project_xy(flat[:, 0], flat[:, 1])
    xy = np.column_stack([xs, ys])
    return np.split(xy, np.cumsum(sizes)[:-1])


def working_mask(track: VehicleTrack, start: float, end: float, max_gap: float) -> np.ndarray:
    """Which of the track's segments (fix k to fix k+1) are working (coverage.md)."""
    c = track.columns
    if track.high is None or len(c) < 2:
        return np.zeros(max(len(c) - 1, 0), dtype=bool)
    t, v = c[:, 0], c[:, 3]
    ok = (t >= start) & (t < end) & (v > track.low) & (v <= track.high)
    return ok[:-1] & ok[1:] & (np.diff(t) <= max_gap)


def working_segments(
    track: VehicleTrack, start: float, end: float, max_gap: float
) -> tuple[np.ndarray, np.ndarray]:
    """The track's working segments (coverage.md: two consecutive fixes ≤ max_gap apart, both
    in [start, end), both speeds in (low, high]) as (n, 2, 2) metres, and each one's end time."""
    keep = working_mask(track, start, end, max_gap)
    if not keep.any():
        return np.empty((0, 2, 2)), np.empty(0)
    xy = np.column_stack([track.x, track.y])
    return np.stack([xy[:-1][keep], xy[1:][keep]], axis=1), track.columns[1:, 0][keep]


def clear_times(
    lines: list[LineString],
    segments: np.ndarray,
    seg_time: np.ndarray,
    checkpoints: list[float],
    share: float = 0.9,
    distance: float = 20.0,
) -> np.ndarray:
    """For each line, the first checkpoint at which the working segments ending by then
    cover ≥ `share` of its length (coverage.covered_lengths, within `distance`), else inf.
    Each checkpoint measures only the lines not covered at an earlier one, against only the
    segments near them: the segments in runs of CHUNK, each run's box matched once with the
    lines' (an STRtree), so that a later checkpoint does not walk the cleared lines' passes."""
    out = np.full(len(lines), INF)
    if not len(lines) or not len(segments):
        return out
    lengths = np.array([line.length for line in lines])
    starts = np.arange(0, len(segments), CHUNK)
    low = np.minimum.reduceat(segments.min(axis=1), starts)
    high = np.maximum.reduceat(segments.max(axis=1), starts)
    boxes = shapely.box(low[:, 0], low[:, 1], high[:, 0], high[:, 1])
    chunk_at, line_at = shapely.STRtree(np.array(lines, dtype=object)).query(
        boxes, predicate="dwithin", distance=distance
    )
    seg_chunk = np.arange(len(segments)) // CHUNK
    remaining = np.arange(len(lines))
    alive = np.ones(len(lines), dtype=bool)
    done_count = -1
    for cp in sorted(set(checkpoints)):
        if not len(remaining):
            break
        chunk_ok = np.zeros(len(starts), dtype=bool)
        chunk_ok[chunk_at[alive[line_at]]] = True
        mask = chunk_ok[seg_chunk] & (seg_time <= cp)
        count = int(mask.sum())
        if count == 0 or count == done_count:
            continue  # no new segment near an open line since the last measure
        done_count = count
        covered = np.array(coverage.covered_lengths([lines[i] for i in remaining], segments[mask]))
        reached = covered >= share * lengths[remaining] - 1e-9
        out[remaining[reached]] = cp
        alive[remaining[reached]] = False
        remaining = remaining[~reached]
    return out


class SectionGrid:
    """The sections' edges in a grid of square cells: a point's candidate edges are those
    whose box, widened by `distance`, touches the point's cell; the exact point–segment
    distance decides. Vectorised over any number of points."""

    def __init__(self, lines: list[np.ndarray], distance: float, cell: float = 50.0):
        self.distance = distance
        self.cell = cell = max(cell, 2 * distance)
        if not lines:
            self.keys = np.empty(0, dtype=np.int64)
            self.edges = np.empty(0, dtype=np.int64)
            self.a = self.b = np.empty((0, 2))
            self.section = np.empty(0, dtype=np.int64)
            return
        self.a = np.concatenate([c[:-1] for c in lines])
        self.b = np.concatenate([c[1:] for c in lines])
        self.section = np.concatenate([np.full(len(c) - 1, k) for k, c in enumerate(lines)])
        lo = np.floor((np.minimum(self.a, self.b) - distance) / cell).astype(np.int64)
        hi = np.floor((np.maximum(self.a, self.b) + distance) / cell).astype(np.int64)
        nx, ny = hi[:, 0] - lo[:, 0] + 1, hi[:, 1] - lo[:, 1] + 1
        counts = nx * ny
        edge = np.repeat(np.arange(len(counts)), counts)
        k = np.arange(int(counts.sum())) - np.repeat(np.cumsum(counts) - counts, counts)
        cx = lo[edge, 0] + k // ny[edge]
        cy = lo[edge, 1] + k % ny[edge]
        keys = cx * (1 << 32) + cy
        order = np.argsort(keys, kind="stable")
        self.keys, self.edges = keys[order], edge[order]

    def nearest(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Each point's nearest section within the distance (index), or -1; ties: the
        lower index."""
        out = np.full(len(x), -1, dtype=np.int64)
        if not len(x) or not len(self.keys):
            return out
        pk = np.floor(x / self.cell).astype(np.int64) * (1 << 32) + np.floor(y / self.cell).astype(
            np.int64
        )
        left = np.searchsorted(self.keys, pk, "left")
        cnt = np.searchsorted(self.keys, pk, "right") - left
        total = int(cnt.sum())
        if not total:
            return out
        p = np.repeat(np.arange(len(x)), cnt)
        k = np.arange(total) - np.repeat(np.cumsum(cnt) - cnt, cnt)
        e = self.edges[np.repeat(left, cnt) + k]
        a, b = self.a[e], self.b[e]
        v = b - a
        w = np.column_stack([x[p], y[p]]) - a
        vv = (v * v).sum(axis=1)
        s = np.clip((w * v).sum(axis=1) / np.where(vv > 0, vv, 1.0), 0.0, 1.0)
        d = np.hypot(w[:, 0] - s * v[:, 0], w[:, 1] - s * v[:, 1])
        ok = d <= self.distance
        p, d, sec = p[ok], d[ok], self.section[e[ok]]
        if not len(p):
            return out
        order = np.lexsort((sec, d, p))
        p, sec = p[order], sec[order]
        first = np.ones(len(p), dtype=bool)
        first[1:] = p[1:] != p[:-1]
        out[p[first]] = sec[first]
        return out


def in_fields(x: np.ndarray, y: np.ndarray, polygons: list[Polygon]) -> np.ndarray:
    """Index of the field holding each point (the first when fields overlap), or -1."""
    out = np.full(len(x), -1, dtype=np.int64)
    for k, poly in enumerate(polygons):
        x0, y0, x1, y1 = poly.bounds
        near = np.flatnonzero((out < 0) & (x >= x0) & (x <= x1) & (y >= y0) & (y <= y1))  # NaN: out
        if len(near):
            hit = shapely.contains_xy(poly, x[near], y[near])
            out[near[hit]] = k
    return out


@dataclass
class FoundTrip:
    vehicle_id: int
    plate: str
    field: int  # index into the fields given
    section: int  # index into the sections given, -1: unknown origin
    entered: float
    left: float
    capacity_m3: float


def find_trips(
    haulers: list[VehicleTrack],
    fields: list[Polygon],
    grid: SectionGrid,
    start: float,
    end: float,
    min_stay_s: float = 120.0,
    lookback_s: float = 7200.0,
) -> list[FoundTrip]:
    """snow.md's trips: a hauler's run of consecutive fixes (in [start, end)) inside one
    field's polygon lasting ≥ min_stay_s from first to last fix; its section is the nearest
    section within the grid's distance of the last fix, before entering and in the lookback_s
    before it, that lies within that distance of a section (-1: none, unknown origin).

    The last such fix is searched backwards from each entry in blocks for all trips at once
    (the fixes just before an entry are the likeliest), so that a hauler's whole day is not
    joined against the sections."""
    parts_x, parts_y, parts_t, parts_lon, parts_lat = [], [], [], [], []
    entries, lows, lefts, fields_of, owners = [], [], [], [], []
    used = 0
    for h in haulers:
        if not len(h.columns):
            continue
        t = h.columns[:, 0]
        idx = np.flatnonzero((t >= start) & (t < end))
        if len(idx) < 2:
            continue
        t, x, y = t[idx], h.x[idx], h.y[idx]
        f = in_fields(x, y, fields)
        change = np.flatnonzero(np.diff(f)) + 1
        run_start = np.concatenate([[0], change])
        run_end = np.concatenate([change, [len(f)]]) - 1
        real = f[run_start] >= 0
        run_start, run_end = run_start[real], run_end[real]
        long = t[run_end] - t[run_start] >= min_stay_s
        run_start, run_end = run_start[long], run_end[long]
        if len(run_start):
            entries.append(run_start + used)
            lows.append(np.searchsorted(t, t[run_start] - lookback_s, "left") + used)
            lefts.append(t[run_end])
            fields_of.append(f[run_start])
            owners.extend([h] * len(run_start))
        parts_x.append(x)
        parts_y.append(y)
        parts_t.append(t)
        parts_lon.append(h.columns[idx, 1])
        parts_lat.append(h.columns[idx, 2])
        used += len(t)
    if not entries:
        return []
    X, Y, T = np.concatenate(parts_x), np.concatenate(parts_y), np.concatenate(parts_t)
    LON, LAT = np.concatenate(parts_lon), np.concatenate(parts_lat)
    entry = np.concatenate(entries)
    low = np.concatenate(lows)
    left = np.concatenate(lefts)
    field_at = np.concatenate(fields_of)
    section = np.full(len(entry), -1, dtype=np.int64)
    todo = np.arange(len(entry))
    done_back = np.zeros(len(entry), dtype=np.int64)  # fixes already searched before entry
    block = 16
    while len(todo):
        # for each trip still open: the `block` fixes before those already searched
        offs = np.arange(1, block + 1)
        idx = entry[todo, None] - done_back[todo, None] - offs[None, :]
        valid = idx >= low[todo, None]
        near = np.full(idx.shape, -1, dtype=np.int64)
        flat = idx[valid]
        todo_xy = flat[np.isnan(X[flat])]  # not projected yet (project_all leaves them)
        if len(todo_xy):
            X[todo_xy], Y[todo_xy] = coverage.project_xy(LON[todo_xy], LAT[todo_xy])
        near[valid] = grid.nearest(X[flat], Y[flat])
        hit = near >= 0
        has = hit.any(axis=1)
        first = np.argmax(hit, axis=1)  # the latest fix (offsets grow backwards)
        section[todo[has]] = near[has, first[has]]
        done_back[todo] += block
        still = ~has & valid[:, -1]  # no hit yet and the window reaches further back
        todo = todo[still]
        block *= 2
    enter_t = T[entry].tolist()
    return [
        FoundTrip(h.vehicle_id, h.plate, f, sec, e, lt, h.capacity_m3)
        for h, f, sec, e, lt in zip(
            owners, field_at.tolist(), section.tolist(), enter_t, left.tolist(), strict=True
        )
    ]


def active_days(
    tracks: list[VehicleTrack], start: float, end: float, max_gap: float, day_starts: list[float]
) -> dict[int, set[int]]:
    """For each day (index into the sorted day_starts), the vehicles with at least one working
    segment ending in it."""
    out: dict[int, set[int]] = {}
    edges = np.asarray(day_starts, dtype=float)
    for tr in tracks:
        keep = working_mask(tr, start, end, max_gap)
        if not keep.any():
            continue
        times = tr.columns[1:, 0][keep]
        for d in np.unique(np.searchsorted(edges, times, "right") - 1).tolist():
            if d >= 0:
                out.setdefault(d, set()).add(tr.vehicle_id)
    return out
