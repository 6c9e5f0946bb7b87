"""Signing a request in and out over HTTP, for the sign-in API and the sign-in page alike: the
one password check (lockout, slow-down, argon2 in a thread), the session it opens, its cookie."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TypeVar

from fastapi import Request, Response
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from civicgrid.auth import service
from civicgrid.auth.deps import SESSION_COOKIE, credential_of
from civicgrid.auth.exceptions import BadCredentials
from civicgrid.auth.models import User
from civicgrid.config import Settings
from civicgrid.kit.db import session_scope
from civicgrid.kit.http import client_address

T = TypeVar("T")


async def in_transaction(fn: Callable[[Session], T], *, read_only: bool = False) -> T:
    """fn(session) in a short transaction of its own, in a worker thread: a sign-in never
    holds a transaction (nor SQLite's write lock) while it waits or hashes."""

    def work() -> T:
        with session_scope(read_only=read_only) as session:
            return fn(session)

    return await run_in_threadpool(work)


async def check_password(
    request: Request, username: str, password: str, settings: Settings
) -> service.PendingSignIn:
    """The one password check of both sign-in pages and of a password change: lockout per
    (address, account) and per address, the account's slow-down awaited without holding a
    worker thread, and one argon2 verification in a thread whether or not the account
    exists. BadCredentials when the password is wrong; the failure stays recorded."""
    address = client_address(request)
    pending = await in_transaction(
        lambda s: service.begin_sign_in(s, username=username, address=address, settings=settings)
    )
    if pending.delay:
        await asyncio.sleep(pending.delay)
    if not await run_in_threadpool(service.password_matches, pending, password):
        raise BadCredentials()
    return pending


def new_session(session: Session, user: User, request: Request, settings: Settings) -> str:
    return service.start_session(
        session,
        user,
        settings=settings,
        address=client_address(request),
        user_agent=request.headers.get("user-agent", ""),
    )


async def sign_in(
    request: Request, username: str, password: str, settings: Settings
) -> tuple[User, str]:
    """Check the password and open a session: the user and the session cookie's value."""
    pending = await check_password(request, username, password, settings)

    def finish(session: Session) -> tuple[User, str]:
        user = service.finish_sign_in(session, pending, password=password)
        return user, new_session(session, user, request, settings)

    return await in_transaction(finish)


def sign_out(session: Session, request: Request, user: User | None) -> None:
    """End what signed the request in: its session, or the bearer token it carried."""
    credential = credential_of(request)
    if credential is None or user is None:
        return
    if credential.kind == "session":
        service.end_session(session, credential.id)
    else:
        service.revoke_token(session, token_id=credential.id, by=user)


def set_session_cookie(response: Response, cookie: str, settings: Settings) -> Response:
    response.set_cookie(
        SESSION_COOKIE,
        cookie,
        max_age=settings.session_max_age_seconds,
        httponly=True,
        samesite="lax",
        secure=settings.mode == "production",
        path="/",
    )
    return response
