"""Who may see a case and who may act on it: one rule, `visible` for a case and `scoped` for
a query, used by the API, the pages, the live stream and search, `check_actor` for an
action (the workflow's roles, the handler's own unit, the scope), and `check_ready` for what
the case itself must be for a live action (an extension pending, a unit to urge). The service
checks both before it writes; `allowed_for` offers only what passes both."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from civicgrid.auth.service import SEES_UNPLACED
from civicgrid.cases import workflow
from civicgrid.cases.exceptions import (
    ActionForbidden,
    AlreadyRatedByCitizen,
    BadAction,
)
from civicgrid.cases.models import Case, CaseEvent


@dataclass(frozen=True)
class Actor:
    """Who takes an action, in which role, seeing which units (None: all)."""

    username: str | None
    role: str
    scope: frozenset[str] | None = None

    @classmethod
    def system(cls) -> Actor:
        return cls(None, "system")

    @classmethod
    def citizen(cls) -> Actor:
        return cls(None, "citizen")

    @property
    def is_history(self) -> bool:
        return self.role == "import"


def actor_for(session: Session, user, action: str) -> Actor:
    """The user acting in the first of their roles that may take `action`."""
    from civicgrid.auth import service as auth_service

    allowed = workflow.ROLES.get(action, ())
    role = next((r for r in user.roles if r in allowed), None)
    if role is None:
        raise ActionForbidden(
            f"您的角色不能执行「{workflow.ACTION_NAMES_ZH.get(action, action)}」",
            f"your roles may not take the action {workflow.in_words(action)}; it needs one of "
            f"{', '.join(allowed)}",
        )
    scope = auth_service.scope_codes(session, user)
    return Actor(user.username, role, frozenset(scope) if scope is not None else None)


def visible(case, scope: frozenset[str] | set[str] | None) -> bool:
    """Whether a scope (auth.service.scope_codes) may see a case — or anything with the case's
    unit_code, street_code and community_code (a live event, a draft). `scoped` is the same
    rule as a query."""
    if scope is None:
        return True
    places = (case.unit_code, case.street_code, case.community_code)
    if any(c in scope for c in places if c):
        return True
    return SEES_UNPLACED in scope and case.unit_code is None and case.street_code is None


def scoped(query, scope):
    """`query` limited to the cases the scope (unit codes, or None for all) may see: `visible`
    as a condition."""
    if scope is None:
        return query
    codes = [c for c in scope if c != SEES_UNPLACED]
    seen = [Case.unit_code.in_(codes), Case.street_code.in_(codes), Case.community_code.in_(codes)]
    if SEES_UNPLACED in scope:
        seen.append(and_(Case.unit_code.is_(None), Case.street_code.is_(None)))
    return query.where(or_(*seen))


def check_actor(case: Case, action: str, actor: Actor) -> None:
    if actor.is_history or actor.role == "system":
        return
    if actor.role not in workflow.ROLES.get(action, ()):
        raise ActionForbidden(
            f"您的角色不能执行「{workflow.ACTION_NAMES_ZH.get(action, action)}」",
            f"the role {actor.role} may not take the action {workflow.in_words(action)}",
        )
    if actor.role == "citizen":
        return
    if (
        action in workflow.UNIT_ACTIONS
        and actor.scope is not None
        and case.unit_code not in actor.scope
    ):
        raise ActionForbidden(
            "只有案件派往单位的处置人员可以执行此操作",
            "only handlers of the unit the case was sent to may do this",
        )
    if not visible(case, actor.scope):
        raise ActionForbidden("案件不在您的管辖范围内", "the case is outside your unit")


def citizen_rated(session: Session, case) -> bool:
    """Whether the citizen has rated the case themselves (by the tracking secret)."""
    if case.id is None or case.first_rate_at is None:
        return False
    found = select(CaseEvent.id).where(
        CaseEvent.case_id == case.id, CaseEvent.action == "rate", CaseEvent.role == "citizen"
    )
    return session.scalar(found.limit(1)) is not None


def check_ready(session: Session, case, action: str, actor: Actor) -> None:
    """What the case must be for a live `action` beyond its state's transitions (a history
    import brings what happened and is not asked): BadAction (400) or a Conflict (409)."""
    if action in ("extend_approve", "extend_refuse") and not case.extension_pending:
        if action == "extend_approve":
            raise BadAction("没有待批准的延期申请", "there is no extension request to approve")
        raise BadAction("没有待处理的延期申请", "there is no extension request to refuse")
    if action == "urge" and (case.unit_code is None or case.state not in workflow.OPEN_STATES):
        raise BadAction(
            "只能督办已派遣且正在办理的案件",
            "only a case sent to a unit and still open can be urged",
        )
    if action == "suspend" and case.state == "reported":
        raise BadAction(
            "案件尚未立案, 不能挂账: 请先立案或不予立案",
            "a case not yet registered cannot be suspended: register or reject it first",
        )
    if (
        action == "rate"
        and actor.role != "citizen"
        and case.first_rate_at is not None
        and citizen_rated(session, case)
    ):
        # the citizen's own word is final (a phone follow-up may be corrected before it)
        raise AlreadyRatedByCitizen()


def photo_required(settings, case, action: str) -> bool:
    """Whether a live `action` must bring a photo: report_done's after-photo (处置后), unless
    the category's major class (the first two digits of its code) is exempt in settings."""
    if action != "report_done":
        return False
    return (case.category_code or "")[:2] not in settings.photo_exempt_classes()


def check_evidence(settings, case, action: str, *, note: str, photos: int) -> None:
    """What a live action must bring (a history import is not asked): a note where the
    workflow needs one (a reason, a verify's finding), an after-photo for report_done.
    BadAction (400)."""
    if action in workflow.NOTE_REQUIRED and not note.strip():
        raise BadAction(
            f"「{workflow.ACTION_NAMES_ZH[action]}」需要填写说明",
            f"{workflow.in_words(action)} needs a note saying why",
        )
    if photos < 1 and photo_required(settings, case, action):
        raise BadAction(
            "处置反馈需要至少一张处置后照片",
            "Reporting it done needs at least one photo taken after the work.",
        )


def allowed_for(session, case: Case, user) -> list[str]:
    """The actions this user may take on this case now: those the service would take (the
    actor's rule and the case's readiness; what the form brings, a note or a photo, aside)."""
    out = []
    for action in workflow.allowed_actions(case.state):
        if not any(r in workflow.ROLES[action] for r in user.roles):
            continue
        try:
            actor = actor_for(session, user, action)
            check_actor(case, action, actor)
            check_ready(session, case, action, actor)
        except Exception:  # noqa: BLE001 - not allowed for this user
            continue
        out.append(action)
    return out
