"""What other domains read of the org tree, as named queries. Another domain reads the units
only through these functions or `service` (the import contract, `.importlinter`)."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from civicgrid.org.models import OrgUnit, Person


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


def code_names_by_id(session: Session, ids: Iterable[int]) -> dict[int, tuple[str, str]]:
    """(code, name) of each of these unit ids that exists."""
    query = select(OrgUnit.id, OrgUnit.code, OrgUnit.name).where(OrgUnit.id.in_(list(ids)))
    return {row.id: (row.code, row.name) for row in session.execute(query)}


def person_exists(session: Session, person_id: int) -> bool:
    """Whether a directory entry of this id exists."""
    return session.get(Person, person_id) is not None


def person_names_by_id(session: Session, ids: Iterable[int]) -> dict[int, str]:
    """The name of each of these people that exists."""
    query = select(Person.id, Person.name).where(Person.id.in_(list(ids)))
    return dict(session.execute(query).all())
