"""What other domains read of the areas (district, streets, communities, grids), as named
queries. Another domain reads the areas only through these functions or `service` (the import
contract, `.importlinter`)."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from civicgrid.geo.models import Area


def names_by_code(session: Session, codes: Iterable[str]) -> dict[str, str]:
    """The name of each of these area codes that exists (any level)."""
    query = select(Area.code, Area.name).where(Area.code.in_(list(codes)))
    return dict(session.execute(query).all())


def area_exists(session: Session, code: str) -> bool:
    """Whether an area of this code exists (any level)."""
    return session.scalar(select(Area.id).where(Area.code == code)) is not None
