from __future__ import annotations

from pydantic import BaseModel, Field


class LoginIn(BaseModel):
    username: str = Field(min_length=1, max_length=60)
    password: str = Field(min_length=1, max_length=200)


class UserRead(BaseModel):
    username: str
    name: str
    roles: list[str]
    org_unit: str
    org_unit_name: str
    disabled: bool

    @classmethod
    def of(cls, user) -> UserRead:
        return cls(
            username=user.username,
            name=user.person.name,
            roles=user.roles,
            org_unit=user.org_unit.code,
            org_unit_name=user.org_unit.name,
            disabled=user.disabled,
        )


class UserCreate(BaseModel):
    username: str = Field(min_length=2, max_length=60)
    password: str = Field(min_length=8, max_length=200)
    name: str = Field(min_length=1, max_length=60)
    org_unit: str
    roles: list[str] = Field(min_length=1)
    title: str = ""
    phones: list[str] = []


class UserUpdate(BaseModel):
    password: str | None = Field(default=None, min_length=8, max_length=200)
    disabled: bool | None = None


class TokenCreate(BaseModel):
    name: str = Field(default="", max_length=100)


class TokenRead(BaseModel):
    id: int
    name: str
    token: str | None = None
