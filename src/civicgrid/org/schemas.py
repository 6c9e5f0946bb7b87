from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, Field

Phone = Annotated[str, Field(max_length=40)]


class UnitCreate(BaseModel):
    code: str = Field(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_\-]+$")
    name: str = Field(min_length=1, max_length=100)
    kind: str = Field(max_length=16)
    parent: str | None = Field(default=None, max_length=32)
    dept_type: str | None = Field(default=None, max_length=40)
    phone: str | None = Field(default=None, max_length=40)


class UnitRead(BaseModel):
    code: str
    name: str
    kind: str
    parent: str | None
    dept_type: str | None


class PersonCreate(BaseModel):
    name: str = Field(min_length=1, max_length=60)
    org_unit: str = Field(max_length=32)
    title: str = Field(default="", max_length=60)
    # the column holds 200 characters: at most five numbers
    phones: list[Phone] = Field(default=[], max_length=5)
    email: str | None = Field(default=None, max_length=120)


class PersonRead(BaseModel):
    id: int
    name: str
    initials: str
    title: str
    phones: list[str]
    email: str | None
    org_unit: str
    org_unit_name: str


class UnitNode(BaseModel):
    """A unit of the organisation tree, with the units under it."""

    code: str
    name: str
    kind: str
    dept_type: str | None
    children: list[UnitNode]
