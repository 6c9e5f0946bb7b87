from __future__ import annotations

from sqlalchemy import String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from civicgrid.kit import audit
from civicgrid.kit.db import Base


class Category(Base):
    """A category of the national catalogue GB/T 47678.5-2026: a component (部件) or event (事件).

    The catalogue reuses 5-digit codes across the two kinds (component 01002 污水井盖, event
    01002 污水井盖异常), so a category is (kind, code).
    """

    __tablename__ = "categories"
    __table_args__ = (UniqueConstraint("kind", "code", name="uq_categories_kind_code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    code: Mapped[str] = mapped_column(String(5), index=True)
    major_code: Mapped[str] = mapped_column(String(2), index=True)
    major_name: Mapped[str] = mapped_column(String(60))
    name: Mapped[str] = mapped_column(String(100))
    keywords: Mapped[str] = mapped_column(String(400), default="")
    default_department: Mapped[str] = mapped_column(String(40), default="")


class TimeLimit(Base):
    """A handling time limit: scope `default`, `major:06`, `event:06010` or `component:01002`."""

    __tablename__ = "time_limits"
    __table_args__ = (UniqueConstraint("scope", "urgency", name="uq_time_limits_scope_urgency"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    scope: Mapped[str] = mapped_column(String(20))
    urgency: Mapped[str] = mapped_column(String(10))
    limit: Mapped[float]
    unit: Mapped[str] = mapped_column(String(16))
    note: Mapped[str] = mapped_column(String(200), default="")


# admin writes are audited (kit.audit)
audit.register(Category)
audit.register(TimeLimit)
