"""The citizen API's answers (what the phone page reads)."""

from __future__ import annotations

from pydantic import BaseModel, Field


class Suggestion(BaseModel):
    code: str
    kind: str
    name: str
    major: str


class Submitted(BaseModel):
    """A report taken: its code and the secret of its tracking link."""

    code: str
    secret: str
    track_url: str
    state: str
    state_zh: str
    unit: str | None
    deadline: str | None
    queue_reason: str | None
    possible_duplicates: list[str]


class PublicCategory(BaseModel):
    code: str
    name: str


class PublicEvent(BaseModel):
    at: str | None
    action: str
    action_zh: str | None
    text: str | None = Field(default=None, description="the step's fixed public text (已受理 …)")
    step: str | None = Field(
        default=None, description="the state the step left the case in; none for a note"
    )
    unit: str | None = Field(default=None, description="the unit a dispatch sent the case to")
    note: str | None = Field(default=None, description="a note staff marked public, else empty")


class PublicPhoto(BaseModel):
    stage: str
    url: str | None
    thumb_url: str | None


class PublicCase(BaseModel):
    """A case as its reporter sees it: no names or phones of anyone."""

    code: str
    state: str
    state_zh: str | None
    category: PublicCategory
    address: str | None
    description: str | None
    reported_at: str | None
    unit: str | None = Field(description="the handling unit's name")
    deadline: str | None
    closed_at: str | None
    score: int | None
    can_rate: bool
    timeline: list[PublicEvent]
    photos: list[PublicPhoto]


class TrackedCase(PublicCase):
    merged_into: PublicCase | None = Field(
        default=None, description="present only when the case was merged into another"
    )


class Rated(BaseModel):
    code: str
    score: int | None


class CallerCase(BaseModel):
    """A caller's earlier case, as the hotline entry shows it (service.caller_history)."""

    code: str
    reported_at: str
    state: str
    state_zh: str
    category: str
    address: str
    description: str
    name: str


class NearbyCase(BaseModel):
    """An open public case near a point (the duplicate rule: settings' radius and days)."""

    code: str
    category: PublicCategory
    state: str
    state_zh: str
    reported_at: str | None
    address: str | None
    description: str | None
    lon: float = Field(description="WGS-84")
    lat: float = Field(description="WGS-84")
    distance_m: float
    followers: int = Field(description="citizens who said they have the same problem")
    url: str = Field(description="the case's public page")


class FollowIn(BaseModel):
    phone: str = Field(
        default="", max_length=20, description="to be told of the case's public steps (optional)"
    )


class Followed(BaseModel):
    code: str = Field(description="the case followed (a merged duplicate's original)")
    followers: int
