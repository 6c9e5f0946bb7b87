"""Accounts, passwords, sign-in with lockout, session cookies and bearer tokens."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from civicgrid.auth.exceptions import (
    AccountLocked,
    BadCredentials,
    BadUser,
    UserExists,
    UserNotFound,
)
from civicgrid.auth.models import ROLES, ApiToken, LoginAttempt, User
from civicgrid.config import Settings
from civicgrid.db import utcnow
from civicgrid.org import service as org_service
from civicgrid.org.models import OrgUnit

_hasher = PasswordHasher()
USERNAME_RE = re.compile(r"^[A-Za-z0-9_.\-]{2,60}$")
COMMAND_ROLES = ("admin", "leader", "dispatcher", "operator")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def check_password_rules(password: str) -> None:
    if len(password) < 8:
        raise BadUser("密码至少 8 位", "the password needs at least 8 characters")


def check_roles(roles: list[str]) -> list[str]:
    unknown = [r for r in roles if r not in ROLES]
    if unknown or not roles:
        raise BadUser(
            f"角色无效: {', '.join(unknown) or '(空)'}; 可选 {', '.join(ROLES)}",
            f"unknown roles: {', '.join(unknown) or '(none)'}; use {', '.join(ROLES)}",
        )
    return list(dict.fromkeys(roles))


def create_user(
    session: Session,
    *,
    username: str,
    password: str,
    name: str,
    org_unit_code: str,
    roles: list[str],
    title: str = "",
    phones: list[str] | str = (),
    password_hash: str | None = None,
) -> User:
    """A new account with its directory entry. The username is unique; roles are known ones.
    `password_hash` (an argon2 hash of `password`) saves hashing the same password again."""
    if not USERNAME_RE.match(username):
        raise BadUser(
            "用户名只能包含字母、数字、下划线、点和横线 (2-60 位)",
            "a username is 2-60 letters, digits, '_', '.' or '-'",
        )
    if get_user(session, username) is not None:
        raise UserExists(username)
    check_password_rules(password)
    roles = check_roles(roles)
    person = org_service.create_person(
        session, name=name, org_unit_code=org_unit_code, title=title, phones=phones
    )
    if password_hash is None:
        password_hash = hash_password(password)
    user = User(username=username, password_hash=password_hash, person_id=person.id, roles=roles)
    session.add(user)
    session.flush()
    return user


def get_user(session: Session, username: str) -> User | None:
    return session.scalar(select(User).where(User.username == username))


def require_user(session: Session, username: str) -> User:
    user = get_user(session, username)
    if user is None:
        raise UserNotFound(username)
    return user


def set_password(session: Session, user: User, password: str) -> None:
    """Change the password; every existing session cookie of this user stops working."""
    check_password_rules(password)
    user.password_hash = hash_password(password)
    user.session_version += 1
    session.flush()


def set_disabled(session: Session, user: User, disabled: bool) -> None:
    user.disabled = disabled
    user.session_version += 1
    session.flush()


def list_users(session: Session) -> list[User]:
    return list(session.scalars(select(User).order_by(User.username)))


def _failures_since(session: Session, column, value: str, since: dt.datetime) -> int:
    last_ok = session.scalar(
        select(func.max(LoginAttempt.at)).where(column == value, LoginAttempt.ok.is_(True))
    )
    start = max(since, last_ok) if last_ok else since
    return (
        session.scalar(
            select(func.count()).where(
                column == value, LoginAttempt.ok.is_(False), LoginAttempt.at > start
            )
        )
        or 0
    )


def authenticate(
    session: Session, *, username: str, password: str, address: str, settings: Settings
) -> User:
    """The user, if the password is right and neither the account nor the address is locked.

    Every attempt is recorded; after `login_max_failures` failures in `login_lock_minutes`
    the account and the client address are refused for that long. The attempt row is written
    even when the sign-in fails, so the caller must commit on failure too.
    """
    now = utcnow()
    since = now - dt.timedelta(minutes=settings.login_lock_minutes)
    limit = settings.login_max_failures
    if (
        _failures_since(session, LoginAttempt.username, username, since) >= limit
        or _failures_since(session, LoginAttempt.address, address, since) >= limit
    ):
        raise AccountLocked(settings.login_lock_minutes)
    user = get_user(session, username)
    ok = False
    if user is not None and not user.disabled:
        try:
            ok = _hasher.verify(user.password_hash, password)
        except (VerificationError, InvalidHashError):
            ok = False
    session.add(LoginAttempt(username=username, address=address, ok=ok, at=now))
    session.flush()
    if not ok:
        raise BadCredentials()
    assert user is not None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    return user


# --- session cookie ---------------------------------------------------------------------------


def _serializer(settings: Settings) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(settings.secret_key, salt="civicgrid-session")


def session_cookie(user: User, settings: Settings) -> str:
    return _serializer(settings).dumps({"u": user.id, "v": user.session_version})


def user_from_cookie(session: Session, value: str, settings: Settings) -> User | None:
    try:
        data = _serializer(settings).loads(value, max_age=settings.session_max_age_seconds)
    except BadSignature:
        return None
    user = session.get(User, data.get("u"))
    if user is None or user.disabled or user.session_version != data.get("v"):
        return None
    return user


# --- bearer tokens ----------------------------------------------------------------------------


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(session: Session, user: User, name: str = "") -> tuple[ApiToken, str]:
    """A new bearer token; the plain text is returned once and only its hash is kept."""
    plain = "cg_" + secrets.token_urlsafe(32)
    from civicgrid.config import get_settings

    expires = utcnow() + dt.timedelta(days=get_settings().token_max_age_days)
    token = ApiToken(user_id=user.id, name=name, token_hash=_token_hash(plain), expires_at=expires)
    session.add(token)
    session.flush()
    return token, plain


def user_from_token(session: Session, plain: str) -> User | None:
    token = session.scalar(select(ApiToken).where(ApiToken.token_hash == _token_hash(plain)))
    if token is None or token.revoked_at is not None or token.user.disabled:
        return None
    return token.user


def revoke_token(session: Session, user: User, token_id: int) -> None:
    token = session.get(ApiToken, token_id)
    if token is None or token.user_id != user.id:
        raise BadUser("找不到该令牌", "no such token")
    token.revoked_at = utcnow()
    session.flush()


# --- scope ------------------------------------------------------------------------------------


def scope_unit(session: Session, user: User) -> OrgUnit | None:
    """The unit whose subtree the user sees: the district (or city) for command-centre roles,
    the user's own unit for everyone else. None means everything (a city-level admin)."""
    unit = user.org_unit
    if not user.has_role(*COMMAND_ROLES):
        return unit
    codes = [c for c in unit.path.strip("/").split("/") if c]
    ancestors = {u.code: u for u in session.scalars(select(OrgUnit).where(OrgUnit.code.in_(codes)))}
    for code in reversed(codes):
        anc = ancestors.get(code)
        if anc is not None and anc.kind == "district":
            return anc
    for code in codes:
        anc = ancestors.get(code)
        if anc is not None and anc.kind == "city":
            return None
    return unit


# In a scope: its holder also sees the cases that have no place yet — no street and no unit: a
# report without a location, or outside every grid, that nobody has dispatched. They belong to
# the district's command roles (dispatchers, operators, leaders, admins), who place or reject them.
SEES_UNPLACED = "<unplaced>"


def scope_codes(session: Session, user: User) -> set[str] | None:
    """The unit codes the user may see, or None for all; with SEES_UNPLACED for users who see a
    whole district."""
    unit = scope_unit(session, user)
    if unit is None:
        return None
    codes = {u.code for u in org_service.units(session, unit)}
    if unit.kind == "district" and user.has_role(*COMMAND_ROLES):
        codes.add(SEES_UNPLACED)
    return codes
