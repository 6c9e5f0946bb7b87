"""Idempotency keys: a request's key stored with its answer in the request's own transaction,
so a key exists if and only if its write committed, and a repeat gets the same answer.

A client sends `Idempotency-Key: <its own key>` (1 to 200 visible ASCII characters) with a
POST that writes: Open311 requests, the citizen's report, every case action. The first request
with a key is done and its answer (status and body) stored with the key and a hash of the
request, in the same transaction as its write. A repeat with the same key and the same request
gets that answer again, byte for byte, and writes nothing; the same key with another request is
refused (422). Keys are kept `KEEP` (24 h): `prune` is the job that forgets older ones.

A key is the client's within a scope (an Open311 key, a signed-in user, the citizens' phone
page), stored as `<scope>:<sha256 of the key>` so that any key fits the column. The intake's
group commit gives every report a key, generated when the client sent none, so that a batch
retried after an ambiguous commit finds the reports it wrote instead of writing them twice.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import orjson
from fastapi import Response
from sqlalchemy import JSON, String, delete, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from civicgrid.kit import scheduler
from civicgrid.kit.db import Base, UTCDateTime, utcnow
from civicgrid.kit.errors import BadRequest, Conflict, Invalid

HEADER = "Idempotency-Key"
MAX_LENGTH = 200
KEEP = dt.timedelta(hours=24)


class IdempotencyKey(Base):
    __tablename__ = "idempotency_keys"

    # "<scope>:<key>": a key is the client's, within the scope it is sent in
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    request_hash: Mapped[str] = mapped_column(String(64))
    status: Mapped[int]
    answer: Mapped[dict | list | None] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class BadKey(BadRequest):
    def __init__(self) -> None:
        super().__init__(
            f"{HEADER} 须为 1 到 {MAX_LENGTH} 个可见 ASCII 字符",
            f"{HEADER} must be 1 to {MAX_LENGTH} visible ASCII characters",
        )


class KeyReused(Invalid):
    def __init__(self) -> None:
        super().__init__(
            f"该 {HEADER} 已用于另一个请求; 新请求请用新的键",
            f"this {HEADER} was used with a different request; use a new key for a new request",
        )


class KeyInFlight(Conflict):
    # told apart from a refusal: the client sends the same request again shortly
    error = "key_in_flight"

    def __init__(self) -> None:
        super().__init__(
            f"同一 {HEADER} 的请求正在处理, 请稍后重发以取得其结果",
            f"a request with this {HEADER} is being done; send it again shortly for its answer",
        )


def checked_key(value: str | None) -> str | None:
    """The client's key from the header's value (None when absent); BadKey (400) unless it is
    1 to MAX_LENGTH visible ASCII characters."""
    if value is None:
        return None
    if not 1 <= len(value) <= MAX_LENGTH or not all(33 <= ord(c) <= 126 for c in value):
        raise BadKey()
    return value


def scoped(scope: str, key: str) -> str:
    """The stored form of a client's key within a scope."""
    return f"{scope}:{hashlib.sha256(key.encode()).hexdigest()}"


def generated(scope: str = "intake") -> str:
    """A stored key for a request that came without one (the intake's batch retries)."""
    return f"{scope}:{uuid.uuid4().hex}"


def request_hash(*parts: object) -> str:
    """A hash of what the request asked (its path, its parsed fields, its files' hashes): the
    same request again has the same hash."""
    return hashlib.sha256(orjson.dumps(parts, option=orjson.OPT_SORT_KEYS)).hexdigest()


@dataclass(frozen=True)
class Answer:
    """What a request was answered: its status and its body (text, as it was sent)."""

    status: int
    body: str
    media_type: str = "application/json"

    @classmethod
    def json(cls, status: int, data: object) -> Answer:
        return cls(status, orjson.dumps(data).decode())

    def response(self) -> Response:
        """The answer as it is sent, the first time and every repeat."""
        return Response(self.body, status_code=self.status, media_type=self.media_type)


def find(session: Session, keys: Iterable[str]) -> dict[str, tuple[str, Answer]]:
    """The stored keys among `keys` (in their scoped form): key → (request hash, answer)."""
    wanted = list(set(keys))
    if not wanted:
        return {}
    rows = session.execute(
        select(_KEYS.c.key, _KEYS.c.request_hash, _KEYS.c.status, _KEYS.c.answer).where(
            _KEYS.c.key.in_(wanted)
        )
    )
    return {
        key: (digest, Answer(status, answer["body"], answer["media_type"]))
        for key, digest, status, answer in rows
    }


def replay(session: Session, key: str | None, digest: str) -> Answer | None:
    """The stored answer of `key` (scoped) for this request, or None if the key is new;
    KeyReused (422) if the key was used with another request."""
    if key is None:
        return None
    found = find(session, [key]).get(key)
    if found is None:
        return None
    if found[0] != digest:
        raise KeyReused()
    return found[1]


def record(session: Session, items: Iterable[tuple[str, str, Answer]]) -> None:
    """Store (key, request hash, answer) in the session's transaction: the key exists once it
    commits, with the write it answers."""
    rows = [
        {
            "key": key,
            "request_hash": digest,
            "status": answer.status,
            "answer": {"body": answer.body, "media_type": answer.media_type},
            "created_at": utcnow(),
        }
        for key, digest, answer in items
    ]
    if rows:
        session.connection().execute(insert(_KEYS), rows)


def is_duplicate_key(exc: BaseException) -> bool:
    """An insert's unique violation on the keys' table (two requests with one key at once)."""
    return isinstance(exc, IntegrityError) and "idempotency_keys" in str(exc.orig)


def run(
    session: Session, key: str | None, scope: str, digest: str, work: Callable[[], Answer]
) -> Answer:
    """`work()`'s answer, stored with the client's `key` (checked_key's) in the session's
    transaction; or, for a repeat, the stored answer without doing the work again. Without a
    key, just the work. A second request with the key while the first is being done gets
    KeyInFlight (409) when the first commits: sent again, it gets the first's answer."""
    if key is None:
        return work()
    stored = scoped(scope, key)
    found = replay(session, stored, digest)
    if found is not None:
        return found
    answer = work()
    try:
        record(session, [(stored, digest, answer)])
    except IntegrityError as exc:
        if is_duplicate_key(exc):
            raise KeyInFlight() from exc
        raise
    return answer


def prune(session: Session, older_than: dt.timedelta = KEEP) -> int:
    """Forget the keys stored more than `older_than` ago (a job for the scheduler, daily or
    hourly); the number forgotten."""
    cutoff = utcnow() - older_than
    return session.execute(
        delete(IdempotencyKey).where(IdempotencyKey.created_at < cutoff)
    ).rowcount


_KEYS = IdempotencyKey.__table__


def _prune_job(session: Session, _settings) -> str:
    return f"forgot {prune(session)} idempotency keys older than {KEEP}"


PRUNE_JOB = scheduler.register(
    scheduler.Job(
        "idempotency-prune",
        every=dt.timedelta(hours=1),
        run=_prune_job,
        description="删除超过 24 小时的幂等键 / forget idempotency keys older than a day",
    )
)
