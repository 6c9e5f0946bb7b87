"""The in-memory point-to-area index: one shapely STRtree per level."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import shapely
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from civicgrid.geo.models import LEVELS, Area


@dataclass(frozen=True)
class Hit:
    code: str
    name: str
    level: str
    parent_code: str | None
    responsible: tuple[str, ...]


class _LevelTree:
    def __init__(self, hits: list[Hit], geoms: list):
        self.hits = hits
        self.tree = shapely.STRtree(geoms) if geoms else None

    def find(self, point) -> Hit | None:
        if self.tree is None:
            return None
        idx = self.tree.query(point, predicate="intersects")
        if len(idx) == 0:
            return None
        # On a shared edge the point touches several areas: the smallest code wins, always.
        return min((self.hits[i] for i in idx), key=lambda h: h.code)


class GeoIndex:
    """Maps a WGS-84 point to its grid, community, street and district."""

    RECHECK_SECONDS = 5.0

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._levels: dict[str, _LevelTree] = {}
        self._by_code: dict[str, Hit] = {}
        self._stamp: tuple | None = None
        self._checked = 0.0
        self._check_lock = threading.Lock()
        self.loaded = False

    @staticmethod
    def _db_stamp(session: Session) -> tuple:
        # two subqueries: each alone is an index lookup; together in one SELECT, a scan
        count = select(func.count()).select_from(Area).scalar_subquery()
        latest = select(func.max(Area.updated_at)).scalar_subquery()
        return tuple(session.execute(select(count, latest)).one())

    def rebuild(self, session: Session) -> None:
        """Load every area from the database and build the trees."""
        stamp = self._db_stamp(session)
        hits: dict[str, list[Hit]] = {lvl: [] for lvl in LEVELS}
        geoms: dict[str, list] = {lvl: [] for lvl in LEVELS}
        by_code: dict[str, Hit] = {}
        rows = session.execute(
            select(Area.code, Area.name, Area.level, Area.parent_code, Area.responsible, Area.wkb)
        ).all()
        shapes = shapely.from_wkb([r[5] for r in rows])
        for (code, name, level, parent, responsible, _), geom in zip(rows, shapes, strict=True):
            hit = Hit(code, name, level, parent, tuple(responsible or ()))
            hits[level].append(hit)
            geoms[level].append(geom)
            by_code[code] = hit
        levels = {lvl: _LevelTree(hits[lvl], geoms[lvl]) for lvl in LEVELS}
        with self._lock:
            self._levels, self._by_code, self._stamp = levels, by_code, stamp
            self._checked = time.monotonic()
            self.loaded = True

    def ensure_fresh(self, session: Session) -> None:
        """Rebuild when another process changed the areas (checked every few seconds)."""
        if self.loaded and time.monotonic() - self._checked < self.RECHECK_SECONDS:
            return
        if not self.loaded:
            self.rebuild(session)
            return
        # One thread checks; the others go on with the index they have meanwhile.
        if not self._check_lock.acquire(blocking=False):
            return
        try:
            if self._db_stamp(session) != self._stamp:
                self.rebuild(session)
            else:
                self._checked = time.monotonic()
        finally:
            self._check_lock.release()

    @property
    def stamp(self) -> tuple | None:
        """What the index was built from (the areas' count and latest change)."""
        return self._stamp

    def level_shapes(self, level: str) -> tuple[list[Hit], object]:
        """The areas of one level and their shapes (a shapely array), in the same order."""
        tree = self._levels.get(level)
        if tree is None or tree.tree is None:
            return [], []
        return tree.hits, tree.tree.geometries

    def in_box(self, level: str, box) -> list[tuple[Hit, object]]:
        """The areas of one level meeting a shapely box, with their shapes, in code order."""
        tree = self._levels.get(level)
        if tree is None or tree.tree is None:
            return []
        found = tree.tree.query(box, predicate="intersects")
        geoms = tree.tree.geometries
        return sorted(((tree.hits[i], geoms[i]) for i in found.tolist()), key=lambda p: p[0].code)

    def get(self, code: str | None) -> Hit | None:
        return self._by_code.get(code) if code else None

    def locate_many(self, points: list[tuple[float, float]]) -> list[dict[str, Hit | None]]:
        """`locate` for many points at once (one vectorised STRtree query for the grids)."""
        if not points:
            return []
        geoms = shapely.points(points)
        grid_tree = self._levels.get("grid")
        best: dict[int, Hit] = {}
        if grid_tree is not None and grid_tree.tree is not None:
            inputs, found = grid_tree.tree.query(geoms, predicate="intersects")
            for i, j in zip(inputs.tolist(), found.tolist(), strict=True):
                hit = grid_tree.hits[j]
                if i not in best or hit.code < best[i].code:
                    best[i] = hit
        out = []
        for i, (lon, lat) in enumerate(points):
            grid = best.get(i)
            if grid is None:
                out.append(self.locate(lon, lat))
                continue
            community, street, district = self._parents(grid)
            out.append(
                {"grid": grid, "community": community, "street": street, "district": district}
            )
        return out

    def _parents(self, grid: Hit) -> tuple[Hit | None, Hit | None, Hit | None]:
        """The community, street and district a grid names (None from the first one missing)."""
        community = self.get(grid.parent_code)
        street = self.get(community.parent_code) if community else None
        district = self.get(street.parent_code) if street else None
        return community, street, district

    def locate(self, lon: float, lat: float) -> dict[str, Hit | None]:
        """The areas holding the point, by level; a level is None when no area holds it."""
        point = shapely.Point(lon, lat)
        levels = self._levels
        grid = levels["grid"].find(point) if "grid" in levels else None
        if grid is not None:
            # the usual case: the grid names the rest, no other tree is asked
            community, street, district = self._parents(grid)
            if district is not None:
                return {
                    "district": district,
                    "street": street,
                    "community": community,
                    "grid": grid,
                }
        found = {
            lvl: levels[lvl].find(point) if lvl in levels else None
            for lvl in LEVELS
            if lvl != "grid"
        }
        found["grid"] = grid  # asked already
        # A grid names its community and street even where those polygons are coarser.
        if grid is not None:
            community = self.get(grid.parent_code)
            if community is not None:
                found["community"] = community
                found["street"] = self.get(community.parent_code) or found["street"]
        elif found["community"] is not None:
            found["street"] = self.get(found["community"].parent_code) or found["street"]
        if found["street"] is not None and found["street"].parent_code:
            found["district"] = self.get(found["street"].parent_code) or found["district"]
        return found


index = GeoIndex()
