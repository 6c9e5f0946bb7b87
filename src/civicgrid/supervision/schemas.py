"""The supervision API's shapes."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from civicgrid.supervision.service import MAX_AFTER_HOURS


class RuleRead(BaseModel):
    step: str = Field(description="remind | unit_leader | district_leader")
    light: str = Field(description="yellow | red")
    after_hours: float = Field(description="working hours after the light came on")
    enabled: bool
    updated_at: str | None = None
    updated_by: str | None = None


class RuleIn(BaseModel):
    light: Literal["yellow", "red"] | None = None
    after_hours: float | None = Field(default=None, ge=0, le=MAX_AFTER_HOURS)
    enabled: bool | None = None


class RuleList(BaseModel):
    rules: list[RuleRead]


class UrgeRead(BaseModel):
    number: str | None = Field(description="the 督办单's number (none for a reminder)")
    case_code: str
    unit_code: str | None
    step: str
    light: str
    deadline: str
    targets: list[str]
    note: str
    at: str


class UrgeList(BaseModel):
    urges: list[UrgeRead]


class PushKeys(BaseModel):
    p256dh: str = Field(max_length=120, description="the browser's P-256 public key, base64url")
    auth: str = Field(max_length=60, description="the 16-byte authentication secret, base64url")


class PushSubscriptionIn(BaseModel):
    """A browser's PushSubscription.toJSON()."""

    endpoint: str = Field(max_length=1000, description="the push service's URL for the browser")
    keys: PushKeys


class PushEndpointIn(BaseModel):
    endpoint: str = Field(max_length=1000)


class PushKeyRead(BaseModel):
    public_key: str = Field(description="the VAPID application server key (base64url)")


class PushSubscriptionRead(BaseModel):
    endpoint: str
    username: str
