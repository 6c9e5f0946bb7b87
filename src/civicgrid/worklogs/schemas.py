"""Work logs' JSON shapes."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, Field


class EntryWrite(BaseModel):
    """A line of a log. `at` within the log's day (ISO 8601; local time without an offset).
    `corrects`: the number (seq) of the line an amendment corrects."""

    at: dt.datetime
    text: str = Field(min_length=1, max_length=20000)
    lon: float | None = Field(default=None, ge=-180, le=180)
    lat: float | None = Field(default=None, ge=-90, le=90)
    case_code: str | None = Field(default=None, max_length=40)
    corrects: int | None = Field(default=None, ge=1, le=100000)


class PhotoRead(BaseModel):
    id: int
    url: str
    thumb_url: str


class EntryRead(BaseModel):
    id: int
    seq: int
    at: dt.datetime
    lon: float | None
    lat: float | None
    text: str
    case_code: str | None
    source: str
    amendment: bool
    corrects: int | None
    created_at: dt.datetime
    created_by: str | None
    edited_at: dt.datetime | None = Field(description="when the author last changed the draft line")
    photos: list[PhotoRead]


class EventRead(BaseModel):
    at: dt.datetime
    action: str
    by: str
    comment: str


class LogRead(BaseModel):
    id: int
    person_id: int
    person_name: str
    day: dt.date
    unit: str
    unit_name: str
    state: Literal["draft", "submitted", "returned", "approved"]
    distance_m: float | None
    submitted_at: dt.datetime | None
    reviewed_at: dt.datetime | None
    reviewed_by: str | None
    review_comment: str
    entries: list[EntryRead]
    history: list[EventRead]
    may_write: bool
    may_review: bool


class ReviewWrite(BaseModel):
    decision: Literal["approve", "return"]
    comment: str = Field(default="", max_length=2000)


class MissingPerson(BaseModel):
    person_id: int
    name: str
    username: str
    state: Literal["none", "draft", "returned"]
    log_id: int | None


class MissingUnit(BaseModel):
    unit: str
    unit_name: str
    writers: int
    missing: list[MissingPerson]


class LogSummary(BaseModel):
    id: int
    person_id: int
    person_name: str
    unit: str
    day: dt.date
    state: str
    entries: int


class RoutePoint(BaseModel):
    time: dt.datetime
    lon: float
    lat: float


class RouteRead(BaseModel):
    distance_m: float
    points: list[RoutePoint]
