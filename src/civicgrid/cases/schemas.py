from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class CaseCreate(BaseModel):
    category: str = Field(pattern=r"^\d{5}$", description="5-digit category code")
    category_kind: str | None = Field(default=None, pattern="^(component|event)$")
    source: str | None = Field(default=None, description="default follows the reporter's role")
    urgency: str = "normal"
    lon: float | None = Field(default=None, ge=-180, le=180)
    lat: float | None = Field(default=None, ge=-90, le=90)
    datum: str = "wgs84"
    address: str = Field(default="", max_length=200)
    description: str = Field(default="", max_length=4000)
    contact_name: str = Field(default="", max_length=60)
    contact_phone: str = Field(default="", max_length=40)
    auto_dispatch: bool | None = None
    callback: bool = Field(
        default=False, description="hotline: the caller wishes to be called back"
    )


class ActionIn(BaseModel):
    note: str = Field(default="", max_length=4000)
    public: bool = Field(
        default=False,
        description="show the note to the citizen (/track, Open311); notes are internal unless so",
    )
    version: int | None = Field(
        default=None, ge=1, le=2**31 - 1, description="the case version you saw (409 if old)"
    )
    unit: str | None = Field(default=None, description="dispatch: org unit code")
    deadline: str | None = Field(default=None, description="dispatch / extend_approve: ISO 8601")
    until: str | None = Field(default=None, description="extend_request: ISO 8601")
    score: int | None = Field(default=None, ge=1, le=5, description="rate: 1-5")
    lon: float | None = Field(default=None, ge=-180, le=180, description="relocate: longitude")
    lat: float | None = Field(default=None, ge=-90, le=90, description="relocate: latitude")
    datum: str = Field(default="wgs84", description="relocate: wgs84, gcj02 or bd09")


# --- answers ---------------------------------------------------------------------------------
# What the routes return, field for field as cases/views.py builds it (response models drop
# what they do not list: a field added to a view is added here too; tests/web/test_openapi.py
# compares real answers with and without the models).


class CaseSummary(BaseModel):
    """A case as lists show it (views.case_summary)."""

    code: str
    source: str
    category: str
    category_kind: str | None
    urgency: str
    lon: float | None
    lat: float | None
    grid: str | None
    community: str | None
    street: str | None
    address: str | None
    description: str | None
    state: str
    state_zh: str | None
    unit: str | None
    deadline: str | None = Field(description="ISO 8601, local time")
    light: str | None = Field(description="green, yellow, red, or null when no deadline runs")
    calendar_missing: bool | None
    queue_reason: str | None
    queue_reason_text: str | None
    extension_pending: bool | None
    reported_at: str | None
    registered_at: str | None
    dispatched_at: str | None
    closed_at: str | None
    score: int | None
    duplicate_of: str | None
    version: int


class EventRead(BaseModel):
    """One event of a case's timeline (views.event_view)."""

    model_config = ConfigDict(populate_by_name=True)

    seq: int
    at: str | None
    action: str
    action_zh: str | None
    from_state: str | None = Field(alias="from")
    to_state: str | None = Field(alias="to")
    actor: str | None
    role: str | None
    note: str | None
    payload: dict[str, Any] | None


class ContactRead(BaseModel):
    """The reporter's contact, masked unless the viewer's role may see it."""

    name: str | None
    phone: str | None
    # shown to the roles that see the phone whole; "" to the others
    email: str = ""


class CasePhotoRead(BaseModel):
    id: int
    stage: str
    width: int | None
    height: int | None
    url: str
    thumb_url: str


class CaseDetail(CaseSummary):
    """A case with its timeline and photos, and the actions the viewer may take now."""

    contact: ContactRead | None
    timeline: list[EventRead]
    photos: list[CasePhotoRead]
    allowed_actions: list[str]


class CasePage(BaseModel):
    items: list[CaseSummary]
    next_cursor: int | None = Field(description="pass as `cursor` for the next page")


class LightLists(BaseModel):
    """The 亮灯 lists."""

    yellow: list[CaseSummary]
    red: list[CaseSummary]


class CaseActed(CaseSummary):
    """The case after an action, with the event the action wrote."""

    event: EventRead


class PhotoPublicRead(BaseModel):
    photo_id: int
    public: bool
    public_at: str | None
    public_by: str | None


class BoardCase(BaseModel):
    code: str
    lon: float | None
    lat: float | None
    light: str | None
    state: str


class BoardStreet(BaseModel):
    code: str
    name: str
    green: int
    yellow: int
    red: int
    none: int = Field(description="open cases without a light (no deadline yet)")
    total: int = Field(description="green + yellow + red + none")


class Board(BaseModel):
    """The dispatcher's board: open cases with their light, counts per street."""

    cases: list[BoardCase]
    streets: list[BoardStreet]


class RuleRead(BaseModel):
    id: int
    match: str
    target: str
    unit_code: str | None
    priority: int
    note: str | None


class DayRead(BaseModel):
    day: str = Field(description="YYYY-MM-DD")
    is_workday: bool
    note: str | None


class YearRead(BaseModel):
    year: int
    note: str | None


class CalendarRead(BaseModel):
    """The administrators' holiday calendar: years entered, and days set by hand."""

    years: list[YearRead]
    days: list[DayRead]
