"""The columns of a stored image (media.service.store's answer: the re-encoded JPEG, its
thumbnail, size and digest), one place for every table that keeps images: a case's photos and
other domains' (a spot check's, a work log's). A mixin: each table adds its own owner columns."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from civicgrid.kit.db import UTCDateTime, utcnow


class StoredImageColumns:
    key: Mapped[str] = mapped_column(String(200), unique=True)
    thumb_key: Mapped[str] = mapped_column(String(200))
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
