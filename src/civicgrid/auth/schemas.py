from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, Field

from civicgrid.kit.timefmt import iso_local

# The rule itself is checked by the service (auth/passwords.py), with a message to act on.
PASSWORD_RULE = (
    "至少 10 个字符, 不能是用户名或常见密码 / at least 10 characters, "
    "neither the username nor a common password"
)


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
    password: str = Field(max_length=200, description=PASSWORD_RULE)
    name: str = Field(min_length=1, max_length=60)
    org_unit: str = Field(max_length=32)
    roles: list[Annotated[str, Field(max_length=20)]] = Field(min_length=1, max_length=6)
    title: str = Field(default="", max_length=60)
    phones: list[Annotated[str, Field(max_length=40)]] = Field(default=[], max_length=5)


class UserUpdate(BaseModel):
    """A new password or disabling ends every session and revokes every token of the user."""

    password: str | None = Field(default=None, max_length=200, description=PASSWORD_RULE)
    disabled: bool | None = None


class PasswordChange(BaseModel):
    """One's own new password; every session and token of one's own ends, and the caller
    signed in by a session gets a new one."""

    current_password: str = Field(min_length=1, max_length=200)
    new_password: str = Field(max_length=200, description=PASSWORD_RULE)


class TokenCreate(BaseModel):
    name: str = Field(default="", max_length=100)


class TokenCreated(BaseModel):
    """A new bearer token: its text is in this answer only."""

    id: int
    name: str
    token: str
    expires_at: str


class TokenRead(BaseModel):
    """A token as its owner and admins see it (never its text)."""

    id: int
    name: str
    username: str
    created_at: str
    expires_at: str
    revoked_at: str | None

    @classmethod
    def of(cls, token) -> TokenRead:
        return cls(
            id=token.id,
            name=token.name,
            username=token.user.username,
            created_at=iso_local(token.created_at),
            expires_at=iso_local(token.expires_at),
            revoked_at=iso_local(token.revoked_at),
        )
