from __future__ import annotations

import datetime as dt

from sqlalchemy import LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from civicgrid.kit import audit
from civicgrid.kit.db import Base, UTCDateTime, utcnow

LEVELS = ("district", "street", "community", "grid")


class Area(Base):
    """One area of district → street → community → grid; geometry is GeoJSON in WGS-84."""

    __tablename__ = "areas"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    level: Mapped[str] = mapped_column(String(16), index=True)
    name: Mapped[str] = mapped_column(String(100))
    parent_code: Mapped[str | None] = mapped_column(String(32), index=True)
    geometry: Mapped[dict]
    # The same geometry as WKB, for a fast vectorised load of the point index.
    wkb: Mapped[bytes] = mapped_column(LargeBinary)
    responsible: Mapped[list] = mapped_column(default=list)
    area_m2: Mapped[float] = mapped_column(default=0.0)
    updated_at: Mapped[dt.datetime] = mapped_column(
        UTCDateTime, default=utcnow, onupdate=utcnow, index=True
    )


# admin writes are audited (kit.audit); the polygons are left out of the log
audit.register(Area, skip={"geometry", "wkb"})


class Place(Base):
    """One entry of the gazetteer (地名地址库): an address or landmark an administrator imported,
    found by the place search; the point is WGS-84 (converted on import)."""

    __tablename__ = "places"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), index=True)
    aliases: Mapped[list] = mapped_column(default=list)
    lon: Mapped[float]
    lat: Mapped[float]
    imported_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
