"""What the spot checks' API takes and gives."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, Field, model_validator

CODE = r"^[A-Za-z0-9_-]{1,32}$"


class SheetItem(BaseModel):
    code: str = Field(pattern=CODE)
    name: str = Field(min_length=1, max_length=60)
    name_en: str = Field(default="", max_length=80)
    weight: float = Field(gt=0, le=100)
    fail_below: float | None = None
    category: str = Field(pattern=r"^\d{5}$", description="the case category a failed item opens")


class SheetDefinition(BaseModel):
    """A score sheet as data. visual: items scored on `scale` by each inspector, per side,
    Σ weight × score, passing at `pass_score`; weight: grams at `points` points of
    `sample_area_m2`, g/m² against the grade's limit (one item)."""

    code: str = Field(pattern=CODE)
    name: str = Field(min_length=1, max_length=80)
    name_en: str = Field(default="", max_length=120)
    method: Literal["visual", "weight"]
    dry_only: bool = False
    sides: list[str] = Field(default=["left", "right"], min_length=1, max_length=4)
    scale: tuple[float, float] = (0, 5)
    pass_score: float = Field(default=80.0, ge=0)
    points: int = Field(default=3, ge=1, le=20)
    sample_area_m2: float = Field(default=1.0, gt=0, le=100)
    items: list[SheetItem] = Field(min_length=1, max_length=30)

    @model_validator(mode="after")
    def _consistent(self) -> SheetDefinition:
        if self.scale[0] >= self.scale[1]:
            raise ValueError("scale: the low end must be below the high end")
        if len({i.code for i in self.items}) != len(self.items):
            raise ValueError("items: codes must differ")
        if self.method == "weight" and len(self.items) != 1:
            raise ValueError("items: a weight sheet has one item (the dust)")
        return self


class SiteSave(BaseModel):
    code: str = Field(pattern=r"^[^\s|]{1,40}$")
    name: str = Field(min_length=1, max_length=200)
    kind: Literal["road", "grid"] = "road"
    grade: str = Field(min_length=1, max_length=16, pattern=r"^[^\s|/]+$")
    street: str = Field(min_length=1, max_length=32, description="the street's org unit code")
    unit: str | None = Field(default=None, max_length=32, description="responsible unit code")
    contractor: str | None = Field(default=None, max_length=32, description="保洁公司 unit code")
    lon: float = Field(ge=73, le=136)
    lat: float = Field(ge=3, le=54)
    active: bool = True


class SiteRead(BaseModel):
    code: str
    name: str
    kind: str
    grade: str
    street: str
    unit: str | None
    contractor: str | None
    lon: float
    lat: float
    active: bool


class StratumIn(BaseModel):
    id: str = Field(min_length=1, max_length=60, pattern=r"^[^\s|]+$")
    n: int = Field(ge=0, le=1000)
    candidates: list[str] = Field(max_length=10000)


class PlanCreate(BaseModel):
    code: str = Field(pattern=r"^[A-Za-z0-9-]{1,40}$")
    sheet: str = Field(pattern=CODE)
    period: str = Field(pattern=r"^\d{4}-(W\d{2}|\d{2})$")
    strata: list[StratumIn] | None = Field(
        default=None, max_length=500, description="as the draw's plan file; or give n"
    )
    n: int | None = Field(
        default=None, ge=0, le=1000, description="per street and grade, from the sites"
    )
    slots: list[str] | None = Field(default=None, max_length=200)


class PlanPublic(BaseModel):
    """What anyone may see; `seed` is null until the period has ended."""

    code: str
    sheet: str
    period: str
    algorithm: str
    strata: list[dict]
    slots: list[str]
    commitment: str
    committed_at: dt.datetime
    period_end: dt.datetime
    seed: str | None


class Weather(BaseModel):
    rain: bool = False
    snow: bool = False
    wind_force: int = Field(default=0, ge=0, le=17, description="Beaufort force")
    humidity: float = Field(default=0, ge=0, le=100, description="relative humidity %")


class Arrival(BaseModel):
    lon: float = Field(ge=-180, le=180)
    lat: float = Field(ge=-90, le=90)
    at: dt.datetime | None = Field(
        default=None,
        description="when the phone took the position (sent later when offline); "
        "default: now; at most 12 hours ago, never in the future",
    )


class Entries(BaseModel):
    """visual: {"sides": {side: {item: score}}}; weight: {"points": [grams or null, ...]}."""

    sides: dict[str, dict[str, float]] | None = None
    points: list[float | None] | None = Field(default=None, max_length=20)


class Failure(BaseModel):
    item: str
    value: float
    case: str


class PhotoRef(BaseModel):
    id: int
    item: str


class CheckRead(BaseModel):
    id: int
    plan: str
    sheet: str
    stratum: str
    site: str
    site_name: str
    grade: str
    lon: float | None
    lat: float | None
    slot: str
    state: str
    arrived_at: dt.datetime | None
    arrival_lon: float | None
    arrival_lat: float | None
    weather: dict | None
    entries: dict
    photos: list[PhotoRef]
    score: float | None
    g_m2: float | None
    passed: bool | None
    failures: list[Failure]


class ResultRow(BaseModel):
    rank: int
    key: str
    name: str
    checks: int
    passed: int
    pass_rate: float
    score: float | None
    g_m2: float | None
    grade: str
    previous_pass_rate: float | None
    previous_score: float | None
