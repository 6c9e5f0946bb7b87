"""Illustrative streets, communities and unit grids drawn inside a real district outline.

No public source publishes Xiangfang's street or grid boundaries, so the demo draws them:
Voronoi cells around seed points for streets and communities, then square cells of about
10,000 m² (100 m × 100 m) for unit grids, clipped to each community. Deterministic.
"""

from __future__ import annotations

import math

import shapely
from shapely.geometry import MultiPolygon, Polygon, box, mapping
from shapely.ops import voronoi_diagram

PRECISION = 1e-7  # degrees, about 1 cm


def rounded(geom):
    """The geometry on a 1e-7 degree grid, polygons only, so that children can be cut from it
    exactly as it will be stored."""
    return polygons_only(shapely.set_precision(geom, PRECISION))


def polygons_only(geom):
    """The polygonal part of a geometry (intersections may add lines or points)."""
    if geom.geom_type in ("Polygon", "MultiPolygon"):
        return geom
    parts = [g for g in getattr(geom, "geoms", []) if g.geom_type == "Polygon"]
    return MultiPolygon(parts) if parts else Polygon()


def voronoi_split(region, seeds: list[tuple[float, float]]) -> list:
    """The region cut into one cell per seed (cells in the seeds' order)."""
    if len(seeds) == 1:
        return [region]
    points = shapely.MultiPoint(seeds)
    cells = voronoi_diagram(points, envelope=region.envelope.buffer(0.1))
    out = []
    for seed in seeds:
        pt = shapely.Point(seed)
        cell = next(c for c in cells.geoms if c.covers(pt))
        out.append(polygons_only(cell.intersection(region)))
    return out


def lattice_seeds(region, spacing_deg: float) -> list[tuple[float, float]]:
    """Points of a square lattice that fall inside the region (at least one)."""
    minx, miny, maxx, maxy = region.bounds
    seeds = []
    y = miny + spacing_deg / 2
    while y < maxy:
        x = minx + spacing_deg / 2
        while x < maxx:
            if region.contains(shapely.Point(x, y)):
                seeds.append((x, y))
            x += spacing_deg
        y += spacing_deg
    if not seeds:
        p = region.representative_point()
        seeds.append((p.x, p.y))
    return seeds


def square_cells(region, side_m: float) -> list:
    """Squares of side_m metres covering the region, clipped to it (empty pieces dropped)."""
    lat0 = math.radians(region.centroid.y)
    dx = side_m / (111_320.0 * math.cos(lat0))
    dy = side_m / 110_574.0
    minx, miny, maxx, maxy = region.bounds
    nx, ny = math.ceil((maxx - minx) / dx), math.ceil((maxy - miny) / dy)
    squares = [
        box(minx + i * dx, miny + j * dy, minx + (i + 1) * dx, miny + (j + 1) * dy)
        for j in range(ny)
        for i in range(nx)
    ]
    tree = shapely.STRtree(squares)
    hits = tree.query(region, predicate="intersects")
    pieces = shapely.intersection([squares[i] for i in sorted(hits)], region)
    out = []
    for piece in pieces:
        piece = rounded(piece)
        if not piece.is_empty and piece.area > 0 and piece.is_valid:
            out.append(piece)
    return out


def feature(
    level: str,
    code: str,
    name: str,
    geom,
    parent: str | None = None,
    responsible: list[str] | None = None,
) -> dict:
    props = {"level": level, "code": code, "name": name, "datum": "wgs84"}
    if parent:
        props["parent"] = parent
    if responsible:
        props["responsible"] = responsible
    return {"type": "Feature", "geometry": mapping(geom), "properties": props}
