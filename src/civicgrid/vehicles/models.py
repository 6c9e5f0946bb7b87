"""Vehicle tracks (车辆轨迹): vehicle types, vehicles, trackers and their fixes."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    Float,
    ForeignKey,
    Integer,
    SmallInteger,
    String,
    Table,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from civicgrid.kit import audit
from civicgrid.kit.db import Base, UTCDateTime, utcnow

PROTOCOLS = ("jt808", "osmand", "http")


class VehicleType(Base):
    """A kind of vehicle (垃圾车, 洒水车, 清扫车 ...): data, not code. Its work speed range
    (lower bound exclusive, km/h) says which fixes count as working for road coverage."""

    __tablename__ = "vehicle_types"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(40))
    work_speed_min: Mapped[float] = mapped_column(Float, default=0.0)
    work_speed_max: Mapped[float | None] = mapped_column(Float)


class Vehicle(Base):
    """A vehicle of a unit's fleet, known by its plate."""

    __tablename__ = "vehicles"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Plates are kept as the registry writes them (粤B88888); GBK-encodable, as JT/T 808 sends.
    plate: Mapped[str] = mapped_column(String(16), unique=True)
    type_id: Mapped[int] = mapped_column(ForeignKey("vehicle_types.id"), index=True)
    org_unit_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"), index=True)
    # Haulers: how much they carry (m³).
    capacity_m3: Mapped[float | None] = mapped_column(Float)
    note: Mapped[str] = mapped_column(String(200), default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    type: Mapped[VehicleType] = relationship(lazy="joined")


class Tracker(Base):
    """What sends positions: a JT/T 808 terminal in a vehicle, or a phone (OsmAnd or JSON over
    HTTP) carried in a vehicle or by a person. A track belongs to its tracker."""

    __tablename__ = "vehicle_trackers"
    __table_args__ = (
        CheckConstraint("(vehicle_id IS NULL) <> (person_id IS NULL)", name="vehicle_or_person"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # The terminal's id: a JT/T 808 terminal's phone number (digits, 12 or 20), an OsmAnd
    # client's device id.
    terminal_id: Mapped[str] = mapped_column(String(40), unique=True)
    protocol: Mapped[str] = mapped_column(String(10))
    vehicle_id: Mapped[int | None] = mapped_column(ForeignKey("vehicles.id"), index=True)
    person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"), index=True)
    # JT/T 808: the code 0x8100 gave the terminal, which it shows in 0x0102.
    auth_code: Mapped[str | None] = mapped_column(String(40))
    # HTTP ingest: the SHA-256 of the device token (the token itself is shown once).
    token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The last fix kept: the filters' reference (duplicate, jump) and the live map.
    last_fix_time: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    last_lon: Mapped[float | None] = mapped_column(Float)
    last_lat: Mapped[float | None] = mapped_column(Float)
    last_speed: Mapped[float | None] = mapped_column(Float)

    vehicle: Mapped[Vehicle | None] = relationship(lazy="joined")


class Fix(Base):
    """One position of one tracker. The key (tracker, fix time) is the index every track
    query walks, and refuses a second fix of the same second. On PostgreSQL the table is
    partitioned by day on fix_time (migration 0010), so retention drops whole days."""

    __tablename__ = "vehicle_fixes"
    __table_args__ = {"postgresql_partition_by": "RANGE (fix_time)"}

    tracker_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    fix_time: Mapped[dt.datetime] = mapped_column(UTCDateTime, primary_key=True)
    server_time: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    lon: Mapped[float] = mapped_column(Float)
    lat: Mapped[float] = mapped_column(Float)
    speed: Mapped[float] = mapped_column(Float, default=0.0)  # km/h
    direction: Mapped[int] = mapped_column(SmallInteger, default=0)  # degrees from north
    altitude: Mapped[int] = mapped_column(SmallInteger, default=0)  # metres
    # JT/T 808's alarm and status words as sent (DWORD each).
    alarm: Mapped[int] = mapped_column(BigInteger, default=0)
    status: Mapped[int] = mapped_column(BigInteger, default=0)
    mileage: Mapped[float | None] = mapped_column(Float)  # km, the terminal's odometer
    valid: Mapped[bool] = mapped_column(Boolean, default=True)
    # Sent later from the terminal's memory (JT/T 808 0x0704 type 1: 盲区补报).
    backfill: Mapped[bool] = mapped_column(Boolean, default=False)


RULES = ("日产即清", "夜产晨清")  # shared/reference/coverage.md

collection_point_vehicles = Table(
    "collection_point_vehicles",
    Base.metadata,
    Column("point_id", ForeignKey("collection_points.id"), primary_key=True),
    Column("vehicle_id", ForeignKey("vehicles.id"), primary_key=True, index=True),
)

road_vehicle_types = Table(
    "road_vehicle_types",
    Base.metadata,
    Column("road_id", ForeignKey("roads.id"), primary_key=True),
    Column("type_id", ForeignKey("vehicle_types.id"), primary_key=True),
)


class CollectionPoint(Base):
    """A rubbish collection point (垃圾收集点) with its rule (日产即清: served by 24:00 the same
    day; 夜产晨清: by 06:00) and the vehicles that serve it."""

    __tablename__ = "collection_points"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    lon: Mapped[float] = mapped_column(Float)
    lat: Mapped[float] = mapped_column(Float)
    rule: Mapped[str] = mapped_column(String(8))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    vehicles: Mapped[list[Vehicle]] = relationship(
        secondary=collection_point_vehicles, lazy="selectin"
    )


class CollectionCheck(Base):
    """The outcome of one point's window for day D: served (the visit's time) or missed (the
    case opened). Its key makes a missed window open exactly one case."""

    __tablename__ = "collection_checks"

    point_id: Mapped[int] = mapped_column(ForeignKey("collection_points.id"), primary_key=True)
    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    served: Mapped[bool] = mapped_column(Boolean)
    visit_time: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    case_code: Mapped[str | None] = mapped_column(String(40))
    checked_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class Road(Base):
    """A road (a LineString, WGS-84) a unit's vehicles of some types must work along."""

    __tablename__ = "roads"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    org_unit_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"), index=True)
    coordinates: Mapped[list] = mapped_column(JSON)  # [[lon, lat], ...]
    length_m: Mapped[float] = mapped_column(Float)  # in UTM zone 52N

    types: Mapped[list[VehicleType]] = relationship(secondary=road_vehicle_types, lazy="selectin")


GEOFENCE_KINDS = ("polygon", "circle", "line")


class Geofence(Base):
    """An area vehicles enter and leave: a polygon, a circle (centre and radius) or a road line
    buffered (default 20 m). Coordinates WGS-84; distances in UTM zone 52N."""

    __tablename__ = "geofences"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(8))
    # polygon: [[lon, lat], ...] (the ring); circle: [[lon, lat]]; line: [[lon, lat], ...]
    coordinates: Mapped[list] = mapped_column(JSON)
    # circle: the radius; line: the buffer (m)
    distance_m: Mapped[float | None] = mapped_column(Float)


audit.register(VehicleType)
audit.register(Vehicle)
audit.register(CollectionPoint)
audit.register(Road, skip=("coordinates",))
audit.register(Geofence, skip=("coordinates",))
audit.register(
    Tracker,
    secret=("auth_code", "token_hash"),
    skip=("last_fix_time", "last_lon", "last_lat", "last_speed"),
)
