"""What other domains read of the photos, as named queries. Another domain reads the photos
only through these functions or `service` (the import contract, `.importlinter`)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from civicgrid.media.models import Document, Photo


def case_photo(session: Session, *, case_id: int, photo_id: int) -> Photo | None:
    """The photo of this id if it belongs to this case; None otherwise (a caller answers both
    alike, so that another case's photos are not reachable by id)."""
    photo = session.get(Photo, photo_id)
    if photo is None or photo.case_id != case_id:
        return None
    return photo


def report_photo(
    session: Session, *, case_id: int, photo_id: int, public_only: bool
) -> Photo | None:
    """The report (before) photo of this id of this case; with `public_only`, only if a
    dispatcher marked it public. None otherwise."""
    query = select(Photo).where(
        Photo.id == photo_id, Photo.case_id == case_id, Photo.stage == "report"
    )
    if public_only:
        query = query.where(Photo.public.is_(True))
    return session.scalar(query)


def first_case_after_photos(session: Session, case_ids: Sequence[int]) -> dict[int, int]:
    """The id of the first after (done) photo of each of these cases that has one: one query
    for all of them."""
    return _first_done(session, Photo.case_id, case_ids)


def first_report_photos(
    session: Session, case_ids: Sequence[int], *, public_only: bool
) -> dict[int, int]:
    """The id of the first report photo of each of these cases that has one (with
    `public_only`, of those a dispatcher marked public): one query for all of them."""
    query = select(Photo.case_id, func.min(Photo.id)).where(
        Photo.case_id.in_(case_ids), Photo.stage == "report"
    )
    if public_only:
        query = query.where(Photo.public.is_(True))
    return {
        case_id: photo_id for case_id, photo_id in session.execute(query.group_by(Photo.case_id))
    }


def stored_files(session: Session) -> Iterator[tuple[str, str, str]]:
    """(key, thumbnail key, sha256 of the photo's bytes) of every photo, by id, read in
    batches: what a restore checks against the store."""
    last = 0
    while True:
        rows = session.execute(
            select(Photo.id, Photo.key, Photo.thumb_key, Photo.sha256)
            .where(Photo.id > last)
            .order_by(Photo.id)
            .limit(5000)
        ).all()
        if not rows:
            return
        for _id, key, thumb, digest in rows:
            yield key, thumb, digest
        last = rows[-1][0]


def after_photo(session: Session, *, case_id: int, photo_id: int) -> Photo | None:
    """The after (done) photo of this id of this case; None otherwise."""
    query = select(Photo).where(
        Photo.id == photo_id, Photo.case_id == case_id, Photo.stage == "done"
    )
    return session.scalar(query)


def first_after_photos(session: Session, event_ids: Sequence[int]) -> dict[int, int]:
    """The id of the first after (done) photo of each of these events that has one: one query
    for all of them."""
    return _first_done(session, Photo.event_id, event_ids)


def _first_done(session: Session, key, ids: Sequence[int]) -> dict[int, int]:
    """{key: the first after (done) photo's id} for the photos whose `key` column is in ids."""
    if not ids:
        return {}
    query = select(key, func.min(Photo.id)).where(key.in_(ids), Photo.stage == "done")
    return dict(session.execute(query.group_by(key)).all())


def stored_documents(session: Session) -> Iterator[tuple[str, str]]:
    """(key, sha256) of every stored document, by id, read in batches: what a backup copies
    and a restore checks beside the photos."""
    last = 0
    while True:
        rows = session.execute(
            select(Document.id, Document.key, Document.sha256)
            .where(Document.id > last)
            .order_by(Document.id)
            .limit(5000)
        ).all()
        if not rows:
            return
        for _id, key, digest in rows:
            yield key, digest
        last = rows[-1][0]
