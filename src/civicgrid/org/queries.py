"""What other domains read of the org tree, as named queries. Another domain reads the units
only through these functions or `service` (the import contract, `.importlinter`)."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

from sqlalchemy import Select, or_, select
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


def people_matching(q: str) -> Select:
    """The ids of the people whose name contains q, whose pinyin initials start with q, or
    whose phones hold q's digits anywhere (spaces, dashes, full-width digits allowed): a search
    for whoever sees every phone whole (administrators); `service.search_people` is the
    directory's, which keeps masked digits hidden."""
    q = unicodedata.normalize("NFKC", q).strip()
    digits = re.sub(r"[\s\-()]", "", q)
    if digits and digits.isascii() and digits.isdigit():
        return select(Person.id).where(Person.phones.contains(digits))
    found = [Person.name.contains(q)]
    if re.fullmatch(r"[A-Za-z]+", q):
        low = q.lower()
        found += [Person.initials.like(f"{low}%"), Person.initials.like(f"% {low}%")]
    return select(Person.id).where(or_(*found))


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
