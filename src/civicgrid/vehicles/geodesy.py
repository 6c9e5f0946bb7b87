"""Great-circle distance as shared/reference/trips.md measures it (haversine, R = 6,378,137 m,
Traccar's DistanceCalculator)."""

from __future__ import annotations

import math

import numpy as np

EARTH_RADIUS_M = 6_378_137.0


_RAD = math.pi / 180  # math.radians(x) is x * this, bit for bit
_sin, _cos, _atan2, _sqrt = math.sin, math.cos, math.atan2, math.sqrt


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    # math.radians spelt out as its multiplication, and the functions bound once: a
    # vehicle-day's trips call this some 20,000 times
    d_lat = (lat2 - lat1) * _RAD
    d_lon = (lon2 - lon1) * _RAD
    a = _sin(d_lat / 2) ** 2 + _cos(lat1 * _RAD) * _cos(lat2 * _RAD) * _sin(d_lon / 2) ** 2
    return 2 * EARTH_RADIUS_M * _atan2(_sqrt(a), _sqrt(1 - a))


def distances_m(lat1, lon1, lat2, lon2):
    """distance_m over numpy arrays, pair by pair (the last bits may differ from math's)."""
    d_lat, d_lon = (lat2 - lat1) * _RAD, (lon2 - lon1) * _RAD
    a = np.sin(d_lat / 2) ** 2 + np.cos(lat1 * _RAD) * np.cos(lat2 * _RAD) * np.sin(d_lon / 2) ** 2
    return 2 * EARTH_RADIUS_M * np.arctan2(np.sqrt(a), np.sqrt(1 - a))
