from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from civicgrid.kit import audit
from civicgrid.kit.db import Base, UTCDateTime, utcnow

UNIT_KINDS = ("city", "district", "street", "community", "department", "team", "contractor")


class OrgUnit(Base):
    """A node of the organisation tree: city, district, street, community, department, team."""

    __tablename__ = "org_units"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(16))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("org_units.id"), index=True)
    # Materialised path of codes, "/230110/230110001/": scope checks are a prefix test.
    path: Mapped[str] = mapped_column(String(400), index=True)
    # For departments: the type of department (市政公用部门, 环卫部门 ...) that categories name.
    dept_type: Mapped[str | None] = mapped_column(String(40), index=True)
    phone: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    parent: Mapped[OrgUnit | None] = relationship(remote_side=[id], lazy="raise")


class Person(Base):
    """An entry of the staff directory (城管通讯录); a sign-in account may point at it."""

    __tablename__ = "people"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(60), index=True)
    # Pinyin initials, space-separated variants for polyphonic names: "zqs zqx".
    initials: Mapped[str] = mapped_column(String(200), index=True, default="")
    title: Mapped[str] = mapped_column(String(60), default="")
    # Comma-separated phone numbers, digits only.
    phones: Mapped[str] = mapped_column(String(200), default="")
    email: Mapped[str | None] = mapped_column(String(120))
    org_unit_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    org_unit: Mapped[OrgUnit] = relationship(lazy="joined")


# admin writes are audited (kit.audit)
audit.register(OrgUnit)
audit.register(Person)
