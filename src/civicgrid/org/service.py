"""The organisation tree and the staff directory (城管通讯录)."""

from __future__ import annotations

import io
import itertools
import re
import unicodedata

from pypinyin import Style, pinyin
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from civicgrid.kit import refcache
from civicgrid.kit.text import normalise_phone
from civicgrid.org.exceptions import BadUnit, UnitExists, UnitNotFound
from civicgrid.org.models import UNIT_KINDS, OrgUnit, Person


def get_unit(session: Session, code: str) -> OrgUnit:
    """The unit with this code, or UnitNotFound."""
    unit = session.scalar(select(OrgUnit).where(OrgUnit.code == code))
    if unit is None:
        raise UnitNotFound(code)
    return unit


def find_unit(session: Session, code: str) -> OrgUnit | None:
    return session.scalar(select(OrgUnit).where(OrgUnit.code == code))


def unit_codes(session: Session) -> frozenset[str]:
    """Every unit's code, cached for a few seconds (see refcache): routing checks each report's
    unit against it."""
    return refcache.get(
        "unit_codes", lambda: frozenset(session.scalars(select(OrgUnit.code))), session
    )


def department_codes_of_type(session: Session, dept_type: str) -> tuple[str, ...]:
    """The codes of departments of a type, in code order, cached (see refcache)."""
    return refcache.get(
        ("departments", dept_type),
        lambda: tuple(u.code for u in departments_of_type(session, dept_type)),
        session,
    )


def create_unit(
    session: Session,
    *,
    code: str,
    name: str,
    kind: str,
    parent_code: str | None = None,
    dept_type: str | None = None,
    phone: str | None = None,
) -> OrgUnit:
    """Create a unit under its parent; the code is unique, the parent must exist."""
    if kind not in UNIT_KINDS:
        raise BadUnit(
            f"单位类型 {kind} 无效, 应为 {', '.join(UNIT_KINDS)}",
            f"unknown unit kind {kind}; use one of {', '.join(UNIT_KINDS)}",
        )
    if not code or not name:
        raise BadUnit("单位编码和名称不能为空", "unit code and name are required")
    if find_unit(session, code) is not None:
        raise UnitExists(code)
    parent = get_unit(session, parent_code) if parent_code else None
    unit = OrgUnit(
        code=code,
        name=name,
        kind=kind,
        parent_id=parent.id if parent else None,
        path=(parent.path if parent else "/") + code + "/",
        dept_type=dept_type,
        phone=normalise_phone(phone or "") or None,
    )
    session.add(unit)
    session.flush()
    return unit


def ensure_unit(
    session: Session,
    *,
    code: str,
    name: str,
    kind: str,
    parent_code: str | None,
    dept_type: str | None = None,
) -> OrgUnit:
    """The unit with this code, created when missing (its name is kept up to date)."""
    unit = find_unit(session, code)
    if unit is None:
        return create_unit(
            session, code=code, name=name, kind=kind, parent_code=parent_code, dept_type=dept_type
        )
    unit.name = name
    return unit


def units(session: Session, under: OrgUnit | None = None) -> list[OrgUnit]:
    """All units, or those at and below `under`, in tree order."""
    query = select(OrgUnit).order_by(OrgUnit.path)
    if under is not None:
        query = query.where(OrgUnit.path.startswith(under.path))
    return list(session.scalars(query))


def tree(session: Session, under: OrgUnit | None = None) -> list[dict]:
    """The unit tree as nested dicts: code, name, kind, dept_type, children."""
    nodes: dict[int, dict] = {}
    roots: list[dict] = []
    for unit in units(session, under):
        node = {
            "code": unit.code,
            "name": unit.name,
            "kind": unit.kind,
            "dept_type": unit.dept_type,
            "children": [],
        }
        nodes[unit.id] = node
        parent = nodes.get(unit.parent_id) if unit.parent_id else None
        (parent["children"] if parent else roots).append(node)
    return roots


def departments_of_type(session: Session, dept_type: str) -> list[OrgUnit]:
    query = select(OrgUnit).where(OrgUnit.kind == "department", OrgUnit.dept_type == dept_type)
    return list(session.scalars(query.order_by(OrgUnit.code)))


# --- people ---------------------------------------------------------------------------------


def name_initials(name: str) -> str:
    """Pinyin initials of a name, every reading of polyphonic characters: 张秋生 → "zqs"."""
    letters = pinyin(name, style=Style.FIRST_LETTER, heteronym=True, strict=False)
    options = [sorted({s[0].lower() for s in choice if s}) or [""] for choice in letters]
    combos = itertools.islice(itertools.product(*options), 16)
    return " ".join(sorted({"".join(c) for c in combos}))


def normalise_phones(phones: list[str] | str) -> str:
    """Phone numbers as the directory keeps them: each normalised (kit.text.normalise_phone),
    comma-separated."""
    items = phones.split(",") if isinstance(phones, str) else phones
    joined = ",".join(p for p in (normalise_phone(raw, "phones") for raw in items) if p)
    if len(joined) > 200:
        raise BadUnit("电话号码过多 (最多约 5 个)", "too many phone numbers (about 5 at most)")
    return joined


def create_person(
    session: Session,
    *,
    name: str,
    org_unit_code: str,
    title: str = "",
    phones: list[str] | str = (),
    email: str | None = None,
) -> Person:
    """Add a person to the directory, with pinyin initials for search."""
    if not name.strip():
        raise BadUnit("姓名不能为空", "name is required")
    unit = get_unit(session, org_unit_code)
    person = Person(
        name=name.strip(),
        initials=name_initials(name.strip()),
        title=title,
        phones=normalise_phones(list(phones) if not isinstance(phones, str) else phones),
        email=email,
        org_unit_id=unit.id,
    )
    session.add(person)
    session.flush()
    return person


def update_person(
    session: Session,
    person: Person,
    *,
    name: str | None = None,
    title: str | None = None,
    phones: list[str] | str | None = None,
    org_unit_code: str | None = None,
) -> Person:
    """Change a directory entry: what is given (None leaves it), checked as create_person
    checks it (a name, phones normalised, a unit that exists); the initials follow the name."""
    if name is not None:
        if not name.strip():
            raise BadUnit("姓名不能为空", "name is required")
        person.name = name.strip()
        person.initials = name_initials(person.name)
    if title is not None:
        person.title = title.strip()
    if phones is not None:
        person.phones = normalise_phones(list(phones) if not isinstance(phones, str) else phones)
    if org_unit_code is not None:
        unit = get_unit(session, org_unit_code)
        person.org_unit_id = unit.id
        person.org_unit = unit
    session.flush()
    return person


def search_people(
    session: Session,
    *,
    viewer_unit_id: int | None,
    viewer_is_admin: bool,
    q: str = "",
    unit: OrgUnit | None = None,
    limit: int = 50,
) -> list[Person]:
    """People whose name contains q, whose pinyin initials start with q, or — when q is digits
    (spaces, dashes, full-width digits allowed) — whose phone shows that run of digits to this
    viewer: anywhere in a phone the viewer sees whole (`visible_phones`), only in the unmasked
    head or tail of a masked one, so that a search cannot uncover masked digits. Within
    `unit`'s subtree when given."""
    query = select(Person).join(Person.org_unit).order_by(Person.name)
    if unit is not None:
        query = query.where(OrgUnit.path.startswith(unit.path))
    q = unicodedata.normalize("NFKC", q).strip()  # full-width digits (３４５６) are digits
    digits = re.sub(r"[\s\-()]", "", q)
    if digits.isascii() and digits.isdigit():
        candidates = session.scalars(query.where(Person.phones.contains(digits)))
        shown = [
            p
            for p in candidates
            if any(
                digits in part
                for phone in visible_phones(
                    p, viewer_unit_id=viewer_unit_id, viewer_is_admin=viewer_is_admin
                )
                for part in phone.split("*")
            )
        ]
        return shown[:limit]
    query = query.limit(limit)
    if q:
        if re.fullmatch(r"[A-Za-z]+", q):
            low = q.lower()
            query = query.where(
                or_(
                    Person.initials.like(f"{low}%"),
                    Person.initials.like(f"% {low}%"),
                    Person.name.ilike(f"%{q}%"),
                )
            )
        else:
            query = query.where(Person.name.contains(q))
    return list(session.scalars(query))


def mask_phone(phone: str) -> str:
    """138****1234: the first three and last four digits stay."""
    if len(phone) <= 7:
        return phone[:1] + "*" * (len(phone) - 1)
    return phone[:3] + "*" * (len(phone) - 7) + phone[-4:]


def visible_phones(
    person: Person, *, viewer_unit_id: int | None, viewer_is_admin: bool
) -> list[str]:
    """A person's phones as the viewer may see them: whole to the same unit and admins."""
    phones = [p for p in person.phones.split(",") if p]
    if viewer_is_admin or viewer_unit_id == person.org_unit_id:
        return phones
    return [mask_phone(p) for p in phones]


def vcard(people: list[tuple[Person, list[str]]]) -> str:
    """vCard 3.0 of people with the phones the viewer may see."""
    out = []
    for person, phones in people:
        lines = [
            "BEGIN:VCARD",
            "VERSION:3.0",
            f"FN:{_vc(person.name)}",
            f"N:{_vc(person.name)};;;;",
            f"ORG:{_vc(person.org_unit.name)}",
        ]
        if person.title:
            lines.append(f"TITLE:{_vc(person.title)}")
        lines += [f"TEL;TYPE=CELL:{p}" for p in phones]
        if person.email:
            lines.append(f"EMAIL:{_vc(person.email)}")
        lines.append("END:VCARD")
        out.append("\r\n".join(lines))
    return "\r\n".join(out) + ("\r\n" if out else "")


def _vc(text: str) -> str:
    return text.replace("\\", "\\\\").replace(",", "\\,").replace(";", "\\;").replace("\n", "\\n")


def xlsx(people: list[tuple[Person, list[str]]]) -> bytes:
    """The directory as an Excel workbook (姓名, 职务, 单位, 电话, 邮箱)."""
    from openpyxl import Workbook

    from civicgrid.kit.sheets import xlsx_append

    wb = Workbook()
    ws = wb.active
    ws.title = "通讯录"
    xlsx_append(ws, ["姓名", "职务", "单位", "单位编码", "电话", "邮箱"])
    for person, phones in people:
        xlsx_append(
            ws,
            [
                person.name,
                person.title,
                person.org_unit.name,
                person.org_unit.code,
                ", ".join(phones),
                person.email or "",
            ],
        )
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
