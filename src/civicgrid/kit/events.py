"""The event bus: what changed, told to listeners of this process and pushed to every open
screen (the command centre's stream).

In process by default; with CIVICGRID_REDIS_URL through Redis pub/sub, so that several server
processes share one stream. Events are published after the transaction commits, never before.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from collections.abc import AsyncIterator, Callable

from sqlalchemy import event
from sqlalchemy.orm import Session

CHANNEL = "civicgrid:events"


class InProcess:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._subscribers: set[tuple[asyncio.AbstractEventLoop, asyncio.Queue]] = set()

    def publish(self, message: dict) -> None:
        """Safe from any thread; a full subscriber queue drops the message for that one."""
        with self._lock:
            subscribers = list(self._subscribers)
        for loop, queue in subscribers:
            try:
                loop.call_soon_threadsafe(_offer, queue, message)
            except RuntimeError:  # that loop has closed
                self._discard(loop, queue)

    def _discard(self, loop, queue) -> None:
        with self._lock:
            self._subscribers.discard((loop, queue))

    async def subscribe(self) -> AsyncIterator[dict]:
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue = asyncio.Queue(maxsize=1000)
        with self._lock:
            self._subscribers.add((loop, queue))
        try:
            while True:
                yield await queue.get()
        finally:
            self._discard(loop, queue)


def _offer(queue: asyncio.Queue, message: dict) -> None:
    if not queue.full():
        queue.put_nowait(message)


class RedisPubSub:
    def __init__(self, url: str) -> None:
        import redis

        self.url = url
        self._client = redis.Redis.from_url(url)

    def publish(self, message: dict) -> None:
        self._client.publish(CHANNEL, json.dumps(message, ensure_ascii=False))

    async def subscribe(self) -> AsyncIterator[dict]:
        import redis.asyncio as aioredis

        client = aioredis.Redis.from_url(self.url)
        pubsub = client.pubsub()
        await pubsub.subscribe(CHANNEL)
        try:
            while True:
                item = await pubsub.get_message(ignore_subscribe_messages=True, timeout=15.0)
                if item is not None and item.get("type") == "message":
                    yield json.loads(item["data"])
        finally:
            await pubsub.unsubscribe(CHANNEL)
            await pubsub.aclose()
            await client.aclose()


_in_process = InProcess()
_redis: dict[str, RedisPubSub] = {}


def broadcaster():
    from civicgrid.config import get_settings

    url = get_settings().redis_url
    if not url:
        return _in_process
    if url not in _redis:
        _redis[url] = RedisPubSub(url)
    return _redis[url]


_listeners: list[Callable[[dict], None]] = []
log = logging.getLogger(__name__)


def on_committed(listener: Callable[[dict], None]) -> Callable[[dict], None]:
    """Call `listener` with every change once its transaction has committed (in this process,
    before it is broadcast); registering the same function twice registers it once."""
    if listener not in _listeners:
        _listeners.append(listener)
    return listener


def queue_change(session: Session, message: dict) -> None:
    """Remember a change; it is broadcast when (and only if) the transaction commits."""
    session.info.setdefault("broadcast", []).append(message)


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    messages = session.info.pop("broadcast", None)
    if not messages:
        return
    for message in messages:
        for listener in _listeners:
            try:
                listener(message)
            except Exception:  # noqa: BLE001 - a listener must never fail a committed write
                log.exception("listener %s failed on %s", listener, message)
    target = broadcaster()
    for message in messages:
        try:
            target.publish(message)
        except Exception:  # noqa: BLE001 - a live screen must never fail a committed write
            log.warning("could not broadcast %s", message)


@event.listens_for(Session, "after_soft_rollback")
def _after_rollback(session: Session, _previous) -> None:
    session.info.pop("broadcast", None)


# --- in the transaction ------------------------------------------------------------------------

_in_transaction: list[Callable[[Session, dict], None]] = []


def before_commit(listener: Callable[[Session, dict], None]) -> Callable[[Session, dict], None]:
    """Call `listener(session, change)` for every change queued in a transaction, just before
    it commits: what the listener writes commits with the change, or not at all (an outbox).
    Unlike `on_committed`, a listener's exception fails the commit: it must only write."""
    if listener not in _in_transaction:
        _in_transaction.append(listener)
    return listener


@event.listens_for(Session, "before_commit")
def _before_commit(session: Session) -> None:
    if not _in_transaction:
        return
    messages = session.info.get("broadcast") or []
    seen = session.info.get("broadcast_seen", 0)
    # a listener's writes may queue more changes: read until none is new
    while seen < len(messages):
        message = messages[seen]
        seen += 1
        session.info["broadcast_seen"] = seen
        for listener in _in_transaction:
            listener(session, message)


@event.listens_for(Session, "after_commit")
def _forget_seen(session: Session) -> None:
    session.info.pop("broadcast_seen", None)


@event.listens_for(Session, "after_soft_rollback")
def _forget_seen_rollback(session: Session, _previous) -> None:
    session.info.pop("broadcast_seen", None)
