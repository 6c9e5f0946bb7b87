"""The command centre's answers."""

from __future__ import annotations

from pydantic import BaseModel, Field

from civicgrid.cases.schemas import CaseSummary


class Today(BaseModel):
    reported: int
    registered: int
    closed: int
    open: int
    green: int
    yellow: int
    red: int


class CasePoint(BaseModel):
    code: str
    lon: float | None
    lat: float | None
    light: str | None


class RankedStreet(BaseModel):
    key: str
    name: str
    rank: int | None
    composite: float | None
    grade: str | None


class Summary(BaseModel):
    """Today's counters, open cases by light, the latest reports, this month's ranking."""

    now: str = Field(description="ISO 8601, local time")
    today: Today
    cases: list[CasePoint]
    latest: list[CaseSummary]
    ranking: list[RankedStreet]
