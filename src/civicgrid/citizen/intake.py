"""The one way a new report comes in: the phone page, Open311 and staff entry.

1. Plan, outside any write (`citizen.service.prepare`, or `cases.intake.plan_report` for staff):
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
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from civicgrid.citizen import service
from civicgrid.config import get_settings
from civicgrid.kit import idempotency
from civicgrid.kit.errors import AppError
from civicgrid.kit.groupwrite import GroupWriter
from civicgrid.media import service as media_service


@dataclass
class Report:
    """A prepared report on its way to the writer, with what makes its answer (`answer`, run in
    the write's transaction, once the case has its code) and its idempotency key (scoped, see
    kit.idempotency; generated when the client sent none) with the request's hash. A report
    whose key is stored already is not written again: it gets the stored answer (a client's
    repeat, or the writer's own retry of a batch whose commit failed ambiguously).

    With `live_keys` (Open311), `api_key` must still be among the live keys when the batch is
    written: `live_keys(session, keys)` is asked once per batch for all of them (a key may have
    been revoked since the report was checked); `refusal` is what the report gets if not."""

    prepared: service.Prepared
    answer: Callable[[service.Submitted], idempotency.Answer]
    key: str = field(default_factory=idempotency.generated)
    digest: str = ""
    api_key: str | None = None
    live_keys: Callable[[Session, set[str | None]], set[str]] | None = None
    refusal: Exception | None = None
    client_key: bool = False  # the key is the client's (it may have been used before)
    tried: bool = field(default=False, init=False)  # in a batch before (a retry)


def _write_batch(session: Session, items: list[Report]) -> list[idempotency.Answer | Exception]:
    results: list[idempotency.Answer | Exception | None] = [None] * len(items)
    # A generated key can be stored already only if this item was in a batch before (whose
    # commit may have happened): only those and the clients' keys are looked up.
    stored = idempotency.find(
        session, [item.key for item in items if item.client_key or item.tried]
    )
    for item in items:
        item.tried = True
    wanted: dict[Callable, set[str | None]] = {}
    for item in items:
        if item.live_keys is not None:
            wanted.setdefault(item.live_keys, set()).add(item.api_key)
    live = {check: check(session, keys) for check, keys in wanted.items()}
    kept: list[int] = []
    keys_in_batch: set[str] = set()
    for n, item in enumerate(items):
        if item.key in stored:
            digest, answer = stored[item.key]
            results[n] = answer if digest == item.digest else idempotency.KeyReused()
        elif item.key in keys_in_batch:
            results[n] = idempotency.KeyInFlight()  # the same key twice in one batch
        elif item.live_keys is not None and item.api_key not in live[item.live_keys]:
            results[n] = item.refusal
        else:
            keys_in_batch.add(item.key)
            kept.append(n)
    if kept:
        written = service.write_many(
            session, get_settings(), [items[n].prepared for n in kept], attach=False
        )
        for n, done in zip(kept, written, strict=True):
            results[n] = items[n].answer(done)
        idempotency.record(session, [(items[n].key, items[n].digest, results[n]) for n in kept])
    return results  # type: ignore[return-value]


_writer = GroupWriter("intake", _write_batch)


def write(report: Report) -> idempotency.Answer:
    """Write a prepared report with whatever others are waiting; its answer once committed (or
    the one stored with its key, if it was written before). A refusal (AppError: decided
    before anything of it was written) discards its photos' files; after any other failure
    the commit may have happened, so the files are left to the sweep (it keeps what a row
    refers to)."""
    try:
        return _writer.write(report)
    except Exception as exc:
        _refused(report, exc)
        raise


async def write_async(report: Report) -> idempotency.Answer:
    """`write` for a coroutine: the event loop is not held while the report waits."""
    try:
        return await asyncio.wrap_future(_writer.submit(report))
    except Exception as exc:
        _refused(report, exc)
        raise


def _refused(report: Report, exc: Exception) -> None:
    if isinstance(exc, AppError) or exc is report.refusal:
        media_service.discard(get_settings(), report.prepared.photos)
