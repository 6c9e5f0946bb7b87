"""Great-circle distance as shared/reference/trips.md measures it (haversine, R = 6,378,137 m,
Traccar's DistanceCalculator)."""

from __future__ import annotations

import math

EARTH_RADIUS_M = 6_378_137.0


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    d_lat = math.radians(lat2 - lat1)
    d_lon = math.radians(lon2 - lon1)
    a = (
        math.sin(d_lat / 2) ** 2
        + math.cos(math.radians(lat1)) * math.cos(math.radians(lat2)) * math.sin(d_lon / 2) ** 2
    )
    return 2 * EARTH_RADIUS_M * math.atan2(math.sqrt(a), math.sqrt(1 - a))
