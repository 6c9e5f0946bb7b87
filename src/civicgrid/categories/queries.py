"""What other domains read of the category catalogue, as named queries.

Another domain reads the catalogue only through these functions (the import contract,
`.importlinter`). The catalogue reuses 5-digit codes across the two kinds; wherever one name or
one row stands for a code, the event wins (a report is about a problem), as in
`service.resolve_category`.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from civicgrid.categories.models import Category


def names_by_code(session: Session, codes: Iterable[str], *, major: bool = False) -> dict[str, str]:
    """The name of each of these category codes (or, with `major`, of these 2-digit major
    codes) that the catalogue has; an ambiguous code is named by its event."""
    column = Category.major_code if major else Category.code
    name = Category.major_name if major else Category.name
    out: dict[str, str] = {}
    for code, kind, label in session.execute(
        select(column, Category.kind, name).where(column.in_(list(codes))).order_by(Category.kind)
    ):
        if code not in out or kind == "event":
            out[code] = label
    return out


def kinds_by_code(session: Session) -> dict[str, str]:
    """Every code of the catalogue with its kind; a code that is both kinds is an event."""
    kinds: dict[str, str] = {}
    for code, kind in session.execute(select(Category.code, Category.kind)):
        if kinds.get(code) != "event":
            kinds[code] = kind
    return kinds


def kinds_of_each_code(session: Session) -> dict[str, set[str]]:
    """Every code of the catalogue with all its kinds (a code may be an event and a component)."""
    kinds: dict[str, set[str]] = {}
    for code, kind in session.execute(select(Category.code, Category.kind)):
        kinds.setdefault(code, set()).add(kind)
    return kinds


def one_per_code(session: Session) -> list[Category]:
    """One category per code, in code order; where a code is both kinds, the event."""
    by_code: dict[str, Category] = {}
    for cat in session.scalars(select(Category).order_by(Category.code, Category.kind)):
        if cat.code not in by_code or cat.kind == "event":
            by_code[cat.code] = cat
    return list(by_code.values())
