"""The audit log: who changed what in the administrators' data, when, before and after.

Domains register the tables they administer (`register`); a session hook then records every
insert, update and delete of their rows in the same transaction as the change, so that no
change commits without its entry and a rolled-back change leaves none. The actor is the
request's signed-in user (`set_actor` on the request's session) or, at the command line,
"cli:<command>" (`acting_as`); otherwise "system". Secret columns (password hashes, key
hashes) are written as "***" and never in clear; bulky ones (geometries) are left out.
Bulk statements (`session.execute(insert(Model), rows)`) on a registered table get one entry
saying how many rows they wrote.
"""

from __future__ import annotations

import datetime as dt
import decimal
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from sqlalchemy import JSON, Delete, Index, Insert, String, Update, event, insert, inspect
from sqlalchemy.orm import Mapped, ORMExecuteState, Session, mapped_column

from civicgrid.kit.db import Base, UTCDateTime, utcnow

MASK = "***"


class AuditEntry(Base):
    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_table_at", "table_name", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(80))
    action: Mapped[str] = mapped_column(String(10))  # insert, update, delete
    table_name: Mapped[str] = mapped_column(String(60))
    row_key: Mapped[str] = mapped_column(String(200))
    before: Mapped[dict | None] = mapped_column(JSON)
    after: Mapped[dict | None] = mapped_column(JSON)


@dataclass(frozen=True)
class _Spec:
    table: str
    secret: frozenset[str]
    skip: frozenset[str]


_specs: dict[type, _Spec] = {}
_tables: dict[str, _Spec] = {}
_actor: ContextVar[str | None] = ContextVar("civicgrid_audit_actor", default=None)
_ACTOR_KEY = "audit_actor"
_PENDING_KEY = "audit_pending"


def register(model: type, *, secret: Iterable[str] = (), skip: Iterable[str] = ()) -> None:
    """Audit every write of `model`'s rows. `secret` columns show only that they changed
    ("***"); `skip` columns (large or derived) are left out of before/after."""
    spec = _Spec(model.__tablename__, frozenset(secret), frozenset(skip))
    _specs[model] = spec
    _tables[spec.table] = spec


def registered_tables() -> list[str]:
    return sorted(_tables)


def set_actor(session: Session, actor: str) -> None:
    """Attribute this session's writes to `actor` (the request's signed-in user)."""
    session.info[_ACTOR_KEY] = actor[:80]


@contextmanager
def acting_as(actor: str) -> Iterator[None]:
    """Attribute writes in this block (this thread or task) to `actor`, where the session
    names none (the command line: "cli:user add")."""
    token = _actor.set(actor[:80])
    try:
        yield
    finally:
        _actor.reset(token)


def set_default_actor(actor: str) -> Callable[[], None]:
    """Attribute writes from now on in this context to `actor`, where the session names none;
    returns what puts the previous one back."""
    token = _actor.set(actor[:80])
    return lambda: _actor.reset(token)


def actor_of(session: Session) -> str:
    return session.info.get(_ACTOR_KEY) or _actor.get() or "system"


def _plain(value):
    """A column value as JSON can hold it."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, bytes):
        return f"<{len(value)} bytes>"
    if isinstance(value, dict | list | tuple):
        return value if isinstance(value, dict | list) else list(value)
    return str(value)


def _shown(spec: _Spec, name: str, value):
    return MASK if name in spec.secret and value is not None else _plain(value)


def _values(obj, spec: _Spec) -> dict:
    """The row's loaded column values (nothing is loaded for it: this runs inside a flush)."""
    state = inspect(obj)
    values = {}
    for attr in state.mapper.column_attrs:
        name = attr.key
        if name in spec.skip or name not in state.dict:
            continue
        values[name] = _shown(spec, name, state.dict[name])
    return values


def _changes(obj, spec: _Spec) -> tuple[dict, dict]:
    """The changed columns of a row, before and after."""
    state = inspect(obj)
    before, after = {}, {}
    for attr in state.mapper.column_attrs:
        name = attr.key
        history = state.attrs[name].history
        if not history.added and not history.deleted:
            continue
        old = history.deleted[0] if history.deleted else None
        new = history.added[0] if history.added else None
        if old == new and history.deleted:
            continue
        if name in spec.skip:
            before[name], after[name] = "<changed>", "<changed>"
            continue
        before[name], after[name] = _shown(spec, name, old), _shown(spec, name, new)
    return before, after


def _key(obj) -> str:
    # from the instance's dict: a new row's identity is set only after the flush's events
    state = inspect(obj)
    mapper = state.mapper
    values = (state.dict.get(mapper.get_property_by_column(c).key) for c in mapper.primary_key)
    return ",".join(str(_plain(v)) if v is not None else "" for v in values)[:200]


def record(
    session: Session, *, action: str, table: str, row_key: str, after: dict | None = None
) -> None:
    """One entry written by hand, in the session's transaction, for a change the hooks do not
    see row by row (a job's batch erasure): who (the session's actor), what, how many."""
    session.execute(
        insert(AuditEntry.__table__).values(
            at=utcnow(),
            actor=actor_of(session),
            action=action[:10],
            table_name=table[:60],
            row_key=row_key[:200],
            before=None,
            after=after,
        )
    )


def latest(session: Session, table: str, *, limit: int = 20) -> list[AuditEntry]:
    """The newest entries about this table (e.g. "retention"), newest first."""
    from sqlalchemy import select

    query = select(AuditEntry).where(AuditEntry.table_name == table)
    return list(session.scalars(query.order_by(AuditEntry.id.desc()).limit(limit)))


@event.listens_for(Session, "before_flush")
def _collect(session: Session, _flush_context, _instances) -> None:
    pending = session.info.setdefault(_PENDING_KEY, [])
    for obj in session.new:
        spec = _specs.get(type(obj))
        if spec is not None:
            pending.append(("insert", obj, spec, None))
    for obj in session.dirty:
        spec = _specs.get(type(obj))
        if spec is not None and session.is_modified(obj, include_collections=False):
            before, after = _changes(obj, spec)
            if before or after:
                pending.append(("update", obj, spec, (before, after)))
    for obj in session.deleted:
        spec = _specs.get(type(obj))
        if spec is not None:
            pending.append(("delete", obj, spec, _values(obj, spec)))


@event.listens_for(Session, "after_flush")
def _write(session: Session, _flush_context) -> None:
    # after the flush, so that inserted rows have their keys; in the flush's transaction
    pending = session.info.pop(_PENDING_KEY, None)
    if not pending:
        return
    actor, now = actor_of(session), utcnow()
    rows = []
    for action, obj, spec, data in pending:
        before = after = None
        if action == "insert":
            after = _values(obj, spec)
        elif action == "update":
            before, after = data
        else:
            before = data
        rows.append(
            {
                "at": now,
                "actor": actor,
                "action": action,
                "table_name": spec.table,
                "row_key": _key(obj),
                "before": before,
                "after": after,
            }
        )
    session.connection().execute(insert(AuditEntry.__table__), rows)


@event.listens_for(Session, "after_soft_rollback")
def _forget(session: Session, _previous) -> None:
    session.info.pop(_PENDING_KEY, None)


@event.listens_for(Session, "do_orm_execute")
def _bulk(state: ORMExecuteState) -> None:
    statement = state.statement
    if not isinstance(statement, Insert | Update | Delete):
        return
    table = getattr(statement, "table", None)
    spec = _tables.get(getattr(table, "name", None))
    if spec is None:
        return
    params = state.parameters
    rows = len(params) if isinstance(params, list) else None
    result = state.invoke_statement()
    if rows is None:
        rows = getattr(result, "rowcount", None)
    action = (
        "insert"
        if isinstance(statement, Insert)
        else "update"
        if isinstance(statement, Update)
        else "delete"
    )
    state.session.connection().execute(
        insert(AuditEntry.__table__).values(
            at=utcnow(),
            actor=actor_of(state.session),
            action=action,
            table_name=spec.table,
            row_key="*",
            before=None,
            after={"bulk": True, "rows": rows},
        )
    )
    return result
