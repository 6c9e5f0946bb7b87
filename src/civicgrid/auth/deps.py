"""Who signed a request in: the session cookie or the bearer token, the user, their roles.
Routes of every domain use these dependencies (auth is attached where routers are included)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Literal

from fastapi import Depends, Request

from civicgrid.auth import service as auth_service
from civicgrid.auth.exceptions import NotSignedIn, RoleRequired
from civicgrid.auth.models import User
from civicgrid.kit import audit
from civicgrid.kit.http import AppSettings, DbSession

SESSION_COOKIE = "civicgrid_session"


@dataclass(frozen=True)
class Credential:
    """What signed a request in: a session ("session", the user_sessions row id) or a bearer
    token ("token", the api_tokens row id). Kept as request.state.credential."""

    kind: Literal["session", "token"]
    id: int


def optional_user(request: Request, session: DbSession, settings: AppSettings) -> User | None:
    """The signed-in user, or None; one query (the session or token row with its user). A
    bearer header wins over a cookie; a bad one of either is as good as none."""
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        token = auth_service.token_from_bearer(session, header[7:].strip())
        if token is None:
            return None
        request.state.credential = Credential("token", token.id)
        audit.set_actor(session, f"user:{token.user.username}")
        return token.user
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        row = auth_service.session_from_cookie(session, cookie, settings)
        if row is None:
            return None
        request.state.credential = Credential("session", row.id)
        audit.set_actor(session, f"user:{row.user.username}")
        return row.user
    return None


def cookie_user(request: Request, session: DbSession, settings: AppSettings) -> User | None:
    """The user the request's session cookie names, or None: for pages drawn outside a route
    (the error pages' header), so nothing is attributed to them and no bearer is read."""
    cookie = request.cookies.get(SESSION_COOKIE)
    if not cookie:
        return None
    row = auth_service.session_from_cookie(session, cookie, settings)
    return row.user if row is not None else None


def credential_of(request: Request) -> Credential | None:
    """How the request was signed in (after optional_user ran), or None."""
    return getattr(request.state, "credential", None)


def current_user(user: Annotated[User | None, Depends(optional_user)]) -> User:
    if user is None:
        raise NotSignedIn()
    return user


CurrentUser = Annotated[User, Depends(current_user)]
OptionalUser = Annotated[User | None, Depends(optional_user)]


def require_roles(*roles: str) -> Callable[[User], User]:
    """A dependency that lets through only users with one of `roles`."""

    def _check(user: CurrentUser) -> User:
        if not user.has_role(*roles):
            raise RoleRequired(roles)
        return user

    return _check


class LoginRedirect(Exception):
    """A page asked for by nobody signed in: answered with the sign-in page (web.pages)."""

    def __init__(self, next_url: str):
        self.next_url = next_url


def page_user(request: Request, user: OptionalUser) -> User:
    """The signed-in user of a page, or a redirect to the sign-in page."""
    if user is None:
        raise LoginRedirect(
            request.url.path + (f"?{request.url.query}" if request.url.query else "")
        )
    return user


PageUser = Annotated[User, Depends(page_user)]
