from __future__ import annotations

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse

from civicgrid.auth import service
from civicgrid.auth.models import User
from civicgrid.auth.schemas import LoginIn, TokenCreate, TokenRead, UserCreate, UserRead, UserUpdate
from civicgrid.db import session_factory
from civicgrid.deps import (
    SESSION_COOKIE,
    AppSettings,
    CurrentUser,
    DbSession,
    RowId,
    client_address,
    require_roles,
)

public_router = APIRouter(prefix="/api/v1/auth", tags=["auth"])
router = APIRouter(prefix="/api/v1", tags=["auth"])


def sign_in(request: Request, username: str, password: str, settings) -> User:
    """Check a password in a transaction of its own, so that a failed attempt is recorded
    (and counts towards the lockout) although the request fails."""
    session = session_factory()()
    try:
        try:
            user = service.authenticate(
                session,
                username=username,
                password=password,
                address=client_address(request),
                settings=settings,
            )
        finally:
            session.commit()
        session.expunge(user)
        return user
    finally:
        session.close()


def set_session_cookie(response: Response, user: User, settings) -> Response:
    response.set_cookie(
        SESSION_COOKIE,
        service.session_cookie(user, settings),
        max_age=settings.session_max_age_seconds,
        httponly=True,
        samesite="lax",
        secure=settings.mode == "production",
        path="/",
    )
    return response


@public_router.post("/login", response_model=UserRead)
def login(body: LoginIn, request: Request, settings: AppSettings) -> Response:
    """Sign in; sets the HttpOnly session cookie. Failed attempts count towards the lockout."""
    user = sign_in(request, body.username, body.password, settings)
    return set_session_cookie(JSONResponse(UserRead.of(user).model_dump()), user, settings)


@public_router.post("/logout", status_code=204)
def logout() -> Response:
    response = Response(status_code=204)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/auth/me", response_model=UserRead)
def me(user: CurrentUser) -> UserRead:
    return UserRead.of(user)


@router.post("/auth/tokens", response_model=TokenRead, status_code=201)
def create_token(body: TokenCreate, user: CurrentUser, session: DbSession) -> TokenRead:
    """A bearer token for an API client; its text is shown only in this answer."""
    token, plain = service.issue_token(session, user, body.name)
    return TokenRead(id=token.id, name=token.name, token=plain)


@router.delete("/auth/tokens/{token_id}", status_code=204)
def revoke_token(token_id: RowId, user: CurrentUser, session: DbSession) -> Response:
    service.revoke_token(session, user, token_id)
    return Response(status_code=204)


admin = [Depends(require_roles("admin"))]


@router.get("/users", response_model=list[UserRead], dependencies=admin)
def list_users(session: DbSession) -> list[UserRead]:
    return [UserRead.of(u) for u in service.list_users(session)]


@router.post("/users", response_model=UserRead, status_code=201, dependencies=admin)
def create_user(body: UserCreate, session: DbSession) -> UserRead:
    user = service.create_user(
        session,
        username=body.username,
        password=body.password,
        name=body.name,
        org_unit_code=body.org_unit,
        roles=body.roles,
        title=body.title,
        phones=body.phones,
    )
    return UserRead.of(user)


@router.patch("/users/{username}", response_model=UserRead, dependencies=admin)
def update_user(username: str, body: UserUpdate, session: DbSession) -> UserRead:
    user = service.require_user(session, username)
    changes = body.model_dump(exclude_unset=True)
    if changes.get("password"):
        service.set_password(session, user, changes["password"])
    if changes.get("disabled") is not None:
        service.set_disabled(session, user, changes["disabled"])
    return UserRead.of(user)
