from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from civicgrid.kit.db import Base, UTCDateTime, utcnow
from civicgrid.media.columns import StoredImageColumns


class Photo(StoredImageColumns, Base):
    """A photo of a case: re-encoded JPEG without EXIF, with a thumbnail, in the store."""

    __tablename__ = "photos"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    # indexed: deleting an event (import --replace) finds its photos without a scan
    event_id: Mapped[int | None] = mapped_column(
        ForeignKey("case_events.id", ondelete="CASCADE"), index=True
    )
    # report (before), done (after the fix), verify (the supervisor's check)
    stage: Mapped[str] = mapped_column(String(16))
    # Marked public by a dispatcher after review (the setting public_photos=after_review shows
    # only these to the public); who and when, as for every staff write.
    public: Mapped[bool] = mapped_column(default=False)
    public_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    public_by: Mapped[str | None] = mapped_column(String(60))


class Document(Base):
    """A stored document (a notice's attachment: PDF, Office file, image), checked by content.
    Its owner's row names it by key; the sweep, backups and restores know it from here."""

    __tablename__ = "media_documents"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)
    content_type: Mapped[str] = mapped_column(String(120))
    size: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
