from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from civicgrid.kit import audit
from civicgrid.kit.db import Base, UTCDateTime, utcnow

ROLES = ("admin", "leader", "dispatcher", "operator", "supervisor", "handler")


class User(Base):
    """A staff sign-in account; the person behind it is in the directory."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(60), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), unique=True)
    roles: Mapped[list] = mapped_column(default=list)
    disabled: Mapped[bool] = mapped_column(default=False)
    # Bumped on password change or disable. What ends sessions and tokens is their own rows
    # (UserSession.ended_at, ApiToken.revoked_at); this only counts the changes.
    session_version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    # org's Person, named as a string: the registry resolves it, and auth does not import org's
    # tables (the import contract, .importlinter)
    person: Mapped[Person] = relationship("Person", lazy="joined")  # noqa: F821

    @property
    def org_unit(self):
        return self.person.org_unit

    def has_role(self, *roles: str) -> bool:
        return any(r in self.roles for r in roles)


class LoginAttempt(Base):
    __tablename__ = "login_attempts"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(60), index=True)
    address: Mapped[str] = mapped_column(String(64), index=True)
    ok: Mapped[bool]
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class ApiToken(Base):
    """A bearer token for API clients (the mobile handler app, integrations). It expires;
    its owner or an admin revokes it; a password change or a disable revokes every one."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    name: Mapped[str] = mapped_column(String(100), default="")
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship(lazy="joined")


class UserSession(Base):
    """A signed-in browser session. The cookie names it (signed, with a secret whose hash is
    kept here); sign-out, a password change or a disable end it on the server."""

    __tablename__ = "user_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    secret_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    ended_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    address: Mapped[str] = mapped_column(String(64), default="")
    user_agent: Mapped[str] = mapped_column(String(200), default="")

    user: Mapped[User] = relationship(lazy="joined")


# admin writes are audited (kit.audit); the password hash never reaches the log
audit.register(User, secret={"password_hash"})
