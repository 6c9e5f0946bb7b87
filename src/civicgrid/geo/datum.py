"""WGS-84 ⇄ GCJ-02 ⇄ BD-09. Stored coordinates are WGS-84; other datums are converted at the edge.

The forward transforms are eviltransform's; the inverses are solved by fixed-point iteration to
below 1e-10 degrees (about 1 cm), far inside the 0.5 m the platform promises.
"""

from __future__ import annotations

import eviltransform as et
import numpy as np
import shapely

from civicgrid.kit.errors import BadRequest

DATUMS = ("wgs84", "gcj02", "bd09")
_EPS = 1e-10


def check_datum(datum: str) -> str:
    datum = (datum or "wgs84").lower().replace("-", "")
    if datum not in DATUMS:
        raise BadRequest(
            f"坐标系 {datum} 不支持, 请用 wgs84、gcj02 或 bd09",
            f"unknown datum {datum}; use wgs84, gcj02 or bd09",
        )
    return datum


def check_lonlat(lon: float, lat: float) -> None:
    if not (-180 <= lon <= 180 and -90 <= lat <= 90) or lon != lon or lat != lat:
        raise BadRequest(
            f"坐标超出范围: 经度 {lon}, 纬度 {lat}",
            f"coordinates out of range: lon {lon}, lat {lat}",
        )


def _invert(forward, lon: float, lat: float) -> tuple[float, float]:
    """The point p with forward(p) == (lon, lat)."""
    x, y = lon, lat
    for _ in range(50):
        fx, fy = forward(x, y)
        dx, dy = fx - lon, fy - lat
        x, y = x - dx, y - dy
        if abs(dx) < _EPS and abs(dy) < _EPS:
            break
    return x, y


def wgs_to_gcj(lon: float, lat: float) -> tuple[float, float]:
    la, lo = et.wgs2gcj(lat, lon)
    return lo, la


def gcj_to_bd(lon: float, lat: float) -> tuple[float, float]:
    la, lo = et.gcj2bd(lat, lon)
    return lo, la


def gcj_to_wgs(lon: float, lat: float) -> tuple[float, float]:
    return _invert(wgs_to_gcj, lon, lat)


def bd_to_gcj(lon: float, lat: float) -> tuple[float, float]:
    return _invert(gcj_to_bd, lon, lat)


def to_wgs84(lon: float, lat: float, datum: str = "wgs84") -> tuple[float, float]:
    datum = check_datum(datum)
    check_lonlat(lon, lat)
    if datum == "gcj02":
        return gcj_to_wgs(lon, lat)
    if datum == "bd09":
        return gcj_to_wgs(*bd_to_gcj(lon, lat))
    return lon, lat


def from_wgs84(lon: float, lat: float, datum: str = "wgs84") -> tuple[float, float]:
    datum = check_datum(datum)
    if datum == "gcj02":
        return wgs_to_gcj(lon, lat)
    if datum == "bd09":
        return gcj_to_bd(*wgs_to_gcj(lon, lat))
    return lon, lat


# The datum shift is not linear: a straight 0.3° edge converted by its end points alone strays
# up to 20 m from the true line (13 cm over 0.02°). Edges are cut to this length, in degrees,
# before converting, which keeps the error under a millimetre.
DENSIFY_DEGREES = 0.001


def shape_to_wgs84(geom, datum: str):
    """A shapely geometry in `datum` converted to WGS-84, long edges densified first."""
    datum = check_datum(datum)
    if datum == "wgs84":
        return geom

    def convert(coords: np.ndarray) -> np.ndarray:
        return np.array([to_wgs84(x, y, datum) for x, y in coords]).reshape(coords.shape)

    return shapely.transform(shapely.segmentize(geom, DENSIFY_DEGREES), convert)


def convert_geometry(geometry: dict, convert) -> dict:
    """A GeoJSON Polygon or MultiPolygon with `convert(lon, lat)` applied to every position."""

    def ring(r):
        return [list(convert(p[0], p[1])) for p in r]

    if geometry["type"] == "Polygon":
        return {"type": "Polygon", "coordinates": [ring(r) for r in geometry["coordinates"]]}
    return {
        "type": "MultiPolygon",
        "coordinates": [[ring(r) for r in poly] for poly in geometry["coordinates"]],
    }
