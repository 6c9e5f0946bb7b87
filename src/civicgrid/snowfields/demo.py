"""The demo district's snow season: illustrative sections of classes A, B and C, two dumping
fields (one for 污雪), ploughs, a loader and haulers with JT/T 808 terminals, and a snowfall
(yesterday, 中雪) whose trucks' days civicgrid.demo sends through the gateway."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy.orm import Session

from civicgrid.kit.timefmt import local_zone
from civicgrid.org import queries as org_queries
from civicgrid.snowfields import queries, service
from civicgrid.vehicles import service as vehicle_service
from civicgrid.vehicles import simulate
from civicgrid.vehicles.exceptions import VehicleNotFound
from civicgrid.vehicles.simulate import Leg, SimFix

SANITATION = "230110901"  # 区环境卫生服务中心 (civicgrid.demo.DEPARTMENTS): the fleet's unit
DEPOT = (126.7180, 45.6900)
PLOUGH_KMH = 12.0  # a plough works up to 20 km/h (migration 0016)
LOADER_KMH = 6.0
HAUL_KMH = 15.0
TRANSIT_KMH = 30.0
DWELL_S = 300  # a trip is a stay of ≥ 120 s in a field (snow.md)

# (code, name, class, unit, coordinates, width m, 先通再净): illustrative, near
# vehicles.demo's roads
SECTIONS = [
    (
        "XS-A01",
        "中山路 (示意)",
        "A",
        "230110001",
        [(126.6650, 45.6866), (126.7000, 45.6866)],
        24,
        False,
    ),
    (
        "XS-A02",
        "红旗大街 (示意)",
        "A",
        "230110002",
        [(126.6706, 45.6800), (126.6706, 45.6950)],
        20,
        False,
    ),
    (
        "XS-A03",
        "公滨路引桥 (示意)",
        "A",
        "230110003",
        [(126.6900, 45.6770), (126.7000, 45.6760)],
        18,
        True,
    ),
    (
        "XS-B01",
        "香坊大街 (示意)",
        "B",
        "230110001",
        [(126.6856, 45.6800), (126.6856, 45.6970)],
        16,
        False,
    ),
    (
        "XS-B02",
        "通乡街 (示意)",
        "B",
        "230110003",
        [(126.6956, 45.6800), (126.7106, 45.6920)],
        14,
        False,
    ),
    (
        "XS-C01",
        "文政街 (示意)",
        "C",
        "230110002",
        [(126.6750, 45.6905), (126.6950, 45.6905)],
        10,
        False,
    ),
]
# (code, name, centre, half size in degrees (lon, lat), kind, capacity m³, initial m³)
FIELDS = [
    (
        "XF-01",
        "华茂大道兴盛路卸雪场 (示意)",
        (126.7250, 45.6950),
        (0.0012, 0.0008),
        "clean",
        60000,
        8000,
    ),
    (
        "XF-02",
        "成高子污雪消纳场 (示意)",
        (126.7300, 45.6790),
        (0.0010, 0.0007),
        "dirty",
        20000,
        1500,
    ),
]
DIRTY = ("XS-A03",)  # melting agent on the bridge approach: its snow goes to the 污雪 field


def _ring(centre, half) -> list[list[float]]:
    (x, y), (dx, dy) = centre, half
    return [[x - dx, y - dy], [x + dx, y - dy], [x + dx, y + dy], [x - dx, y + dy]]


def _line(code: str) -> list[tuple[float, float]]:
    return next(s[4] for s in SECTIONS if s[0] == code)


def _sweep(codes: list[str], speed: float) -> list[Leg]:
    legs = []
    for code in codes:
        a, b = _line(code)
        legs += [Leg(*a, TRANSIT_KMH), Leg(*b, speed), Leg(*a, speed)]
    return legs


# where a hauler leaves a section's end for the field without crossing another section
EXITS = {"XS-A02": (126.6706, 45.7005), "XS-B01": (126.6856, 45.7005)}


def _haul(codes: list[str]) -> list[Leg]:
    legs = []
    for code in codes:
        a, b = _line(code)
        field = FIELDS[1] if code in DIRTY else FIELDS[0]
        legs += [Leg(*a, TRANSIT_KMH), Leg(*b, HAUL_KMH)]
        if code in EXITS:
            legs.append(Leg(*EXITS[code], TRANSIT_KMH))
        legs.append(Leg(*field[2], TRANSIT_KMH, DWELL_S))
    return legs


@dataclass(frozen=True)
class SnowVehicle:
    plate: str
    type_code: str
    terminal: str  # JT/T 808 phone (12 digits)
    legs: list[Leg]
    capacity_m3: float | None = None

    def day(self, day: dt.date) -> list[SimFix]:
        return simulate.route_day(
            self.terminal, day, DEPOT, self.legs, transit_kmh=TRANSIT_KMH, start=dt.time(5, 30)
        )


FLEET = [
    SnowVehicle(
        "黑A56001", "snow_plough", "013800056001", _sweep(["XS-A01", "XS-A02"], PLOUGH_KMH)
    ),
    SnowVehicle(
        "黑A56002", "snow_plough", "013800056002", _sweep(["XS-A03", "XS-B01"], PLOUGH_KMH)
    ),
    SnowVehicle("黑A56101", "snow_loader", "013800056101", _sweep(["XS-B02"], LOADER_KMH)),
    SnowVehicle("黑A57001", "snow_hauler", "013800057001", _haul(["XS-A01", "XS-A02"]), 20.0),
    SnowVehicle("黑A57002", "snow_hauler", "013800057002", _haul(["XS-B01", "XS-A01"]), 20.0),
    SnowVehicle("黑A57003", "snow_hauler", "013800057003", _haul(["XS-A03"]), 15.0),
]


class _System:
    """The demo declares its snowfall as the district's leader would (no gathering notice:
    the forecast is past)."""

    username = "demo"

    def has_role(self, *roles: str) -> bool:
        return "leader" in roles


def ensure_snow(session: Session, now: dt.datetime) -> tuple[list[SnowVehicle], list[dt.date]]:
    """Sections, fields, the snow fleet and yesterday's snowfall; the vehicles and days whose
    fixes are to be sent, none when the demo's snow is already there."""
    try:
        vehicle_service.vehicle_by_plate(session, FLEET[0].plate)
        return [], []
    except VehicleNotFound:
        pass
    known = org_queries.units_by_code(session, {s[3] for s in SECTIONS})
    for code, name, cls, unit, coords, width, first in SECTIONS:
        service.save_section(
            session,
            code=code,
            name=name,
            street_class=cls,
            unit_code=unit if unit in known else SANITATION,
            coordinates=[list(c) for c in coords],
            width_m=width,
            open_first=first,
        )
    for code, name, centre, half, kind, capacity, initial in FIELDS:
        service.save_field(
            session,
            code=code,
            name=name,
            polygon=_ring(centre, half),
            capacity_m3=capacity,
            kind=kind,
            hours="00:00-24:00",
            lanes=2,
            initial_fill_m3=initial,
        )
    for v in FLEET:
        made = vehicle_service.create_vehicle(
            session,
            plate=v.plate,
            type_code=v.type_code,
            unit_code=SANITATION,
            capacity_m3=v.capacity_m3,
        )
        vehicle_service.create_tracker(
            session, terminal_id=v.terminal, protocol="jt808", vehicle_id=made.id
        )
    zone = local_zone()
    yesterday = now.astimezone(zone).date() - dt.timedelta(days=1)
    start = dt.datetime.combine(yesterday, dt.time(0), tzinfo=zone)
    event = service.declare(
        session,
        _System(),
        name=f"{yesterday:%m·%d} 降雪 (演示)",
        started_at=start,
        snow_end_at=start + dt.timedelta(hours=5),
        precipitation_mm=4.0,  # 中雪
        depth_m=0.01,
    )
    for code in DIRTY:
        service.set_dirty(session, event, queries.section_by_code(session, code), True)
    return FLEET, [yesterday, yesterday + dt.timedelta(days=1)]
