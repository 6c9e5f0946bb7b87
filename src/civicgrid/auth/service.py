"""Accounts, passwords, sign-in with lockout, server-side sessions and bearer tokens."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from functools import lru_cache

from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import func, or_, select, text, update
from sqlalchemy.orm import Session

from civicgrid.auth import passwords
from civicgrid.auth.exceptions import (
    AccountLocked,
    BadCredentials,
    BadUser,
    TokenNotFound,
    UserExists,
    UserNotFound,
)
from civicgrid.auth.models import ROLES, ApiToken, LoginAttempt, User, UserSession
from civicgrid.config import Settings, get_settings, secret_key
from civicgrid.kit.db import utcnow, write_now
from civicgrid.org import queries as org_queries
from civicgrid.org import service as org_service

USERNAME_RE = re.compile(r"^[A-Za-z0-9_.\-]{2,60}$")
COMMAND_ROLES = ("admin", "leader", "dispatcher", "operator")
# The largest row id a cookie may name (PostgreSQL's INTEGER).
_MAX_ID = 2**31 - 1


def hash_password(password: str) -> str:
    return passwords.hash_password(password)


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
    """A new account with its directory entry. The username is unique; roles are known ones;
    the password meets the password rule (passwords.check_policy). `password_hash` (an argon2
    hash of `password`) saves hashing the same password again."""
    if not USERNAME_RE.match(username):
        raise BadUser(
            "用户名只能包含字母、数字、下划线、点和横线 (2-60 位)",
            "a username is 2-60 letters, digits, '_', '.' or '-'",
        )
    if get_user(session, username) is not None:
        raise UserExists(username)
    passwords.check_policy(password, username=username)
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


def set_password(
    session: Session, user: User, password: str, *, password_hash: str | None = None
) -> None:
    """A new password that meets the password rule; every session of the user ends and every
    token of theirs is revoked. `password_hash` (of `password`) may be made beforehand, off
    the transaction, since hashing is slow."""
    passwords.check_policy(password, username=user.username)
    user.password_hash = password_hash or hash_password(password)
    user.session_version += 1
    end_credentials(session, user)


def set_disabled(session: Session, user: User, disabled: bool) -> None:
    """Disable (every session ends, every token is revoked) or enable an account."""
    user.disabled = disabled
    user.session_version += 1
    if disabled:
        end_credentials(session, user)
    session.flush()


def end_credentials(session: Session, user: User) -> None:
    """End every open session and revoke every live token of the user, at once."""
    now = utcnow()
    session.execute(
        update(UserSession)
        .where(UserSession.user_id == user.id, UserSession.ended_at.is_(None))
        .values(ended_at=now)
        .execution_options(synchronize_session=False)
    )
    session.execute(
        update(ApiToken)
        .where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=now)
        .execution_options(synchronize_session=False)
    )
    session.flush()


def person_names(session: Session, usernames) -> dict[str, str]:
    """The directory name of each account's person, by username (unknown usernames absent)."""
    wanted = sorted({u for u in usernames if u})
    if not wanted:
        return {}
    found = session.scalars(select(User).where(User.username.in_(wanted)))
    return {u.username: u.person.name for u in found if u.person is not None}


def contacts(session: Session, usernames) -> dict[str, dict[str, str]]:
    """Where the staff directory reaches each account's person, by username: {"sms": the
    first phone number, "email": the address}, a channel left out when the person has none
    (unknown or disabled accounts absent)."""
    wanted = sorted({u for u in usernames if u})
    if not wanted:
        return {}
    found = session.scalars(select(User).where(User.username.in_(wanted)))
    out: dict[str, dict[str, str]] = {}
    for account in found:
        if account.disabled or account.person is None:
            continue
        phones = [p.strip() for p in (account.person.phones or "").split(",") if p.strip()]
        reach = {"sms": phones[0] if phones else "", "email": account.person.email or ""}
        out[account.username] = {channel: to for channel, to in reach.items() if to}
    return out


def holders(session: Session, role: str) -> dict[str, str]:
    """Every account holding `role` (disabled ones too: their past acts still count), username
    → the person's name, by username. A district has few accounts: the JSON roles are read here."""
    users = session.scalars(select(User).order_by(User.username))
    return {u.username: u.person.name for u in users if role in (u.roles or [])}


def list_users(session: Session) -> list[User]:
    return list(session.scalars(select(User).order_by(User.username)))


def search_users(
    session: Session,
    *,
    q: str = "",
    role: str | None = None,
    disabled: bool | None = None,
    page: int = 1,
    per_page: int = 50,
) -> tuple[list[User], int]:
    """A page of accounts by username, and how many match in all: those whose username
    contains q or whose person matches it (name, initials, any digits of a phone:
    org.queries.people_matching), with the role and the state when given."""
    query = select(User)
    q = q.strip()
    if q:
        like = q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        query = query.where(
            or_(
                User.username.ilike(f"%{like}%", escape="\\"),
                User.person_id.in_(org_queries.people_matching(q)),
            )
        )
    if disabled is not None:
        query = query.where(User.disabled.is_(disabled))
    users = session.scalars(query.order_by(User.username)).all()
    if role is not None:  # roles is a JSON list: filtered here, alike on both databases
        users = [u for u in users if role in u.roles]
    total = len(users)
    start = (page - 1) * per_page
    return list(users[start : start + per_page]), total


def update_user(
    session: Session,
    user: User,
    *,
    name: str | None = None,
    title: str | None = None,
    phones: list[str] | None = None,
    org_unit_code: str | None = None,
    roles: list[str] | None = None,
) -> User:
    """Change an account and its directory entry: what is given (None leaves it). Roles are
    known ones (BadUser); name, phones and unit are checked by org.service.update_person. The
    account's sessions go on: what it may do is read from its roles on each request."""
    if roles is not None:
        user.roles = check_roles(roles)
    org_service.update_person(
        session, user.person, name=name, title=title, phones=phones, org_unit_code=org_unit_code
    )
    session.flush()
    return user


def last_sign_ins(session: Session, usernames) -> dict[str, dt.datetime]:
    """When each of these accounts last signed in with its password (kept as the sign-in
    attempts); accounts that never did are absent."""
    wanted = sorted({u for u in usernames if u})
    if not wanted:
        return {}
    rows = session.execute(
        select(LoginAttempt.username, func.max(LoginAttempt.at))
        .where(LoginAttempt.username.in_(wanted), LoginAttempt.ok.is_(True))
        .group_by(LoginAttempt.username)
    )
    return dict(rows.all())


# --- sign-in ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PendingSignIn:
    """A recorded sign-in attempt whose password is still to be checked."""

    attempt_id: int
    user_id: int | None
    password_hash: str
    delay: float


def _failures(session: Session, *where, since: dt.datetime, reset_by_success: bool) -> int:
    """Failed attempts matching `where` after `since` (and after the last success among them,
    when `reset_by_success`)."""
    start = since
    if reset_by_success:
        last_ok = session.scalar(
            select(func.max(LoginAttempt.at)).where(*where, LoginAttempt.ok.is_(True))
        )
        if last_ok is not None and last_ok > start:
            start = last_ok
    return (
        session.scalar(
            select(func.count())
            .select_from(LoginAttempt)
            .where(*where, LoginAttempt.ok.is_(False), LoginAttempt.at > start)
        )
        or 0
    )


def sign_in_delay(failures: int, settings: Settings) -> float:
    """Seconds to wait before checking a password for an account that failed `failures` times
    lately (from any address): 0, then 0.25 s doubling, at most login_delay_max_seconds."""
    if failures <= 0:
        return 0.0
    return min(settings.login_delay_max_seconds, 0.25 * 2 ** min(failures - 1, 16))


def begin_sign_in(
    session: Session, *, username: str, address: str, settings: Settings
) -> PendingSignIn:
    """Start a sign-in. Refused (AccountLocked) when this address failed for this account
    login_max_failures times, or for any accounts login_max_failures_per_address times,
    within login_lock_minutes; a lock never reaches an address that has not failed. Otherwise
    the attempt is recorded, as failed until finish_sign_in, so that attempts in flight count
    too; the answer says how long to wait first (the account's failures from all addresses:
    sign_in_delay) and which hash to check the password against: a dummy one for an unknown
    or disabled account, so that every attempt costs the same."""
    address = address[:64]
    if session.get_bind().dialect.name == "postgresql":
        # Attempts from one address, one at a time (SQLite's write lock does it there): a
        # burst of parallel guesses must not all pass the count before any is recorded. The
        # key names the schema: installations sharing a database do not wait for each other.
        session.execute(
            text("SELECT pg_advisory_xact_lock(hashtext(current_schema() || :key))"),
            {"key": " sign-in " + address},
        )
    else:
        write_now(session)  # SQLite: the writer lock before the counts, not at the first write
    now = utcnow()
    since = now - dt.timedelta(minutes=settings.login_lock_minutes)
    pair = _failures(
        session,
        LoginAttempt.username == username,
        LoginAttempt.address == address,
        since=since,
        reset_by_success=True,
    )
    # A success does not clear an address: one good account must not cover a spray.
    from_address = _failures(
        session, LoginAttempt.address == address, since=since, reset_by_success=False
    )
    if (
        pair >= settings.login_max_failures
        or from_address >= settings.login_max_failures_per_address
    ):
        raise AccountLocked(settings.login_lock_minutes)
    account = _failures(
        session, LoginAttempt.username == username, since=since, reset_by_success=True
    )
    user = get_user(session, username)
    attempt = LoginAttempt(username=username, address=address, ok=False, at=now)
    session.add(attempt)
    session.flush()
    known = user is not None and not user.disabled
    return PendingSignIn(
        attempt_id=attempt.id,
        user_id=user.id if known else None,
        password_hash=user.password_hash if known else passwords.dummy_hash(),
        delay=sign_in_delay(account, settings),
    )


def password_matches(pending: PendingSignIn, password: str) -> bool:
    """The slow part of a sign-in (one argon2 verification), needing no database."""
    ok = passwords.verify(pending.password_hash, password)
    return ok and pending.user_id is not None


def finish_sign_in(session: Session, pending: PendingSignIn, *, password: str) -> User:
    """The user of an attempt whose password matched: the attempt is marked a success (it
    clears this account's failures); BadCredentials if the account was disabled or its
    password changed meanwhile."""
    user = session.get(User, pending.user_id) if pending.user_id is not None else None
    if user is None or user.disabled or user.password_hash != pending.password_hash:
        raise BadCredentials()
    attempt = session.get(LoginAttempt, pending.attempt_id)
    if attempt is not None:
        attempt.ok = True
    if passwords.needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    session.flush()
    return user


# --- sessions -----------------------------------------------------------------------------------


@lru_cache(maxsize=4)
def _serializer_for(key: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(key, salt="civicgrid-session")


def _serializer(settings: Settings) -> URLSafeTimedSerializer:
    return _serializer_for(secret_key(settings).key)


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def start_session(
    session: Session, user: User, *, settings: Settings, address: str = "", user_agent: str = ""
) -> str:
    """A new server-side session of the user; returns the cookie value that names it (signed
    with the secret key: the row id and a random secret, of which only a hash is kept). It
    ends session_max_age_seconds from now, at sign-out, or when end_credentials runs."""
    secret = secrets.token_urlsafe(32)
    row = UserSession(
        user_id=user.id,
        secret_hash=_digest(secret),
        expires_at=utcnow() + dt.timedelta(seconds=settings.session_max_age_seconds),
        address=address[:64],
        user_agent=user_agent[:200],
    )
    session.add(row)
    session.flush()
    return _serializer(settings).dumps({"s": row.id, "k": secret})


def session_from_cookie(session: Session, value: str, settings: Settings) -> UserSession | None:
    """The open session a cookie names, with its user loaded (one query), or None when the
    cookie is forged, altered, expired, ended, or its user is disabled."""
    try:
        data = _serializer(settings).loads(value, max_age=settings.session_max_age_seconds)
    except BadSignature:
        return None
    if not isinstance(data, dict):
        return None
    sid, secret = data.get("s"), data.get("k")
    if not isinstance(sid, int) or not 1 <= sid <= _MAX_ID or not isinstance(secret, str):
        return None
    row = session.scalar(select(UserSession).where(UserSession.id == sid))
    if (
        row is None
        or row.ended_at is not None
        or row.expires_at <= utcnow()
        or not hmac.compare_digest(row.secret_hash, _digest(secret))
        or row.user.disabled
    ):
        return None
    return row


def end_session(session: Session, session_id: int) -> None:
    """End one session now (sign-out): its cookie stops working at once."""
    session.execute(
        update(UserSession)
        .where(UserSession.id == session_id, UserSession.ended_at.is_(None))
        .values(ended_at=utcnow())
        .execution_options(synchronize_session=False)
    )


# --- bearer tokens ------------------------------------------------------------------------------


def issue_token(session: Session, user: User, name: str = "") -> tuple[ApiToken, str]:
    """A new bearer token of the user, valid for token_max_age_days; the plain text is
    returned once and only its hash is kept."""
    plain = "cg_" + secrets.token_urlsafe(32)
    expires = utcnow() + dt.timedelta(days=get_settings().token_max_age_days)
    token = ApiToken(user_id=user.id, name=name, token_hash=_digest(plain), expires_at=expires)
    session.add(token)
    session.flush()
    return token, plain


def token_from_bearer(session: Session, plain: str) -> ApiToken | None:
    """The live token with this text, its user loaded (one query); None when unknown,
    revoked, expired, or its user is disabled."""
    token = session.scalar(select(ApiToken).where(ApiToken.token_hash == _digest(plain)))
    if (
        token is None
        or token.revoked_at is not None
        or token.expires_at <= utcnow()
        or token.user.disabled
    ):
        return None
    return token


def list_tokens(session: Session, user: User) -> list[ApiToken]:
    """Every token of the user, newest first, revoked and expired ones included."""
    return list(
        session.scalars(
            select(ApiToken)
            .where(ApiToken.user_id == user.id)
            .order_by(ApiToken.created_at.desc(), ApiToken.id.desc())
        )
    )


def revoke_token(session: Session, *, token_id: int, by: User) -> ApiToken:
    """Revoke a token of `by`, or any token when `by` is an admin; TokenNotFound otherwise
    (another's token is not found, so ids tell nothing). Revoking twice changes nothing."""
    token = session.get(ApiToken, token_id)
    if token is None or (token.user_id != by.id and not by.has_role("admin")):
        raise TokenNotFound(token_id)
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        session.flush()
    return token


# --- scope ------------------------------------------------------------------------------------


def scope_unit(session: Session, user: User) -> org_queries.OrgUnit | None:
    """The unit whose subtree the user sees: the district (or city) for command-centre roles,
    the user's own unit for everyone else. None means everything (a city-level admin)."""
    unit = user.org_unit
    if not user.has_role(*COMMAND_ROLES):
        return unit
    codes = [c for c in unit.path.strip("/").split("/") if c]
    ancestors = org_queries.units_by_code(session, codes)
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


def holders_by_unit(session: Session, role: str) -> dict[str, list[str]]:
    """The enabled accounts holding `role`, by the code of their person's unit: unit code →
    usernames (sorted). A district has few accounts, so the roles (a JSON list) are read here."""
    rows = session.execute(
        select(User.username, User.roles, User.disabled, org_queries.OrgUnit.code)
        .join(User.person)
        .join(org_queries.OrgUnit, org_queries.OrgUnit.id == org_queries.Person.org_unit_id)
        .order_by(User.username)
    )
    out: dict[str, list[str]] = {}
    for username, roles, disabled, unit_code in rows:
        if role in (roles or []) and not disabled:
            out.setdefault(unit_code, []).append(username)
    return out
