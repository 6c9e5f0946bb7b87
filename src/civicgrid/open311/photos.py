"""Photos by URL: a partner's `media_url` fetched into the photo store, never on the request's
path. The request queues a fetch (for the hosts the settings allow), its answer goes out, then
the fetch runs (kit.fetch: allow-listed hosts, public addresses only unless allowed, a timeout
and a size cap) and the bytes are checked and re-encoded as any uploaded photo (media.service,
Pillow). A fetch that fails is tried again by the `open311-media-fetch` job, FETCH_ATTEMPTS
times in all; the URL itself is kept on the case whatever happens.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from civicgrid.config import Settings, get_settings
from civicgrid.kit import fetch, scheduler
from civicgrid.kit.db import session_scope, utcnow
from civicgrid.kit.errors import AppError
from civicgrid.media import service as media_service
from civicgrid.open311.models import MediaFetch

log = logging.getLogger(__name__)
FETCH_ATTEMPTS = 3
BATCH = 20
_FETCHES = MediaFetch.__table__


def policy(settings: Settings) -> fetch.FetchPolicy:
    return fetch.FetchPolicy(
        hosts=settings.media_fetch_hosts(),
        allow_private=settings.open311_media_fetch_private,
        max_bytes=settings.photo_max_bytes,
        timeout=settings.open311_media_fetch_timeout_seconds,
    )


def fetchable(settings: Settings, url: str) -> bool:
    """Whether the settings let this URL be fetched at all (its scheme and host; the address
    is checked when it is fetched)."""
    try:
        fetch.check_url(url, policy(settings))
    except fetch.FetchRefused:
        return False
    return True


def queue(
    session: Session,
    settings: Settings,
    *,
    case_id: int,
    event_id: int | None,
    urls: Iterable[str],
) -> list[int]:
    """Fetches of the URLs the settings allow, for the case (and the citizen's update it came
    with), in the session's transaction; their ids (none when fetching is off)."""
    rows = [
        MediaFetch(case_id=case_id, event_id=event_id, url=url)
        for url in dict.fromkeys(urls)
        if fetchable(settings, url)
    ]
    session.add_all(rows)
    session.flush()
    return [r.id for r in rows]


def run(settings: Settings | None = None, ids: Iterable[int] | None = None) -> dict[str, int]:
    """Fetch the pending fetches (those of `ids`, or the oldest BATCH), each in its own short
    transaction once its bytes are in: no database lock is held while the network is waited
    for. How many were done, failed for good, and left to try again."""
    settings = settings or get_settings()
    with session_scope(read_only=True) as session:
        query = select(
            _FETCHES.c.id, _FETCHES.c.case_id, _FETCHES.c.event_id, _FETCHES.c.url
        ).where(_FETCHES.c.state == "pending")
        if ids is not None:
            query = query.where(_FETCHES.c.id.in_(list(ids)))
        pending = session.execute(query.order_by(_FETCHES.c.id).limit(BATCH)).all()
    counts = {"done": 0, "failed": 0, "again": 0}
    rules = policy(settings)
    for fetch_id, case_id, event_id, url in pending:
        image, error = None, ""
        try:
            image = media_service.check_image(fetch.fetch(url, rules), settings, "media_url")
        except fetch.FetchRefused as exc:
            error = exc.reason
        except AppError as exc:  # not a photo media.service takes
            error = exc.detail
        counts[_record(settings, fetch_id, case_id, event_id, image, error)] += 1
    return counts


def _record(settings, fetch_id, case_id, event_id, image, error: str) -> str:
    with session_scope() as session:
        if image is not None:
            # taken by this run only if still pending (a job and an answer's fetch may meet)
            taken = session.execute(
                update(_FETCHES)
                .where(_FETCHES.c.id == fetch_id, _FETCHES.c.state == "pending")
                .values(state="done", done_at=utcnow(), error="")
            ).rowcount
            if not taken:
                return "again"
            photo = media_service.attach(
                session,
                settings,
                case_id=case_id,
                event_id=event_id,
                stage="report",
                image=image,
            )
            session.execute(
                update(_FETCHES).where(_FETCHES.c.id == fetch_id).values(photo_id=photo.id)
            )
            return "done"
        row = session.get(MediaFetch, fetch_id)
        if row is None or row.state != "pending":
            return "again"
        row.attempts += 1
        row.error = error[:200]
        log.info("media_url fetch %s failed (%s): %s", fetch_id, row.attempts, error)
        if row.attempts >= FETCH_ATTEMPTS:
            row.state, row.done_at = "failed", utcnow()
            return "failed"
        return "again"


def fetches_of(session: Session, case_id: int) -> list[MediaFetch]:
    return list(
        session.scalars(
            select(MediaFetch).where(MediaFetch.case_id == case_id).order_by(MediaFetch.id)
        )
    )


def _job(_session: Session, settings: Settings) -> str:
    counts = run(settings)
    return f"media_url fetches: {counts['done']} done, {counts['failed']} failed, " + (
        f"{counts['again']} to try again"
    )


FETCH_JOB = scheduler.register(
    scheduler.Job(
        "open311-media-fetch",
        every=dt.timedelta(minutes=1),
        run=_job,
        lease=dt.timedelta(minutes=10),
        read_only=True,  # each fetch writes in its own short transaction
        description="取回 Open311 照片链接 (media_url) / fetch Open311 photos given by URL",
    )
)
