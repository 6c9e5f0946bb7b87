"""What other domains read of the org tree, as named queries. Another domain reads the units
only through these functions or `service` (the import contract, `.importlinter`)."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from civicgrid.org.models import OrgUnit


def names_by_code(session: Session, codes: Iterable[str]) -> dict[str, str]:
    """The name of each of these unit codes that exists."""
    query = select(OrgUnit.code, OrgUnit.name).where(OrgUnit.code.in_(list(codes)))
    return dict(session.execute(query).all())


def units_by_code(session: Session, codes: Iterable[str]) -> dict[str, OrgUnit]:
    """The units of these codes that exist, by code."""
    query = select(OrgUnit).where(OrgUnit.code.in_(list(codes)))
    return {u.code: u for u in session.scalars(query)}


def all_codes(session: Session) -> set[str]:
    """The code of every unit."""
    return set(session.scalars(select(OrgUnit.code)))
