"""The demo's fleet (`civicgrid demo`): the district sanitation centre's sweepers, a sprinkler,
garbage trucks and an enforcement car with JT/T 808 terminals, a handler's phone as an HTTP
tracker, illustrative roads for coverage and collection points for 日产即清 / 夜产晨清.

The roads and points are illustrative (straight lines and dots in the north-west of the
district, near the demo's street seeds), as the demo's street boundaries are. Their days are
made by `simulate.route_day` and sent through the gateway and the HTTP ingest, never written as
rows: that is the composition root's part (civicgrid.demo)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy.orm import Session

from civicgrid.vehicles import coverage, service, simulate
from civicgrid.vehicles.exceptions import VehicleNotFound
from civicgrid.vehicles.simulate import Leg, SimFix

UNIT = "230110901"  # 区环境卫生服务中心 (civicgrid.demo.DEPARTMENTS)
DEPOT = (126.6800, 45.6900)
TRANSIT_KMH = 25.0
SWEEP_KMH = 6.0  # a sweeper's work speed is ≤ 8 km/h (coverage.md)
SPRINKLE_KMH = 12.0  # a sprinkler's ≤ 15 km/h
TRUCK_KMH = 20.0
WALK_KMH = 4.0
DWELL_AT_POINT_S = 120  # a visit is ≥ 60 s within 30 m (coverage.md)

# (code, name, coordinates, vehicle types)
ROADS = [
    ("R001", "中山路 (示意)", [(126.6650, 45.6860), (126.7000, 45.6860)]),
    ("R002", "红旗大街 (示意)", [(126.6700, 45.6800), (126.6700, 45.6950)]),
    ("R003", "香坊大街 (示意)", [(126.6850, 45.6800), (126.6850, 45.6970)]),
    ("R004", "通乡街 (示意)", [(126.6950, 45.6800), (126.7100, 45.6920)]),
]
ROAD_TYPES = ["sweeper", "sprinkler"]

# (code, name, lon, lat, rule, plates)
POINTS = [
    ("P001", "红旗小区收集点", 126.6682, 45.6862, "日产即清", ["黑A53001"]),
    ("P002", "中山路收集点", 126.6905, 45.6858, "日产即清", ["黑A53001"]),
    ("P003", "香坊大街南收集点", 126.6852, 45.6832, "日产即清", ["黑A53002"]),
    ("P004", "香坊大街北收集点", 126.6848, 45.6935, "夜产晨清", ["黑A53002"]),
    ("P005", "通乡街收集点", 126.7020, 45.6856, "日产即清", ["黑A53002"]),
    # on no truck's route: the collection-points job opens a case for it after 06:00
    ("P006", "六顺小区收集点", 126.6955, 45.6905, "夜产晨清", ["黑A53001"]),
]


def _sweep(codes: list[str], speed: float) -> list[Leg]:
    """Along each road and back (both sides), driving between roads at transit speed."""
    roads = {code: coords for code, _, coords in ROADS}
    legs: list[Leg] = []
    for code in codes:
        (lon0, lat0), (lon1, lat1) = roads[code][0], roads[code][-1]
        legs += [
            Leg(lon0, lat0, TRANSIT_KMH),
            Leg(lon1, lat1, speed),
            Leg(lon0, lat0, speed),
        ]
    return legs


def _collect(codes: list[str]) -> list[Leg]:
    where = {code: (lon, lat) for code, _, lon, lat, _, _ in POINTS}
    return [Leg(*where[code], TRUCK_KMH, DWELL_AT_POINT_S) for code in codes]


@dataclass(frozen=True)
class DemoVehicle:
    plate: str
    type_code: str
    terminal: str  # JT/T 808 phone (12 digits)
    legs: list[Leg]  # none: a day of day_of's random legs
    start: dt.time = dt.time(6, 30)  # out of the depot 20–50 minutes later

    def day(self, day: dt.date) -> list[SimFix]:
        if not self.legs:
            return simulate.day_of(self.terminal, day, DEPOT, 30.0)
        return simulate.route_day(
            self.terminal, day, DEPOT, self.legs, transit_kmh=TRANSIT_KMH, start=self.start
        )


FLEET = [
    DemoVehicle("黑A51001", "sweeper", "013800051001", _sweep(["R001", "R002"], SWEEP_KMH)),
    DemoVehicle("黑A51002", "sweeper", "013800051002", _sweep(["R003", "R004"], SWEEP_KMH)),
    DemoVehicle("黑A52001", "sprinkler", "013800052001", _sweep([c for c, *_ in ROADS], 12.0)),
    DemoVehicle("黑A53001", "garbage_truck", "013800053001", _collect(["P001", "P002"])),
    # an early round: P004's 夜产晨清 is due by 06:00
    DemoVehicle(
        "黑A53002",
        "garbage_truck",
        "013800053002",
        _collect(["P004", "P003", "P005"]),
        start=dt.time(4, 30),
    ),
    DemoVehicle("黑A55001", "enforcement", "013800055001", []),
]
# a handler's phone, sending batches over HTTP: walks 红旗大街 checking its points
PHONE_TERMINAL = "demo-phone-sanitation"
PHONE_LEGS = [Leg(126.6700, 45.6800, WALK_KMH, 300), Leg(126.6700, 45.6950, WALK_KMH, 300)]


def phone_day(day: dt.date) -> list[SimFix]:
    return simulate.route_day(PHONE_TERMINAL, day, DEPOT, PHONE_LEGS, transit_kmh=WALK_KMH)


@dataclass
class Fleet:
    vehicles: list[DemoVehicle]
    phone_token: str | None  # the phone's device token (shown once, only its hash is kept)


def ensure_fleet(session: Session, *, phone_person_id: int | None) -> Fleet | None:
    """The fleet, its trackers, roads and collection points; None when the demo's fleet is
    already there (a second `civicgrid demo` changes nothing)."""
    try:
        service.vehicle_by_plate(session, FLEET[0].plate)
        return None
    except VehicleNotFound:
        pass
    for vehicle in FLEET:
        made = service.create_vehicle(
            session, plate=vehicle.plate, type_code=vehicle.type_code, unit_code=UNIT
        )
        service.create_tracker(
            session, terminal_id=vehicle.terminal, protocol="jt808", vehicle_id=made.id
        )
    token = None
    if phone_person_id is not None:
        token = service.create_tracker(
            session, terminal_id=PHONE_TERMINAL, protocol="http", person_id=phone_person_id
        ).token
    for code, name, coords in ROADS:
        coverage.create_road(
            session,
            code=code,
            name=name,
            unit_code=UNIT,
            coordinates=[list(c) for c in coords],
            type_codes=ROAD_TYPES,
        )
    for code, name, lon, lat, rule, plates in POINTS:
        coverage.create_point(
            session, code=code, name=name, lon=lon, lat=lat, rule=rule, plates=plates
        )
    return Fleet(FLEET, token)


def sendable(fixes: list[SimFix], now: dt.datetime) -> list[SimFix]:
    """What a terminal could have sent by `now` (the ingest refuses fixes from the future)."""
    return [f for f in fixes if f.time <= now]
