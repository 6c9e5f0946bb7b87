from __future__ import annotations

from pydantic import BaseModel, Field


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


class ActionIn(BaseModel):
    note: str = Field(default="", max_length=4000)
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
