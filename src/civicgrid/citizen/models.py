from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from civicgrid.kit.db import Base, UTCDateTime


class TrackingSecret(Base):
    """The secret of a citizen's tracking link (/track/{code}?s=...); only its hash is kept."""

    __tablename__ = "tracking_secrets"

    case_id: Mapped[int] = mapped_column(
        ForeignKey("cases.id", ondelete="CASCADE"), primary_key=True
    )
    secret_hash: Mapped[str] = mapped_column(String(64))


class CaseFollower(Base):
    """A citizen who said "我也遇到这个问题" of a public case instead of reporting it again: one
    more on the case's count, and, with a phone, told of the case's public steps as its
    reporter is (citizen.updates). One row per phone and case; anonymous ones count each."""

    __tablename__ = "case_followers"
    __table_args__ = (Index("uq_case_followers_case_id_phone", "case_id", "phone", unique=True),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    # normalised (kit.text.normalise_phone); NULL for an anonymous one (NULLs never clash)
    phone: Mapped[str | None] = mapped_column(String(40), nullable=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime(timezone=True))
