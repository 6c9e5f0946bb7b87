from __future__ import annotations

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from civicgrid.auth import passwords, service
from civicgrid.auth.deps import (
    SESSION_COOKIE,
    CurrentUser,
    OptionalUser,
    credential_of,
    optional_user,
    require_roles,
)
from civicgrid.auth.exceptions import (
    BadCredentials,
    NotSignedIn,
    TokenCannotMintTokens,
    WrongCurrentPassword,
)
from civicgrid.auth.schemas import (
    LoginIn,
    PasswordChange,
    TokenCreate,
    TokenCreated,
    TokenRead,
    UserCreate,
    UserRead,
    UserUpdate,
)
from civicgrid.auth.signin import (
    check_password,
    in_transaction,
    new_session,
    set_session_cookie,
    sign_in,
    sign_out,
)
from civicgrid.kit import audit
from civicgrid.kit.http import AppSettings, DbSession, RowId
from civicgrid.kit.timefmt import iso_local

public_router = APIRouter(prefix="/api/v1/auth", tags=["auth"])
router = APIRouter(prefix="/api/v1", tags=["auth"])


@public_router.post("/login", response_model=UserRead)
async def login(body: LoginIn, request: Request, settings: AppSettings) -> Response:
    """Sign in; sets the HttpOnly session cookie. Failed attempts count towards the lockout
    of this address for this account; the account's failures from everywhere slow it down."""
    user, cookie = await sign_in(request, body.username, body.password, settings)
    return set_session_cookie(JSONResponse(UserRead.of(user).model_dump()), cookie, settings)


@public_router.post("/logout", status_code=204)
def logout(request: Request, session: DbSession, user: OptionalUser) -> Response:
    """Sign out: the session ends on the server (the old cookie stops working at once); a
    request signed by a bearer token revokes that token."""
    sign_out(session, request, user)
    response = Response(status_code=204)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


# Authenticated inside rather than by the private router: its dependency would hold the
# request's write transaction while the password is checked (slowly, on purpose).
@public_router.post("/password", status_code=204)
async def change_password(
    body: PasswordChange, request: Request, settings: AppSettings
) -> Response:
    """Change one's own password, giving the current one (a wrong one counts towards the
    sign-in lockout). Every session and token of the user ends; a caller signed in by a
    session gets a new session cookie."""

    def who(session: Session) -> str:
        user = optional_user(request, session, settings)
        if user is None:
            raise NotSignedIn()
        return user.username

    username = await in_transaction(who, read_only=True)
    passwords.check_policy(body.new_password, username=username)
    try:
        pending = await check_password(request, username, body.current_password, settings)
    except BadCredentials as exc:
        raise WrongCurrentPassword() from exc
    new_hash = await run_in_threadpool(passwords.hash_password, body.new_password)
    by_session = credential_of(request).kind == "session"

    def change(session: Session) -> str | None:
        user = service.finish_sign_in(session, pending, password=body.current_password)
        audit.set_actor(session, f"user:{user.username}")
        service.set_password(session, user, body.new_password, password_hash=new_hash)
        return new_session(session, user, request, settings) if by_session else None

    cookie = await in_transaction(change)
    response = Response(status_code=204)
    return set_session_cookie(response, cookie, settings) if cookie else response


@router.get("/auth/me", response_model=UserRead)
def me(user: CurrentUser) -> UserRead:
    return UserRead.of(user)


@router.get("/auth/tokens", response_model=list[TokenRead])
def my_tokens(user: CurrentUser, session: DbSession) -> list[TokenRead]:
    """One's own bearer tokens, revoked and expired ones too (never their text)."""
    return [TokenRead.of(t) for t in service.list_tokens(session, user)]


@router.post("/auth/tokens", response_model=TokenCreated, status_code=201)
def create_token(
    body: TokenCreate, request: Request, user: CurrentUser, session: DbSession
) -> TokenCreated:
    """A bearer token for an API client, valid for token_max_age_days; its text is shown only
    in this answer. Only a signed-in session may make one: a token cannot make tokens."""
    credential = credential_of(request)
    if credential is None or credential.kind != "session":
        raise TokenCannotMintTokens()
    token, plain = service.issue_token(session, user, body.name)
    return TokenCreated(
        id=token.id, name=token.name, token=plain, expires_at=iso_local(token.expires_at)
    )


@router.delete("/auth/tokens/{token_id}", status_code=204)
def revoke_token(token_id: RowId, user: CurrentUser, session: DbSession) -> Response:
    """Revoke one's own token (an admin: anyone's); it is refused from now on."""
    service.revoke_token(session, token_id=token_id, by=user)
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
    """A new password or disabling ends every session and revokes every token of the user."""
    user = service.require_user(session, username)
    changes = body.model_dump(exclude_unset=True)
    if changes.get("password") is not None:
        service.set_password(session, user, changes["password"])
    if changes.get("disabled") is not None:
        service.set_disabled(session, user, changes["disabled"])
    return UserRead.of(user)


@router.get("/users/{username}/tokens", response_model=list[TokenRead], dependencies=admin)
def user_tokens(username: str, session: DbSession) -> list[TokenRead]:
    """A user's bearer tokens, for admins (revoke one with DELETE /api/v1/auth/tokens/{id})."""
    return [
        TokenRead.of(t)
        for t in service.list_tokens(session, service.require_user(session, username))
    ]
