"""Dispatch rules: which unit a case goes to, by category and place."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from civicgrid.cases.exceptions import BadAction
from civicgrid.cases.models import DispatchRule
from civicgrid.kit import refcache
from civicgrid.org import service as org_service

TARGETS = ("street", "community", "unit", "department")
QUEUE_REASONS = {
    "no_location": ("没有位置", "no location given"),
    "outside_grid": ("位置不在任何网格内", "the location is outside every grid"),
    "no_rule": ("没有适用的派遣规则", "no dispatch rule covers the category"),
    "no_unit": ("规则指向的单位不存在", "the unit the rule names does not exist"),
    "needs_acceptance": ("需人工立案", "citizen reports need a human acceptance (setting)"),
    "manual": ("非自动派遣来源", "reports from this source are dispatched by hand"),
}


@dataclass(frozen=True)
class Route:
    unit_code: str | None
    reason: str | None
    rule_id: int | None = None


def _check(target: str, match: str, unit_code: str | None) -> None:
    if target not in TARGETS:
        raise BadAction(f"派遣目标 {target} 无效", f"target must be one of {', '.join(TARGETS)}")
    if not (match == "*" or (match.isdigit() and len(match) in (2, 5))):
        raise BadAction(
            "匹配条件应为 5 位类别码、2 位大类码或 *",
            "match must be a 5-digit category, a 2-digit major class or *",
        )
    if target == "unit" and not unit_code:
        raise BadAction("目标为 unit 时须给出单位编码", "target unit needs unit_code")


def add_rule(
    session: Session,
    *,
    match: str,
    target: str,
    unit_code: str | None = None,
    priority: int = 100,
    note: str = "",
) -> DispatchRule:
    """A new dispatch rule; a rule naming a unit must name an existing one."""
    _check(target, match, unit_code)
    if unit_code:
        org_service.get_unit(session, unit_code)
    rule = DispatchRule(
        match=match, target=target, unit_code=unit_code, priority=priority, note=note
    )
    session.add(rule)
    session.flush()
    return rule


# The rule `civicgrid init` installs in a district with none: every category to the street
# office whose area holds the point, after every rule an administrator adds (smaller wins).
DEFAULT_PRIORITY = 10000
DEFAULT_NOTE = "默认规则: 各类案件派往所在街道 / default: every category to its street office"


def ensure_default_rule(session: Session) -> DispatchRule | None:
    """Install the default rule (`*` → street, priority DEFAULT_PRIORITY) when the district has
    no rule at all, so that reports route on day one; an ordinary rule, listed and editable
    (or deletable) like any. The rule installed, or None when there were rules already."""
    if session.scalar(select(DispatchRule.id).limit(1)) is not None:
        return None
    return add_rule(
        session, match="*", target="street", priority=DEFAULT_PRIORITY, note=DEFAULT_NOTE
    )


def is_default(rule) -> bool:
    """Whether a rule is the one `ensure_default_rule` installs (as it installed it)."""
    return (rule.match, rule.target, rule.priority) == ("*", "street", DEFAULT_PRIORITY)


def delete_rule(session: Session, rule_id: int) -> None:
    rule = session.get(DispatchRule, rule_id)
    if rule is None:
        raise BadAction(f"找不到规则 {rule_id}", f"no dispatch rule {rule_id}")
    session.delete(rule)
    session.flush()


def list_rules(session: Session) -> list[DispatchRule]:
    return list(
        session.scalars(select(DispatchRule).order_by(DispatchRule.match, DispatchRule.priority))
    )


def route(
    session: Session,
    *,
    category_code: str,
    default_department: str,
    street_code: str | None,
    community_code: str | None,
) -> Route:
    """The unit for a case: the most specific rule (category, then major class, then *), then
    the lowest priority; street/community targets take the case's place."""
    if street_code is None:
        return Route(None, "outside_grid")
    wanted = (category_code, category_code[:2], "*")
    rules = [r for r in _rules(session) if r.match in wanted]
    if not rules:
        return Route(None, "no_rule")
    rule = min(rules, key=lambda r: (-len(r.match), r.priority, r.id))
    if rule.target == "street":
        unit = street_code
    elif rule.target == "community":
        unit = community_code or street_code
    elif rule.target == "unit":
        unit = rule.unit_code
    else:
        depts = org_service.department_codes_of_type(session, default_department)
        unit = depts[0] if depts else None
    if unit is None or unit not in org_service.unit_codes(session):
        return Route(None, "no_unit", rule.id)
    return Route(unit, None, rule.id)


@dataclass(frozen=True)
class _Rule:
    id: int
    match: str
    target: str
    unit_code: str | None
    priority: int


def _rules(session: Session) -> tuple[_Rule, ...]:
    """Every dispatch rule as plain values, cached for a few seconds (see refcache)."""

    def load():
        return tuple(
            _Rule(r.id, r.match, r.target, r.unit_code, r.priority)
            for r in session.scalars(select(DispatchRule))
        )

    return refcache.get("dispatch_rules", load, session)
