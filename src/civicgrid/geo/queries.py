"""What other domains read of the areas (district, streets, communities, grids), as named
queries. Another domain reads the areas only through these functions or `service` (the import
contract, `.importlinter`)."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import String, cast, or_, select
from sqlalchemy.orm import Session

from civicgrid.geo.models import Area


def names_by_code(session: Session, codes: Iterable[str]) -> dict[str, str]:
    """The name of each of these area codes that exists (any level)."""
    query = select(Area.code, Area.name).where(Area.code.in_(list(codes)))
    return dict(session.execute(query).all())


def area_exists(session: Session, code: str) -> bool:
    """Whether an area of this code exists (any level)."""
    return session.scalar(select(Area.id).where(Area.code == code)) is not None


def responsible_areas(session: Session, usernames: Iterable[str]) -> dict[str, list[str]]:
    """The codes of the areas (any level) naming each of these usernames responsible, in code
    order; usernames responsible for none are absent."""
    wanted = sorted({u for u in usernames if u})
    if not wanted:
        return {}
    # the JSON list read as text narrows the rows on both databases; the list decides
    text = cast(Area.responsible, String)
    query = select(Area.code, Area.responsible).order_by(Area.code)
    if len(wanted) <= 50:  # a page of people: only rows that may name one of them
        query = query.where(or_(*(text.contains(f'"{u}"') for u in wanted)))
    else:
        query = query.where(text != "[]")
    out: dict[str, list[str]] = {}
    for code, responsible in session.execute(query):
        for username in responsible or ():
            if username in wanted:
                out.setdefault(username, []).append(code)
    return out


def grids(session: Session) -> list[tuple[str, str | None, str | None, list[str]]]:
    """Every unit grid: (code, its community's code, its street's code, the usernames the
    geography names responsible for it), in code order."""
    rows = session.execute(select(Area.code, Area.level, Area.parent_code, Area.responsible)).all()
    parent = {code: parent_code for code, _level, parent_code, _r in rows}
    out = []
    for code, level, parent_code, responsible in sorted(rows):
        if level == "grid":
            out.append((code, parent_code, parent.get(parent_code), list(responsible or ())))
    return out
