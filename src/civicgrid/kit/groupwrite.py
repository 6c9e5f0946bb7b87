"""Group commit: what many request threads want written, written by one thread, many at a time.

A report's own statements are short; what costs is everything around them — taking the write
lock (SQLite) or the commit's flush to disk (PostgreSQL), beginning and committing, and, on
SQLite, the other writers queueing behind the lock. A `GroupWriter` takes items from any
number of threads; its one thread writes whatever has queued up meanwhile in one transaction,
with one statement per table for the lot, and answers each caller once that transaction has
committed (so an answer still means "written"). Under light load a batch is one item and
nobody waits for company; under heavy load the batches grow by themselves.

`write_many(session, items)` returns one result per item, in order; a result that is an
exception is that item's refusal (it must have been decided before anything of the item was
written). If `write_many` raises, or the commit fails, the batch is rolled back and each item
is written again on its own, once, so that one bad item costs the others nothing but time —
unless the write lock could not be had (WriterBusy): then every item of the batch gets that
answer at once. A commit that fails may still have committed (the connection lost during
COMMIT): `write_many` must then find the items it wrote, by a key each item carries, and
answer them as written instead of writing them again (citizen.intake does, with
kit.idempotency). The lock wait is what is left of the oldest item's write_wait_seconds after
its time in the queue, so that no caller waits longer than a request may.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from typing import Generic, TypeVar

from sqlalchemy.orm import Session

from civicgrid.config import get_settings
from civicgrid.kit.db import WriterBusy, session_scope, write_wait

log = logging.getLogger(__name__)

T = TypeVar("T")
R = TypeVar("R")
MAX_BATCH = 64


class GroupWriter(Generic[T, R]):
    def __init__(
        self,
        name: str,
        write_many: Callable[[Session, list[T]], list[R | Exception]],
        *,
        linger: float = 0.0,
    ):
        """`linger`: how long (s) the first item of a batch may wait for company; 0 writes at
        once. A stream of small items (a fleet's positions) costs less CPU in fewer batches."""
        self.name = name
        self.write_many = write_many
        self.linger = linger
        self._queue: queue.SimpleQueue[tuple[T, Future, float]] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()

    def write(self, item: T) -> R:
        """Write `item` with whatever else is waiting; its result once committed, or its error."""
        return self.submit(item).result()

    def submit(self, item: T) -> Future:
        """`write` without waiting: the future holds the result (asyncio.wrap_future awaits it)."""
        future: Future = Future()
        self._queue.put((item, future, time.monotonic()))
        self._ensure_thread()
        return future

    def _ensure_thread(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        with self._start_lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
                self._thread.start()

    def _run(self) -> None:
        while True:
            batch = [self._queue.get()]
            until = batch[0][2] + self.linger
            while len(batch) < MAX_BATCH:
                try:
                    wait = until - time.monotonic()
                    batch.append(
                        self._queue.get(timeout=wait) if wait > 0 else self._queue.get_nowait()
                    )
                except queue.Empty:
                    break
            try:
                with write_wait(get_settings().write_wait_seconds - self._queued(batch)):
                    self._write(batch)
            except BaseException as exc:  # noqa: BLE001 - no caller may be left waiting
                for _item, future, _t in batch:
                    if not future.done():
                        future.set_exception(exc)

    @staticmethod
    def _queued(batch: list[tuple[T, Future, float]]) -> float:
        """How long the oldest item has waited in the queue (it came first)."""
        return time.monotonic() - batch[0][2]

    def _write(self, batch: list[tuple[T, Future, float]], *, again: bool = False) -> None:
        try:
            with session_scope() as session:
                results = self.write_many(session, [item for item, _f, _t in batch])
        except Exception as exc:  # noqa: BLE001 - each item again, alone
            if again or isinstance(exc, WriterBusy):
                for _item, future, _t in batch:
                    future.set_exception(exc)
                return
            # Each alone, once: a bad item costs the others nothing but time, and after an
            # ambiguous commit (it failed, yet may have committed) write_many must find what
            # it wrote (an idempotency key per item) rather than write it twice.
            log.warning(
                "%s: a batch of %d failed (%s); writing each alone", self.name, len(batch), exc
            )
            for one in batch:
                self._write([one], again=True)
            return
        for (_item, future, _t), result in zip(batch, results, strict=True):
            if isinstance(result, Exception):
                future.set_exception(result)
            else:
                future.set_result(result)
