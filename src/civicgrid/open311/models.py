from __future__ import annotations

import datetime as dt

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from civicgrid.kit import audit
from civicgrid.kit.db import Base, UTCDateTime, utcnow


class ApiKey(Base):
    """An Open311 api_key: issued to a client application, revocable; only its hash is kept."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


# admin writes are audited (kit.audit); the key's hash never reaches the log
audit.register(ApiKey, secret={"key_hash"})
