from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict, Field


class VehicleTypeSave(BaseModel):
    code: str = Field(min_length=1, max_length=32, pattern=r"^[a-z0-9_]+$")
    name: str | None = Field(default=None, min_length=1, max_length=40)
    work_speed_min: float | None = Field(default=None, ge=0, le=200)
    work_speed_max: float | None = Field(default=None, gt=0, le=200)


class VehicleTypeRead(BaseModel):
    code: str
    name: str
    work_speed_min: float
    work_speed_max: float | None


class VehicleCreate(BaseModel):
    plate: str = Field(min_length=1, max_length=20)
    type: str = Field(min_length=1, max_length=32, description="vehicle type code")
    unit: str = Field(min_length=1, max_length=32, description="owning org unit code")
    capacity_m3: float | None = Field(default=None, gt=0, le=200)
    note: str = Field(default="", max_length=200)


class VehicleUpdate(BaseModel):
    plate: str | None = Field(default=None, min_length=1, max_length=20)
    type: str | None = Field(default=None, min_length=1, max_length=32)
    unit: str | None = Field(default=None, min_length=1, max_length=32)
    capacity_m3: float | None = Field(default=None, gt=0, le=200)
    note: str | None = Field(default=None, max_length=200)
    active: bool | None = None


class VehicleRead(BaseModel):
    id: int
    plate: str
    type: str
    type_name: str
    unit: str
    unit_name: str
    capacity_m3: float | None
    note: str
    active: bool
    terminals: list[str]


class TrackerCreate(BaseModel):
    terminal_id: str = Field(min_length=1, max_length=40)
    protocol: str = Field(default="jt808", max_length=10)
    vehicle_id: int | None = Field(default=None, ge=1, le=2**31 - 1)
    person_id: int | None = Field(default=None, ge=1, le=2**31 - 1)


class TrackerRead(BaseModel):
    id: int
    terminal_id: str
    protocol: str
    vehicle_id: int | None
    plate: str | None
    person_id: int | None
    active: bool
    last_fix_time: dt.datetime | None
    # only in the answer that creates an HTTP tracker: the device token, shown once
    token: str | None = None


class ImportRead(BaseModel):
    vehicles: int
    trackers: int
    tokens: dict[str, str]


class IngestRead(BaseModel):
    received: int
    stored: int
    dropped: int  # by the filters: invalid, (0, 0), duplicate, future, jumps


class CollectionPointCreate(BaseModel):
    code: str = Field(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_\-]+$")
    name: str = Field(min_length=1, max_length=100)
    lon: float = Field(ge=-180, le=180)
    lat: float = Field(ge=-90, le=90)
    rule: str = Field(description="日产即清 or 夜产晨清", max_length=8)
    plates: list[str] = Field(default=[], max_length=50)


class CollectionPointRead(BaseModel):
    code: str
    name: str
    lon: float
    lat: float
    rule: str
    plates: list[str]


class RoadCreate(BaseModel):
    code: str = Field(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_\-]+$")
    name: str = Field(min_length=1, max_length=100)
    unit: str = Field(min_length=1, max_length=32)
    types: list[str] = Field(min_length=1, max_length=20)
    coordinates: list[list[float]] = Field(
        min_length=2, max_length=5000, description="a LineString's [lon, lat] pairs, WGS-84"
    )


class GeofenceCreate(BaseModel):
    code: str = Field(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_\-]+$")
    name: str = Field(min_length=1, max_length=100)
    kind: str = Field(description="polygon, circle or line", max_length=8)
    coordinates: list[list[float]] = Field(min_length=1, max_length=5000)
    distance_m: float | None = Field(default=None, gt=0, le=50_000)


class _Open(BaseModel):
    # answers built by reports/coverage/geofences as plain values; the fields named here are
    # the ones every answer has
    model_config = ConfigDict(extra="allow")


class LivePosition(_Open):
    terminal_id: str
    time: str
    lon: float
    lat: float


class TrackRead(_Open):
    vehicle: dict
    points: list[list]


class ReportRead(_Open):
    vehicle: dict
    fixes: int
    trips: list[dict]
    stops: list[dict]
    summary: dict


class CoverageRead(_Open):
    day: str
    roads: list[dict]


class RoadRead(_Open):
    code: str
    length_m: float


class GeofenceRead(_Open):
    code: str
    kind: str


class GeofenceEvent(_Open):
    geofence: str
    event: str
    time: str


class IdleStretch(_Open):
    start: str
    end: str
    duration_s: int
