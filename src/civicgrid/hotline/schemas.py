"""What the 12345 bridge's routes take and give."""

from __future__ import annotations

import datetime as dt
import re

from pydantic import BaseModel, ConfigDict, Field, field_validator

from civicgrid.kit.notify import TEMPLATES

CLOCK = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


class OrderReceipt(BaseModel):
    """The answer to the platform: our case for its order (`created` false: sent before)."""

    order_no: str
    case_code: str
    created: bool
    platform_deadline: dt.datetime | None = None


class SatisfactionReceipt(BaseModel):
    order_no: str
    case_code: str
    score: int


class ReturnOrder(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field(min_length=1, max_length=1000)


class ReturnedOrder(BaseModel):
    case_code: str
    state: str


class OutboxRead(BaseModel):
    id: int
    order_no: str
    case_code: str
    status: str
    state: str
    attempts: int
    next_attempt_at: dt.datetime
    created_at: dt.datetime
    sent_at: dt.datetime | None
    last_error: str | None
    body: dict


class PreferenceRead(BaseModel):
    username: str
    sms: str
    wecom: str
    email: str
    events: list[str]
    quiet_start: str | None
    quiet_end: str | None


class PreferenceUpdate(BaseModel):
    """All optional: what is given changes. Quiet hours as "HH:MM" (local time); events from
    the templates' list (empty: all)."""

    model_config = ConfigDict(extra="forbid")
    sms: str | None = Field(default=None, max_length=40)
    wecom: str | None = Field(default=None, max_length=120)
    email: str | None = Field(default=None, max_length=120)
    events: list[str] | None = Field(default=None, max_length=len(TEMPLATES))
    quiet_start: str | None = Field(default=None, max_length=5)
    quiet_end: str | None = Field(default=None, max_length=5)

    @field_validator("events")
    @classmethod
    def _known(cls, value):
        unknown = [e for e in value or [] if e not in TEMPLATES]
        if unknown:
            raise ValueError(f"unknown events {unknown}; known: {sorted(TEMPLATES)}")
        return value

    @field_validator("quiet_start", "quiet_end")
    @classmethod
    def _clock(cls, value):
        if value and not CLOCK.match(value):
            raise ValueError("a clock time HH:MM")
        return value or None
