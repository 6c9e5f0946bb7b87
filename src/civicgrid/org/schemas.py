from __future__ import annotations

from pydantic import BaseModel, Field


class UnitCreate(BaseModel):
    code: str = Field(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_\-]+$")
    name: str = Field(min_length=1, max_length=100)
    kind: str
    parent: str | None = None
    dept_type: str | None = None
    phone: str | None = None


class UnitRead(BaseModel):
    code: str
    name: str
    kind: str
    parent: str | None
    dept_type: str | None


class PersonCreate(BaseModel):
    name: str = Field(min_length=1, max_length=60)
    org_unit: str
    title: str = ""
    phones: list[str] = []
    email: str | None = None


class PersonRead(BaseModel):
    id: int
    name: str
    initials: str
    title: str
    phones: list[str]
    email: str | None
    org_unit: str
    org_unit_name: str
