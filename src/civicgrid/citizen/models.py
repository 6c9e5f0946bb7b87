from __future__ import annotations

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from civicgrid.kit.db import Base


class TrackingSecret(Base):
    """The secret of a citizen's tracking link (/track/{code}?s=...); only its hash is kept."""

    __tablename__ = "tracking_secrets"

    case_id: Mapped[int] = mapped_column(
        ForeignKey("cases.id", ondelete="CASCADE"), primary_key=True
    )
    secret_hash: Mapped[str] = mapped_column(String(64))
