"""Reading cases: the lists and counts of the API and the console, filtered and limited to
what the reader's scope may see (policy.scoped), and the console's queues as named queries.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import and_, func, or_, select
from sqlalchemy import case as sql_case
from sqlalchemy.orm import Session

from civicgrid.cases import workflow
from civicgrid.cases.exceptions import BadAction
from civicgrid.cases.models import Case
from civicgrid.cases.policy import scoped
from civicgrid.kit.db import utcnow


@dataclass
class CaseFilter:
    state: list[str] | None = None
    light: str | None = None
    street: str | None = None
    community: str | None = None
    grid: str | None = None
    unit: str | None = None
    category: str | None = None
    source: str | None = None
    q: str | None = None
    reported_from: dt.datetime | None = None
    reported_to: dt.datetime | None = None
    bbox: tuple[float, float, float, float] | None = None
    queue: str | list[str] | None = None
    extension_pending: bool | None = None


def list_cases(
    session: Session,
    *,
    scope,
    flt: CaseFilter,
    limit: int = 50,
    cursor: int | None = None,
    now: dt.datetime | None = None,
) -> list[Case]:
    """Cases the scope may see, newest first, filtered; `cursor` is the last id of a page."""
    query = _filtered(select(Case), scope, flt, now or utcnow())
    if cursor:
        query = query.where(Case.id < cursor)
    return list(session.scalars(query.order_by(Case.id.desc()).limit(limit)))


def count_cases(session: Session, *, scope, flt: CaseFilter, now: dt.datetime | None = None) -> int:
    """How many cases `list_cases` would find without a limit."""
    query = _filtered(select(func.count(Case.id)), scope, flt, now or utcnow())
    return session.scalar(query) or 0


def _filtered(query, scope, flt: CaseFilter, now: dt.datetime):
    query = scoped(query, scope)
    if flt.state:
        query = query.where(Case.state.in_(flt.state))
    for column, value in (
        (Case.street_code, flt.street),
        (Case.community_code, flt.community),
        (Case.grid_code, flt.grid),
        (Case.unit_code, flt.unit),
        (Case.source, flt.source),
    ):
        if value:
            query = query.where(column == value)
    if flt.category:
        query = query.where(Case.category_code.startswith(flt.category))
    if flt.q:
        words = f"%{flt.q}%"
        query = query.where(
            or_(Case.description.like(words), Case.address.like(words), Case.code.like(words))
        )
    if flt.reported_from:
        query = query.where(Case.reported_at >= flt.reported_from)
    if flt.reported_to:
        query = query.where(Case.reported_at < flt.reported_to)
    if flt.bbox:
        x0, y0, x1, y1 = flt.bbox
        query = query.where(Case.lon.between(x0, x1), Case.lat.between(y0, y1))
    if flt.queue:
        reasons = [flt.queue] if isinstance(flt.queue, str) else flt.queue
        query = query.where(Case.queue_reason.in_(reasons))
    if flt.light:
        ticking = Case.state.in_(workflow.TICKING_STATES)
        if flt.light == "red":
            query = query.where(ticking, Case.deadline < now)
        elif flt.light == "yellow":
            query = query.where(ticking, Case.deadline >= now, Case.warn_at < now)
        elif flt.light == "green":
            query = query.where(ticking, Case.warn_at >= now)
        else:
            raise BadAction("light 应为 green、yellow 或 red", "light must be green, yellow or red")
    if flt.extension_pending is not None:
        query = query.where(Case.extension_pending.is_(flt.extension_pending))
    return query


def count_by_state(session: Session, scope) -> dict[str, int]:
    query = scoped(select(Case.state, func.count()).group_by(Case.state), scope)
    return dict(session.execute(query).all())


# --- the console's queues -----------------------------------------------------------------------


@dataclass(frozen=True)
class Queue:
    """A named query of the console: which cases are in it, and which roles see it."""

    label: str
    roles: tuple[str, ...]
    state: tuple[str, ...] = ()
    reasons: tuple[str, ...] = ()
    light: str | None = None
    extension_pending: bool | None = None

    def filter(self, q: str = "") -> CaseFilter:
        return CaseFilter(
            state=list(self.state) or None,
            queue=list(self.reasons) or None,
            light=self.light,
            extension_pending=self.extension_pending,
            q=q or None,
        )


def _acting(action: str) -> tuple[str, ...]:
    """The staff roles that may take `action` (workflow.ROLES): a queue of work is shown only
    to the roles that can do that work."""
    return tuple(r for r in workflow.ROLES[action] if r in workflow.STAFF)


QUEUES: dict[str, Queue] = {
    "to_accept": Queue("待立案", _acting("accept"), state=("reported",)),
    # no place yet: placed on the map (relocate) or rejected by the district's command roles
    "to_locate": Queue(
        "待定位",
        _acting("relocate"),
        state=("reported", "registered"),
        reasons=("no_location", "outside_grid"),
    ),
    "to_dispatch": Queue("待派遣", _acting("dispatch"), state=("registered",)),
    "returned": Queue("退回", _acting("dispatch"), state=("registered",), reasons=("returned",)),
    "extensions": Queue("延期申请", _acting("extend_approve"), extension_pending=True),
    "yellow": Queue("黄灯", ("dispatcher", "leader", "admin"), light="yellow"),
    "red": Queue("红灯", ("dispatcher", "leader", "admin"), light="red"),
    # closed cases whose latest rating is poor (rows.apply): followed up by phone
    "complaints": Queue("回访不满意", ("dispatcher", "operator"), reasons=("complaint",)),
    "unit": Queue("本单位案件", _acting("take"), state=("dispatched", "in_progress")),
    "verify": Queue("待核查", _acting("verify_pass"), state=("resolved",)),
    "all": Queue("全部", ("admin", "leader", "dispatcher", "operator", "supervisor", "handler")),
}


def queues_for(roles) -> list[str]:
    """The keys of the queues any of `roles` sees, in the console's order."""
    return [key for key, queue in QUEUES.items() if any(r in queue.roles for r in roles)]


def list_queue(
    session: Session,
    key: str,
    *,
    scope,
    q: str = "",
    limit: int = 200,
    now: dt.datetime | None = None,
) -> list[Case]:
    """The cases of the named queue the scope may see, newest first, matching `q`."""
    return list_cases(session, scope=scope, flt=QUEUES[key].filter(q), limit=limit, now=now)


def count_queue(session: Session, key: str, *, scope, now: dt.datetime | None = None) -> int:
    """How many cases the named queue holds for the scope."""
    return count_cases(session, scope=scope, flt=QUEUES[key].filter(), now=now)


def count_open_by_light(session: Session, *, scope, now: dt.datetime) -> dict[str, int]:
    """The open cases (workflow.OPEN_STATES) the scope may see, counted in the database (one
    GROUP BY, however many there are): {"open": n, "green": g, "yellow": y, "red": r}, the
    lights as workflow.light gives them at `now`."""
    ticking = and_(Case.state.in_(workflow.TICKING_STATES), Case.deadline.is_not(None))
    light = sql_case(
        (and_(ticking, Case.deadline < now), "red"),
        (and_(ticking, Case.warn_at.is_not(None), Case.warn_at < now), "yellow"),
        (ticking, "green"),
        else_="none",
    ).label("light")
    query = scoped(
        select(light, func.count()).where(Case.state.in_(workflow.OPEN_STATES)).group_by(light),
        scope,
    )
    counts = {"green": 0, "yellow": 0, "red": 0}
    total = 0
    for name, n in session.execute(query):
        total += n
        if name in counts:
            counts[name] = n
    return {"open": total, **counts}
