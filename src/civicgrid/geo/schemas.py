"""The geography's answers."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class Place(BaseModel):
    code: str
    name: str


class Point(BaseModel):
    lon: float
    lat: float


class ResponsiblePerson(BaseModel):
    username: str
    name: str
    title: str | None
    phones: list[str]


class Located(BaseModel):
    """The places holding a point; `responsible` for signed-in staff only, `message` when the
    point is outside every grid."""

    inside: bool
    wgs84: Point
    district: Place | None
    street: Place | None
    community: Place | None
    grid: Place | None
    responsible: list[ResponsiblePerson] | None = None
    message: str | None = None


class AreaRead(BaseModel):
    code: str
    level: str
    name: str
    parent: str | None
    area_m2: float
    responsible: list[str] | None = Field(
        default=None, description="usernames, for signed-in staff only"
    )


class Feature(BaseModel):
    type: str
    properties: dict[str, Any]
    geometry: dict[str, Any] | None


class FeatureCollection(BaseModel):
    type: str
    features: list[Feature]


class ImportResult(BaseModel):
    created: int
    updated: int
    by_level: dict[str, int]


class FoundPlace(BaseModel):
    """A place the search found: `kind` street, community, grid or place (the gazetteer); the
    point (WGS-84) is where the map's pin goes; `within` names the street and community."""

    kind: str
    code: str | None
    name: str
    aliases: list[str]
    lon: float
    lat: float
    within: str
    score: float


class PlacesImported(BaseModel):
    imported: int
