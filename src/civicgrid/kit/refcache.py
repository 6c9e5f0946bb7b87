"""Reference data read on every report — the category, its time limit, the dispatch rules, the
units, the administrators' calendar, the live Open311 keys — kept per process for a few seconds.

Without it, 8 of the 19 statements of a routed report were these reads (bench/intake.py).
A change made through this process clears the cache when its transaction ends (commit or
rollback); other worker processes see it within `TTL_SECONDS`. Values must be immutable or
never changed by their users.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable
from typing import TypeVar

from sqlalchemy import event
from sqlalchemy.orm import Session

T = TypeVar("T")
TTL_SECONDS = 5.0

_lock = threading.Lock()
_entries: dict[Hashable, tuple[float, int, object]] = {}
_generation = 0
_loading: set[Hashable] = set()


def get(key: Hashable, load: Callable[[], T], session: Session | None = None) -> T:
    """The cached value of `key`, or `load()` (kept unless the cache was cleared meanwhile, or
    `session` has changed reference data it has not committed yet)."""
    if session is not None and session.info.get("refdata_changed"):
        return load()
    now = time.monotonic()
    hit = _entries.get(key)
    generation = _generation
    if hit is not None and hit[1] == generation:
        if now - hit[0] < TTL_SECONDS:
            return hit[2]  # type: ignore[return-value]
        # Expired: one thread reloads, the others go on with the value of a few seconds ago
        # rather than all reloading at once (under load that stalled every request).
        with _lock:
            if key in _loading:
                return hit[2]  # type: ignore[return-value]
            _loading.add(key)
        try:
            value = load()
        finally:
            with _lock:
                _loading.discard(key)
    else:
        value = load()
    with _lock:
        if generation == _generation:
            _entries[key] = (now, generation, value)
    return value


def clear() -> None:
    global _generation
    with _lock:
        _generation += 1
        _entries.clear()


# The tables whose rows are cached (by name, so that this module imports no models).
TABLES = frozenset(
    {
        "categories",
        "time_limits",
        "dispatch_rules",
        "org_units",
        "calendar_days",
        "calendar_years",
        "api_keys",
    }
)


def changed(session: Session) -> None:
    """Say that this session changed reference data: the cache is cleared now and again when the
    transaction ends, so that nobody keeps a value read before the commit or the rollback."""
    clear()
    session.info["refdata_changed"] = True


@event.listens_for(Session, "before_flush")
def _before_flush(session: Session, _context, _instances) -> None:
    for obj in (*session.new, *session.dirty, *session.deleted):
        if getattr(obj, "__tablename__", None) in TABLES:
            changed(session)
            return


@event.listens_for(Session, "do_orm_execute")
def _on_execute(state) -> None:
    if state.is_insert or state.is_update or state.is_delete:
        table = getattr(state.statement, "table", None)
        if getattr(table, "name", None) in TABLES:
            changed(state.session)


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    if session.info.pop("refdata_changed", False):
        clear()


@event.listens_for(Session, "after_soft_rollback")
def _after_rollback(session: Session, _previous) -> None:
    if session.info.pop("refdata_changed", False):
        clear()
