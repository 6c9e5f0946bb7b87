from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class CategoryRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    kind: str
    code: str
    major_code: str
    major_name: str
    name: str
    keywords: str
    default_department: str


class LimitRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    scope: str
    urgency: str
    limit: float
    unit: str
    note: str


class LimitSet(BaseModel):
    scope: str = Field(examples=["event:06010", "major:06", "default"])
    urgency: str = "normal"
    # a year of hours is more than any handling time limit; more overflows the deadlines
    limit: float = Field(gt=0, le=10_000)
    unit: str = "working_hours"
    note: str = Field(default="", max_length=200)


class LimitsImported(BaseModel):
    imported: int = Field(description="rows imported")
