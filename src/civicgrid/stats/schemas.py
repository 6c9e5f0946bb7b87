"""The statistics' answers (reference/kpis.md names every key)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

# A JSON number: counts are whole, rates and means are not (kpis.md: 9091 and 9091.0 are the
# same value; the union keeps whichever the report computed).
Number = int | float


class KpiFigures(BaseModel):
    """The counts and rates of kpis.md for one group (or the total)."""

    reported: int
    registered: int
    dispatched: int
    closed: int
    due: int
    on_time: int
    overdue_open: int
    extended: int
    returned: int
    reworked: int
    handled: int
    rated: int
    closure_rate: Number | None
    on_time_rate: Number | None
    extension_rate: Number | None
    return_rate: Number | None
    rework_rate: Number | None
    satisfaction_rate: Number | None
    satisfaction_mean: Number | None
    dispatch_seconds_mean: Number | None
    dispatch_seconds_p90: Number | None
    composite: Number | None
    grade: str | None


class KpiRow(KpiFigures):
    key: str
    name: str | None


class KpiReport(BaseModel):
    start: str
    end: str
    cutoff: str
    group_by: str
    rows: list[KpiRow]
    total: KpiFigures


class TrendPoint(BaseModel):
    bucket: str
    reported: int
    registered: int
    closed: int


class Trend(BaseModel):
    by: str
    series: list[TrendPoint]


class TopCategory(BaseModel):
    code: str
    name: str | None
    count: int


class Hotspot(BaseModel):
    """A unit grid (key, name, count) or an H3 cell (key, count, centre, outline)."""

    key: str
    name: str | None = None
    count: int
    lat: float | None = None
    lon: float | None = None
    boundary: list[list[float]] | None = Field(default=None, description="[lon, lat] pairs")


class Bin(BaseModel):
    label: str
    count: int


class Distribution(BaseModel):
    count: int
    median_s: Number | None
    p90_s: Number | None
    bins: list[Bin]


class Distributions(BaseModel):
    dispatch: Distribution
    handling: Distribution


class AssessmentFigures(BaseModel):
    """The figures of one table of reference/assessment.md (the keys depend on the table)."""

    model_config = ConfigDict(extra="allow")
    composite: Number | None
    grade: str | None


class AssessmentRow(AssessmentFigures):
    key: str
    name: str | None
    rank: int | None = Field(description="1 is the best composite; null when it is null")


class AssessmentReport(BaseModel):
    start: str
    end: str
    cutoff: str
    subject: str
    level: str | None = Field(description="region: street, community or grid; else null")
    post: str | None = Field(description="post: supervisor, operator or dispatcher; else null")
    table: str = Field(description="region, department, supervisor, operator or dispatcher")
    rows: list[AssessmentRow]
    total: AssessmentFigures


class Ranking(AssessmentReport):
    """The region (street) or department (unit) table ranked by `score`: the composite, or with
    spot checks weighed in (spotcheck_assessment_weight) their share of it."""

    group_by: str
