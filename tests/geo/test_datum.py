import math
import random

import pytest

from civicgrid.geo import datum
from civicgrid.kit.errors import BadRequest


def metres(a, b) -> float:
    (lon1, lat1), (lon2, lat2) = a, b
    kx = 111_320.0 * math.cos(math.radians((lat1 + lat2) / 2))
    return math.hypot((lon1 - lon2) * kx, (lat1 - lat2) * 110_574.0)


POINTS = [
    (126.56 + random.Random(i).random() * 0.44, 45.59 + random.Random(-i).random() * 0.23)
    for i in range(200)
] + [(116.391, 39.907), (121.47, 31.23), (113.26, 23.13), (87.6, 43.8), (91.1, 29.65)]


@pytest.mark.parametrize("name", ["gcj02", "bd09"])
def test_round_trip_error_is_below_half_a_metre(name):
    # Given WGS-84 points across Xiangfang and China's main cities
    worst = 0.0
    for p in POINTS:
        # When they go out to the datum and come back
        there = datum.from_wgs84(*p, name)
        back = datum.to_wgs84(*there, name)
        worst = max(worst, metres(p, back))
        # Then the datum really moved them (the test is not of an identity)
        assert metres(p, there) > 100
    assert worst < 0.5, worst
    assert worst < 0.01  # in fact about a centimetre or better


def test_gcj_offset_in_harbin_is_the_known_few_hundred_metres():
    # The GCJ-02 offset around Harbin is about 0.006° east and 0.002° north: several hundred
    # metres, the reason a GCJ-02 outline must be converted before mixing with GPS positions.
    lon, lat = datum.from_wgs84(126.65, 45.72, "gcj02")
    assert 0.004 < lon - 126.65 < 0.008
    assert 0.0005 < lat - 45.72 < 0.004


def test_outside_china_is_left_alone():
    assert datum.to_wgs84(2.35, 48.85, "gcj02") == (2.35, 48.85)


def test_bad_datum_and_coordinates_are_refused():
    with pytest.raises(BadRequest):
        datum.to_wgs84(126.6, 45.7, "mars")
    with pytest.raises(BadRequest):
        datum.to_wgs84(200, 45.7, "wgs84")
