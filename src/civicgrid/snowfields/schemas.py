"""The snow season's JSON shapes."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class LimitRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    grade: str
    street_class: str
    clear_hours: float
    haul_hours: float
    source: str
    updated_at: dt.datetime | None
    updated_by: str | None


class LimitWrite(BaseModel):
    model_config = ConfigDict(extra="forbid")
    clear_hours: float = Field(gt=0, le=720)
    haul_hours: float = Field(gt=0, le=720)


class EventCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=80)
    started_at: str = Field(max_length=40, description="ISO 8601; without an offset, local time")
    snow_end_at: str | None = Field(default=None, max_length=40, description="ISO 8601")
    grade: str | None = Field(default=None, max_length=8, description="小雪 … 特大暴雪")
    precipitation_mm: float | None = Field(default=None, ge=0, le=1000)
    depth_m: float = Field(default=0.0, ge=0, le=5)
    forecast_at: str | None = Field(default=None, max_length=40, description="ISO 8601")


class EventUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    snow_end_at: str | None = Field(default=None, max_length=40, description="ISO 8601")
    grade: str | None = Field(default=None, max_length=8)
    precipitation_mm: float | None = Field(default=None, ge=0, le=1000)
    depth_m: float | None = Field(default=None, ge=0, le=5)
    closed_at: str | None = Field(default=None, max_length=40, description="ISO 8601")


class Deadline(BaseModel):
    street_class: str
    clear_by: dt.datetime | None
    haul_by: dt.datetime | None


class EventRead(BaseModel):
    id: int
    name: str
    started_at: dt.datetime
    snow_end_at: dt.datetime | None
    grade: str
    precipitation_mm: float | None
    depth_m: float
    forecast_at: dt.datetime | None
    gather_notice_id: int | None
    closed_at: dt.datetime | None
    created_by: str
    deadlines: list[Deadline]


class SectionWrite(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=80)
    street_class: Literal["A", "B", "C"]
    unit: str = Field(max_length=32)
    coordinates: list[list[float]] = Field(min_length=2, max_length=2000)
    width_m: float | None = Field(default=None, gt=0, le=200)
    area_m2: float | None = Field(default=None, gt=0, le=1e8)
    open_first: bool = False


class SectionRead(BaseModel):
    code: str
    name: str
    street_class: str
    unit: str
    unit_name: str
    coordinates: list[list[float]]
    length_m: float
    area_m2: float
    open_first: bool


class TaskRead(BaseModel):
    deadline: dt.datetime | None
    done_at: dt.datetime | None
    by: str = Field(description="report, gps, trips or empty")
    status: str = Field(description="on_time, late, overdue, open")
    light: str = Field(description="done, green, yellow, red, grey")


class SectionStateRead(BaseModel):
    code: str
    name: str
    street_class: str
    unit: str
    open_first: bool
    dirty: bool
    clear: TaskRead
    haul: TaskRead
    hauled_m3: float
    need_m3: float
    clear_case: str | None
    haul_case: str | None


class DirtyWrite(BaseModel):
    model_config = ConfigDict(extra="forbid")
    dirty: bool


class FieldWrite(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=80)
    polygon: list[list[float]] = Field(min_length=3, max_length=2000)
    capacity_m3: float = Field(gt=0, le=1e8)
    kind: Literal["clean", "dirty", "both"] = "clean"
    hours: str = Field(default="", max_length=40)
    lanes: int = Field(default=1, ge=1, le=50)
    initial_fill_m3: float = Field(default=0.0, ge=0, le=1e8)
    event_id: int | None = Field(default=None, ge=1, le=2**31 - 1)


class FieldRead(BaseModel):
    code: str
    name: str
    polygon: list[list[float]]
    capacity_m3: float
    kind: str
    state: str
    hours: str
    lanes: int
    initial_fill_m3: float
    event_id: int | None
    fill_m3: float | None = None
    percent: float | None = None


class FieldStateWrite(BaseModel):
    model_config = ConfigDict(extra="forbid")
    state: Literal["open", "closed", "full"]


class RouteRead(BaseModel):
    section: str
    field: FieldRead | None = Field(description="the field to go to; null when none may take it")


class SurveyWrite(BaseModel):
    model_config = ConfigDict(extra="forbid")
    fill_m3: float = Field(ge=0, le=1e8)
    at: str | None = Field(default=None, max_length=40, description="ISO 8601")


class SurveyRead(BaseModel):
    id: int
    field: str
    fill_m3: float
    at: dt.datetime
    by: str


class TicketWrite(BaseModel):
    model_config = ConfigDict(extra="forbid")
    field: str = Field(min_length=1, max_length=40)
    plate: str = Field(min_length=1, max_length=20)
    entered_at: str | None = Field(default=None, max_length=40, description="ISO 8601")
    volume_m3: float = Field(gt=0, le=200)
    section: str | None = Field(default=None, max_length=40)


class TicketRead(BaseModel):
    id: int
    field: str
    plate: str
    entered_at: dt.datetime
    volume_m3: float
    section: str | None
    by: str


class TripRead(BaseModel):
    plate: str
    field: str
    section: str | None
    entered_at: dt.datetime
    left_at: dt.datetime | None
    volume_m3: float
    source: str
    ticket_id: int | None


class ReportRead(BaseModel):
    id: int
    section: str
    task: str
    at: dt.datetime
    checks: list[str]
    note: str
    by: str


class WorkersWrite(BaseModel):
    model_config = ConfigDict(extra="forbid")
    day: dt.date
    unit: str = Field(max_length=32)
    workers: int = Field(ge=0, le=100_000)


class CheckRead(BaseModel):
    cases: int
    alarms: int
    warnings: int


class DailyReport(BaseModel):
    event: int
    event_name: str
    grade: str
    day: str
    as_of: dt.datetime
    district: dict[str, Any]
    streets: list[dict[str, Any]]
    fields: list[dict[str, Any]]
    unknown_origin: dict[str, Any]


class ImportRead(BaseModel):
    imported: int
    codes: list[str]
