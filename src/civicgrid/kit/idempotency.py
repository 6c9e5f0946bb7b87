"""Idempotency keys: a request's key stored with its answer in the request's own transaction,
so a key exists if and only if its write committed, and a repeat gets the same answer.

The machinery (look up, store, replay, prune) is to be written; this is its table.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, String
from sqlalchemy.orm import Mapped, mapped_column

from civicgrid.kit.db import Base, UTCDateTime, utcnow


class IdempotencyKey(Base):
    __tablename__ = "idempotency_keys"

    # "<scope>:<key>": a key is the client's, within the scope it is sent in
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    request_hash: Mapped[str] = mapped_column(String(64))
    status: Mapped[int]
    answer: Mapped[dict | list | None] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
