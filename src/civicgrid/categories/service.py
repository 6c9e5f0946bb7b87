"""The category catalogue (GB/T 47678.5-2026) and the handling time limits."""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from importlib import resources

from sqlalchemy import select
from sqlalchemy.orm import Session

from civicgrid.categories.exceptions import CategoryNotFound, CsvInvalid
from civicgrid.categories.models import Category, TimeLimit
from civicgrid.kit import refcache

KINDS = ("component", "event")
LIMIT_UNITS = ("working_hours", "natural_hours", "working_days")
URGENCIES = ("normal", "urgent")
CATEGORY_COLUMNS = [
    "kind",
    "code",
    "major_code",
    "major_name",
    "name",
    "keywords",
    "default_department",
]
LIMIT_COLUMNS = ["scope", "urgency", "limit", "unit", "note"]
_SCOPE_RE = re.compile(r"^(default|major:\d{2}|(event|component):\d{5})$")


@dataclass(frozen=True)
class Limit:
    value: float
    unit: str
    scope: str


def packaged_csv(name: str) -> str:
    return resources.files("civicgrid.data").joinpath(name).read_text(encoding="utf-8")


def _rows(text: str, columns: list[str]) -> list[dict]:
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    missing = [c for c in columns if c not in (reader.fieldnames or [])]
    if missing:
        raise CsvInvalid([f"缺少列 / missing columns: {', '.join(missing)}"])
    return list(reader)


def import_categories(session: Session, text: str) -> int:
    """Load or update categories from CSV text (the columns of categories.csv); all or nothing."""
    rows = _rows(text, CATEGORY_COLUMNS)
    problems, seen = [], set()
    for n, row in enumerate(rows, start=2):
        kind, code = row["kind"].strip(), row["code"].strip()
        if kind not in KINDS:
            problems.append(f"line {n}: kind {kind!r} 应为 component 或 event")
        if not re.fullmatch(r"\d{5}", code):
            problems.append(f"line {n}: code {code!r} 应为 5 位数字 / must be 5 digits")
        elif row["major_code"].strip() != code[:2]:
            problems.append(f"line {n}: major_code 与 code 前两位不符 / major_code mismatch")
        if not row["name"].strip():
            problems.append(f"line {n}: name 为空 / empty name")
        if (kind, code) in seen:
            problems.append(f"line {n}: {kind} {code} 重复 / duplicate")
        seen.add((kind, code))
    if problems:
        raise CsvInvalid(problems)
    existing = {(c.kind, c.code): c for c in session.scalars(select(Category))}
    for row in rows:
        key = (row["kind"].strip(), row["code"].strip())
        values = {k: (row[k] or "").strip() for k in CATEGORY_COLUMNS}
        cat = existing.get(key)
        if cat is None:
            session.add(Category(**values))
        else:
            for k, v in values.items():
                setattr(cat, k, v)
    session.flush()
    return len(rows)


def import_limits(session: Session, text: str) -> int:
    """Load or update time limits from CSV text (the columns of time-limits.csv); all or nothing."""
    rows = _rows(text, LIMIT_COLUMNS)
    problems, parsed = [], []
    for n, row in enumerate(rows, start=2):
        scope, urgency, unit = row["scope"].strip(), row["urgency"].strip(), row["unit"].strip()
        try:
            limit = float(row["limit"])
            if not limit > 0:
                raise ValueError
        except (TypeError, ValueError):
            problems.append(
                f"line {n}: limit {row['limit']!r} 应为正数 / must be a positive number"
            )
            continue
        if not _SCOPE_RE.match(scope):
            problems.append(f"line {n}: scope {scope!r} 无效 (default, major:06, event:06010)")
        if urgency not in URGENCIES:
            problems.append(f"line {n}: urgency {urgency!r} 应为 normal 或 urgent")
        if unit not in LIMIT_UNITS:
            problems.append(f"line {n}: unit {unit!r} 应为 {', '.join(LIMIT_UNITS)}")
        parsed.append((scope, urgency, limit, unit, (row.get("note") or "").strip()))
    if problems:
        raise CsvInvalid(problems)
    for scope, urgency, limit, unit, note in parsed:
        set_limit(session, scope=scope, urgency=urgency, limit=limit, unit=unit, note=note)
    return len(parsed)


def set_limit(
    session: Session, *, scope: str, urgency: str, limit: float, unit: str, note: str = ""
) -> TimeLimit:
    """Create or change the time limit of a scope and urgency."""
    problems = []
    if not _SCOPE_RE.match(scope):
        problems.append(f"scope {scope!r} 无效 (default, major:06, event:06010)")
    if urgency not in URGENCIES:
        problems.append(f"urgency {urgency!r} 应为 normal 或 urgent")
    if unit not in LIMIT_UNITS:
        problems.append(f"unit {unit!r} 应为 {', '.join(LIMIT_UNITS)}")
    if not limit > 0:
        problems.append("limit 应为正数 / must be positive")
    if problems:
        raise CsvInvalid(problems)
    row = session.scalar(
        select(TimeLimit).where(TimeLimit.scope == scope, TimeLimit.urgency == urgency)
    )
    if row is None:
        row = TimeLimit(scope=scope, urgency=urgency, limit=limit, unit=unit, note=note)
        session.add(row)
    else:
        row.limit, row.unit, row.note = limit, unit, note or row.note
    session.flush()
    return row


def list_categories(session: Session, *, kind: str | None = None, q: str = "") -> list[Category]:
    query = select(Category).order_by(Category.code, Category.kind)
    if kind:
        query = query.where(Category.kind == kind)
    if q:
        query = query.where(
            Category.name.contains(q) | Category.keywords.contains(q) | Category.code.startswith(q)
        )
    return list(session.scalars(query))


def list_limits(session: Session) -> list[TimeLimit]:
    return list(session.scalars(select(TimeLimit).order_by(TimeLimit.scope, TimeLimit.urgency)))


def resolve_category(session: Session, code: str, kind: str | None = None) -> Category:
    """The category of a 5-digit code. Where the catalogue has the code as both a component and
    an event and no kind is given, the event wins: a report is about a problem (事件)."""
    query = select(Category).where(Category.code == code)
    if kind:
        query = query.where(Category.kind == kind)
    found = {c.kind: c for c in session.scalars(query)}
    cat = found.get("event") or found.get("component")
    if cat is None:
        raise CategoryNotFound(f"{kind}:{code}" if kind else code)
    return cat


@dataclass(frozen=True)
class CategoryRef:
    """What the case services need of a category, as plain values (cacheable)."""

    kind: str
    code: str
    major_code: str
    default_department: str | None


def category_ref(session: Session, code: str, kind: str | None = None) -> CategoryRef:
    """resolve_category, as plain values, cached for a few seconds (see refcache)."""

    def load() -> CategoryRef:
        cat = resolve_category(session, code, kind)
        return CategoryRef(cat.kind, cat.code, cat.major_code, cat.default_department)

    return refcache.get(("category", code, kind), load, session)


def category_codes(session: Session) -> frozenset[str]:
    """Every 5-digit code of the catalogue, cached for a few seconds (see refcache)."""
    return refcache.get(
        "category_codes", lambda: frozenset(session.scalars(select(Category.code))), session
    )


def cached_limit(session: Session, category: CategoryRef, urgency: str) -> Limit:
    """limit_for, cached for a few seconds (see refcache)."""
    key = ("limit", category.kind, category.code, category.major_code, urgency)
    return refcache.get(key, lambda: limit_for(session, category, urgency), session)


def limit_for(session: Session, category: Category | CategoryRef, urgency: str) -> Limit:
    """The time limit of a category and urgency: the exact (kind, code) first, then the same code
    as the other kind, then the major class, then the default; urgent falls back to normal."""
    scopes = [
        f"{category.kind}:{category.code}",
        f"{'event' if category.kind == 'component' else 'component'}:{category.code}",
        f"major:{category.major_code}",
        "default",
    ]
    rows = {
        (r.scope, r.urgency): r
        for r in session.scalars(select(TimeLimit).where(TimeLimit.scope.in_(scopes)))
    }
    urgencies = [urgency] if urgency == "normal" else [urgency, "normal"]
    for u in urgencies:
        for scope in scopes:
            row = rows.get((scope, u))
            if row is not None:
                return Limit(row.limit, row.unit, scope)
    return Limit(16, "working_hours", "builtin")


def suggest(session: Session, text: str, limit: int = 5) -> list[Category]:
    """Categories a free-text description probably means: whole keywords found in the text
    count most, shared two-character words less (events preferred over components)."""
    text = (text or "").strip()
    if not text:
        return []
    scored: dict[str, tuple[int, Category]] = {}
    for cat in session.scalars(select(Category)):
        words = {w for w in [cat.name, *cat.keywords.split("|")] if w}
        score = 0
        for word in words:
            if word in text:
                score += 4 * len(word)
            else:
                score += sum(1 for i in range(len(word) - 1) if word[i : i + 2] in text)
        if score <= 1:
            continue
        best = scored.get(cat.code)
        if best is None or score > best[0] or (score == best[0] and cat.kind == "event"):
            scored[cat.code] = (score, cat)
    ranked = sorted(scored.values(), key=lambda sc: (-sc[0], sc[1].code))
    return [cat for _, cat in ranked[:limit]]


def citizen_catalogue(session: Session) -> tuple[dict, ...]:
    """The catalogue as the report page offers it: one entry per code (the event where a code is
    both), with its keywords and the pinyin initials of its name. Reference data: cached for a
    few seconds like the rest (see refcache), so an administrator's change shows without a
    restart."""
    from civicgrid.org import service as org_service

    def load() -> tuple[dict, ...]:
        by_code: dict[str, Category] = {}
        for cat in session.scalars(select(Category).order_by(Category.code, Category.kind)):
            if cat.code not in by_code or cat.kind == "event":
                by_code[cat.code] = cat
        return tuple(
            {
                "code": c.code,
                "name": c.name,
                "keywords": c.keywords,
                "initials": org_service.name_initials(c.name),
            }
            for c in by_code.values()
        )

    return refcache.get("citizen_catalogue", load, session)


def category_names(session: Session) -> dict[str, str]:
    """The name of each 5-digit code, as the report page shows it."""
    return {c["code"]: c["name"] for c in citizen_catalogue(session)}
