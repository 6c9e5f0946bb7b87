"""The one way a new report comes in: the phone page, Open311 and staff entry.

1. Plan, outside any write (`citizen.service.prepare`, or `cases.service.plan_report` for staff):
   the checks, the routing, the photos decoded and stored under keys no row refers to yet
   (pending), so that no PUT to an object store and no fsync happens inside the write.
2. Write through group commit (`kit.groupwrite`): whatever reports are waiting are written in one
   transaction, one statement per table, and each caller is answered once it has committed.

A report refused in the write (an Open311 key revoked meanwhile, a busy database) has its
photos' files discarded at once; a report whose process dies before its commit leaves files
that no row refers to, which the media sweep removes once they are older than its grace.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.orm import Session

from civicgrid.citizen import service
from civicgrid.config import get_settings
from civicgrid.kit.errors import AppError
from civicgrid.kit.groupwrite import GroupWriter
from civicgrid.media import service as media_service


@dataclass
class Report:
    """A prepared report on its way to the writer. With `live_keys` (Open311), `key` must still
    be among the live keys when the batch is written: `live_keys(session, keys)` is asked once
    per batch for all of them (a key may have been revoked since the report was checked)."""

    prepared: service.Prepared
    key: str | None = None
    live_keys: Callable[[Session, set[str | None]], set[str]] | None = None
    refusal: Exception | None = None  # what a report whose key is no longer live gets


def _write_batch(session: Session, items: list[Report]) -> list[service.Submitted | Exception]:
    wanted: dict[Callable, set[str | None]] = {}
    for item in items:
        if item.live_keys is not None:
            wanted.setdefault(item.live_keys, set()).add(item.key)
    live = {check: check(session, keys) for check, keys in wanted.items()}
    kept = [item for item in items if item.live_keys is None or item.key in live[item.live_keys]]
    written = iter(
        service.write_many(session, get_settings(), [i.prepared for i in kept], attach=False)
        if kept
        else ()
    )
    kept_ids = {id(item) for item in kept}
    return [next(written) if id(item) in kept_ids else item.refusal for item in items]


_writer = GroupWriter("intake", _write_batch)


def write(report: Report) -> service.Submitted:
    """Write a prepared report with whatever others are waiting; its answer once committed (the
    case comes back as its draft, with code and id). A refusal (AppError: decided before
    anything of it was written) discards its photos' files; after any other failure the commit
    may have happened, so the files are left to the sweep, which keeps what a row refers to."""
    try:
        return _writer.write(report)
    except Exception as exc:
        _refused(report, exc)
        raise


async def write_async(report: Report) -> service.Submitted:
    """`write` for a coroutine: the event loop is not held while the report waits."""
    try:
        return await asyncio.wrap_future(_writer.submit(report))
    except Exception as exc:
        _refused(report, exc)
        raise


def _refused(report: Report, exc: Exception) -> None:
    if isinstance(exc, AppError) or exc is report.refusal:
        media_service.discard(get_settings(), report.prepared.photos)
