"""Reading cases: the lists and counts of the API and the console, filtered and limited to
what the reader's scope may see (policy.scoped), and the console's queues as named queries.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import and_, func, literal, or_, select
from sqlalchemy import case as sql_case
from sqlalchemy.orm import Session

from civicgrid.cases import workflow
from civicgrid.cases.exceptions import BadAction
from civicgrid.cases.models import Case, CaseContact
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
    # `q` also matches the reporter's phone: only for roles that may see contacts
    # (views.CONTACT_ROLES)
    q_phone: bool = False


SORTS = ("deadline", "reported", "light")
# where cases without a deadline go when sorted by it: last
_NO_DEADLINE = dt.datetime(2999, 12, 31, tzinfo=dt.UTC)


def _light_rank(now: dt.datetime):
    """red 0, yellow 1, green 2, no light 3, as workflow.light gives them at `now`."""
    ticking = and_(Case.state.in_(workflow.TICKING_STATES), Case.deadline.is_not(None))
    return sql_case(
        (and_(ticking, Case.deadline < now), 0),
        (and_(ticking, Case.warn_at.is_not(None), Case.warn_at < now), 1),
        (ticking, 2),
        else_=3,
    )


def _sort_keys(sort: str, now: dt.datetime) -> list[tuple[object, bool]]:
    """The ORDER BY of a sort as (expression, descending) pairs, ending with the id so that
    every case has one place: deadline soonest first (none last), reported newest first,
    light red first then by deadline."""
    deadline = func.coalesce(Case.deadline, literal(_NO_DEADLINE, Case.deadline.type))
    if sort == "deadline":
        return [(deadline, False), (Case.id, False)]
    if sort == "reported":
        return [(Case.reported_at, True), (Case.id, True)]
    if sort == "light":
        return [(_light_rank(now), False), (deadline, False), (Case.id, False)]
    raise BadAction(f"sort 应为 {'、'.join(SORTS)}", f"sort must be one of {', '.join(SORTS)}")


def list_cases(
    session: Session,
    *,
    scope,
    flt: CaseFilter,
    limit: int = 50,
    cursor: int | None = None,
    now: dt.datetime | None = None,
    sort: str | None = None,
) -> list[Case]:
    """Cases the scope may see, filtered; `cursor` is the id of the last case of the page
    before. Without `sort` newest first (by id); with one of SORTS in that order, the next page
    starting after the cursor's case in it."""
    now = now or utcnow()
    query = _filtered(select(Case), scope, flt, now)
    if sort is None:
        if cursor:
            query = query.where(Case.id < cursor)
        return list(session.scalars(query.order_by(Case.id.desc()).limit(limit)))
    keys = _sort_keys(sort, now)
    if cursor:
        last = session.execute(select(*(k for k, _ in keys)).where(Case.id == cursor)).first()
        if last is not None:
            query = query.where(_after(keys, tuple(last)))
    order = [k.desc() if desc else k.asc() for k, desc in keys]
    return list(session.scalars(query.order_by(*order).limit(limit)))


def _after(keys, values):
    """The rows after `values` in the order of `keys` (a row comparison spelled out)."""
    ahead = []
    for i, (key, desc) in enumerate(keys):
        same = [k == v for (k, _), v in zip(keys[:i], values[:i], strict=True)]
        ahead.append(and_(*same, key < values[i] if desc else key > values[i]))
    return or_(*ahead)


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
        matches = [Case.description.like(words), Case.address.like(words), Case.code.like(words)]
        if flt.q_phone:
            phones = select(CaseContact.case_id).where(CaseContact.phone.like(words))
            matches.append(Case.id.in_(phones))
        query = query.where(or_(*matches))
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

    def filter(self) -> CaseFilter:
        return CaseFilter(
            state=list(self.state) or None,
            queue=list(self.reasons) or None,
            light=self.light,
            extension_pending=self.extension_pending,
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


def queue_filter(key: str, q: str = "", *, phone: bool = False) -> CaseFilter:
    """The console's filter: the named queue, or, when searching, every case (the scope still
    applies) whose code, words or address, and phone if `phone`, hold `q`."""
    if q:
        return CaseFilter(q=q, q_phone=phone)
    return QUEUES[key].filter()


def list_queue(
    session: Session,
    key: str,
    *,
    scope,
    q: str = "",
    phone: bool = False,
    limit: int = 200,
    cursor: int | None = None,
    sort: str = "deadline",
    now: dt.datetime | None = None,
) -> list[Case]:
    """A page of the named queue (or of a search, see queue_filter) the scope may see, in the
    order `sort` gives, after the case `cursor`."""
    flt = queue_filter(key, q, phone=phone)
    return list_cases(session, scope=scope, flt=flt, limit=limit, cursor=cursor, sort=sort, now=now)


def count_queue(
    session: Session,
    key: str,
    *,
    scope,
    q: str = "",
    phone: bool = False,
    now: dt.datetime | None = None,
) -> int:
    """How many cases the named queue (or the search) holds for the scope."""
    return count_cases(session, scope=scope, flt=queue_filter(key, q, phone=phone), now=now)


def count_open_by_light(session: Session, *, scope, now: dt.datetime) -> dict[str, int]:
    """The open cases (workflow.OPEN_STATES) the scope may see, counted in the database (one
    GROUP BY, however many there are): {"open": n, "green": g, "yellow": y, "red": r}, the
    lights as workflow.light gives them at `now`."""
    light = _light_rank(now).label("light")
    query = scoped(
        select(light, func.count()).where(Case.state.in_(workflow.OPEN_STATES)).group_by(light),
        scope,
    )
    counts = {"green": 0, "yellow": 0, "red": 0}
    total = 0
    names = {0: "red", 1: "yellow", 2: "green"}
    for rank, n in session.execute(query):
        total += n
        if rank in names:
            counts[names[rank]] = n
    return {"open": total, **counts}
