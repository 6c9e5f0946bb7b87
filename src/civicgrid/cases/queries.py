"""Reading cases: the lists and counts of the API and the console, filtered and limited to
what the reader's scope may see (policy.scoped), and the console's queues as named queries.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy import Integer, Row, and_, cast, func, literal, not_, null, or_, select
from sqlalchemy import case as sql_case
from sqlalchemy.orm import Session

from civicgrid.cases import workflow
from civicgrid.cases.exceptions import BadAction
from civicgrid.cases.models import Case, CaseContact, CaseEvent
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


def count_since(session: Session, *, scope, since: dt.datetime) -> dict[str, int]:
    """How many cases the scope may see were reported, registered and closed at `since` or
    later: {"reported": n, "registered": n, "closed": n}, one count each."""

    def count(column) -> int:
        return (
            session.scalar(scoped(select(func.count(Case.id)).where(column >= since), scope)) or 0
        )

    return {
        "reported": count(Case.reported_at),
        "registered": count(Case.registered_at),
        "closed": count(Case.closed_at),
    }


def list_open(session: Session, *, scope, limit: int) -> list[Case]:
    """The newest `limit` open cases (workflow.OPEN_STATES) the scope may see, newest first."""
    query = scoped(select(Case).where(Case.state.in_(workflow.OPEN_STATES)), scope)
    return list(session.scalars(query.order_by(Case.id.desc()).limit(limit)))


def contacts_to_erase(session: Session, *, closed_before: dt.datetime, limit: int) -> list[int]:
    """Ids of cases closed before this time whose reporter's contact still holds something
    (retention: erased after a setting's days)."""
    filled = or_(CaseContact.name != "", CaseContact.phone != "", CaseContact.email != "")
    query = (
        select(CaseContact.case_id)
        .join(Case, Case.id == CaseContact.case_id)
        .where(Case.closed_at < closed_before, filled)
        .order_by(CaseContact.case_id)
        .limit(limit)
    )
    return list(session.scalars(query))


def closed_before_among(
    session: Session, case_ids: Collection[int], *, closed_before: dt.datetime
) -> list[int]:
    """Those of these cases closed before this time."""
    query = select(Case.id).where(Case.id.in_(list(case_ids)), Case.closed_at < closed_before)
    return list(session.scalars(query))


def case_by_code(session: Session, code: str) -> Case | None:
    """The case of this code, or None."""
    return session.scalar(select(Case).where(Case.code == code))


def contact_phones(session: Session, codes: Collection[str]) -> dict[str, tuple[int, str]]:
    """(id, the phone its reporter gave, "" when none or erased) of each case of these codes
    that exists, by code: one query for all of them."""
    if not codes:
        return {}
    query = (
        select(Case.code, Case.id, CaseContact.phone)
        .outerjoin(CaseContact, CaseContact.case_id == Case.id)
        .where(Case.code.in_(list(codes)))
    )
    return {code: (case_id, phone or "") for code, case_id, phone in session.execute(query)}


def open_cases_near(
    session: Session,
    *,
    category_code: str | None = None,
    since: dt.datetime,
    lon: tuple[float, float],
    lat: tuple[float, float],
    other_than: int | None = None,
    sources: Collection[str] | None = None,
) -> list[Case]:
    """The open cases (workflow.OPEN_STATES) reported at `since` or later within the box of
    longitudes and latitudes (bounds included), earliest first, but the case of id
    `other_than`; of the category and of the `sources`, when given."""
    query = select(Case).where(
        Case.id != other_than,
        Case.state.in_(workflow.OPEN_STATES),
        Case.reported_at >= since,
        Case.lon.between(*lon),
        Case.lat.between(*lat),
    )
    if category_code is not None:
        query = query.where(Case.category_code == category_code)
    if sources is not None:
        query = query.where(_of_sources(sources))
    return list(session.scalars(query.order_by(Case.reported_at)).all())


def latest_notes(
    session: Session,
    case_ids: Collection[int],
    *,
    actions: Collection[str] | None = None,
    public_only: bool = False,
) -> dict[int, str]:
    """The latest non-empty note of an event (of `actions`, if given; marked public, if
    `public_only`) of each of the cases that has one, by case id: one query for all of them."""
    if not case_ids:
        return {}
    where = [CaseEvent.case_id.in_(case_ids), CaseEvent.note != ""]
    if actions is not None:
        where.append(CaseEvent.action.in_(actions))
    if public_only:
        where.append(CaseEvent.public.is_(True))
    latest = (
        select(CaseEvent.case_id, func.max(CaseEvent.seq).label("seq"))
        .where(*where)
        .group_by(CaseEvent.case_id)
        .subquery()
    )
    rows = session.execute(
        select(CaseEvent.case_id, CaseEvent.note).join(
            latest, (CaseEvent.case_id == latest.c.case_id) & (CaseEvent.seq == latest.c.seq)
        )
    )
    return {case_id: note for case_id, note in rows}


def reports_by_phone(session: Session, phone: str, *, scope=None) -> list[Row]:
    """The cases whose reporter left this phone (as stored: normalised) that the scope may see
    (all by default), in the order they were written: rows of code, reported_at, address,
    description, state, category_code and the contact's name, phone and email."""
    query = (
        select(
            Case.code,
            Case.reported_at,
            Case.address,
            Case.description,
            Case.state,
            Case.category_code,
            CaseContact.name,
            CaseContact.phone,
            CaseContact.email,
        )
        .join(CaseContact, CaseContact.case_id == Case.id)
        .where(CaseContact.phone == phone)
        .order_by(Case.id)
    )
    return list(session.execute(scoped(query, scope)).all())


def count_reported_by_category(session: Session, *, since: dt.datetime) -> dict[str, int]:
    """How many cases of each category were reported at `since` or later."""
    return dict(
        session.execute(
            select(Case.category_code, func.count())
            .where(Case.reported_at >= since)
            .group_by(Case.category_code)
        ).all()
    )


# What a public request (Open311) shows of a case: the columns, never the whole row (a page is
# 1,000 of them). Callers unpack the rows by position, in this order.
_PUBLIC_REQUEST = select(
    Case.id,
    Case.code,
    Case.state,
    Case.category_code,
    Case.description,
    Case.unit_code,
    Case.reported_at,
    Case.last_event_at,
    Case.deadline,
    Case.address,
    Case.lat,
    Case.lon,
)


def _of_sources(sources: Collection[str]):
    return Case.source.in_(sorted(sources))


def public_requests(
    session: Session,
    *,
    sources: Collection[str],
    codes: list[str] | None = None,
    categories: list[str] | None = None,
    start: dt.datetime | None = None,
    end: dt.datetime | None = None,
    status: str | None = None,
    updated_after: dt.datetime | None = None,
    offset: int = 0,
    limit: int = 100,
) -> list[Row]:
    """The cases of `sources` as public requests (rows of _PUBLIC_REQUEST's columns), newest
    reported first: those of `codes`, or else those of the categories, reported in [start,
    end] (both included), `status` "open" or "closed" (workflow.CLOSED_STATES), with an event
    after `updated_after`. One query."""
    query = _PUBLIC_REQUEST.where(_of_sources(sources))
    if codes:
        query = query.where(Case.code.in_(codes))
    else:
        if categories:
            query = query.where(Case.category_code.in_(categories))
        if start:
            query = query.where(Case.reported_at >= start)
        if end:
            query = query.where(Case.reported_at <= end)
        if status == "closed":
            query = query.where(Case.state.in_(workflow.CLOSED_STATES))
        elif status == "open":
            query = query.where(Case.state.not_in(workflow.CLOSED_STATES))
        if updated_after:
            query = query.where(Case.last_event_at > updated_after)
    query = query.order_by(Case.reported_at.desc(), Case.id.desc())
    return list(session.execute(query.offset(offset).limit(limit)))


_PUBLIC_CASE = select(
    Case.id,
    Case.code,
    Case.state,
    Case.category_code,
    Case.description,
    Case.address,
    Case.street_code,
    Case.unit_code,
    Case.lon,
    Case.lat,
    Case.reported_at,
    Case.last_event_at,
)


def public_cases(
    session: Session,
    *,
    sources: Collection[str],
    street: str | None = None,
    states: Collection[str] | None = None,
    category: str | None = None,
    limit: int = 200,
    offset: int = 0,
) -> list[Row]:
    """The cases of `sources` (of the street, in the states, of the category, when given),
    newest reported first (then by id), as rows of _PUBLIC_CASE's columns: the public map
    of reports. One query."""
    query = _PUBLIC_CASE.where(_of_sources(sources))
    if street:
        query = query.where(Case.street_code == street)
    if states is not None:
        query = query.where(Case.state.in_(list(states)))
    if category:
        query = query.where(Case.category_code == category)
    query = query.order_by(Case.reported_at.desc(), Case.id.desc()).offset(offset).limit(limit)
    return list(session.execute(query).all())


def public_request(session: Session, *, sources: Collection[str], code: str) -> Row | None:
    """The case of this code as a public request (as `public_requests`), if it is of
    `sources`; None as well when there is no such case."""
    return session.execute(_PUBLIC_REQUEST.where(Case.code == code, _of_sources(sources))).first()


def public_case_id(session: Session, *, sources: Collection[str], code: str) -> int | None:
    """The id of the case of this code, if it is of `sources`."""
    return session.scalar(select(Case.id).where(Case.code == code, _of_sources(sources)))


def report_payloads(session: Session, case_ids: Collection[int]) -> dict[int, dict]:
    """The payload of the report event of each of these cases (what came with the report: an
    Open311 client's media_url, attributes …), by case id: one query for all of them."""
    if not case_ids:
        return {}
    rows = session.execute(
        select(CaseEvent.case_id, CaseEvent.payload).where(
            CaseEvent.case_id.in_(list(case_ids)), CaseEvent.action == "report"
        )
    )
    return {case_id: payload or {} for case_id, payload in rows}


def public_updates(
    session: Session,
    *,
    sources: Collection[str],
    start: dt.datetime,
    end: dt.datetime,
    codes: Collection[str] | None = None,
    limit: int,
) -> list[Row]:
    """The steps of the cases of `sources` (of `codes`, if given) taken in [start, end] that
    the public sees (FixMyStreet's service request updates): every event that moved the case
    but the report itself, and every event with a note marked public. Rows of the event's id,
    the case's id and code, the event's at, action, from_state, to_state, note, public and
    payload, and
    the case's duplicate_of, oldest first; at most `limit`. One query."""
    query = (
        select(
            CaseEvent.id,
            Case.id,
            Case.code,
            CaseEvent.at,
            CaseEvent.action,
            CaseEvent.from_state,
            CaseEvent.to_state,
            CaseEvent.note,
            CaseEvent.public,
            CaseEvent.payload,
            Case.duplicate_of,
        )
        .join(Case, Case.id == CaseEvent.case_id)
        .where(
            _of_sources(sources),
            CaseEvent.at >= start,
            CaseEvent.at <= end,
            CaseEvent.action != "report",
            or_(
                CaseEvent.from_state != CaseEvent.to_state,
                and_(CaseEvent.public.is_(True), CaseEvent.note != ""),
            ),
        )
        .order_by(CaseEvent.at, CaseEvent.id)
        .limit(limit)
    )
    if codes:
        query = query.where(Case.code.in_(list(codes)))
    return list(session.execute(query))


# --- the statistics' reads ----------------------------------------------------------------------


def reported_between(session: Session, *, start: dt.datetime, end: dt.datetime) -> list[Row]:
    """The cases reported in [start, end): rows of reported_at, registered_at, dispatched_at,
    closed_at, category_code, grid_code, street_code, lon, lat, source and state."""
    query = select(
        Case.reported_at,
        Case.registered_at,
        Case.dispatched_at,
        Case.closed_at,
        Case.category_code,
        Case.grid_code,
        Case.street_code,
        Case.lon,
        Case.lat,
        Case.source,
        Case.state,
    ).where(Case.reported_at >= start, Case.reported_at < end)
    return session.execute(query).all()


def milestones_between(
    session: Session, *, start: dt.datetime, end: dt.datetime
) -> dict[str, list[dt.datetime]]:
    """When cases were reported, registered and closed in [start, end): {"reported": [...],
    "registered": [...], "closed": [...]}, one query each, in no particular order."""
    found = {}
    for name, column in (
        ("reported", Case.reported_at),
        ("registered", Case.registered_at),
        ("closed", Case.closed_at),
    ):
        found[name] = list(session.scalars(select(column).where(column >= start, column < end)))
    return found


# --- the KPI report's reads (stats.service, kpis.md) --------------------------------------------
# A case registered in the period [start, cutoff) is read in one of three tiers (see
# stats.service.kpis): complete and settled ones counted by the database, the rest folded from
# their events. The covering index ix_cases_kpi serves the first two without touching the table.

KPI_CHUNK = 900


def _kpi_tiers(start: dt.datetime, cutoff: dt.datetime):
    """The conditions of the tiers: registered in the period, reported in it but not
    registered, running (not suspended), settled (running, nothing revised before the
    cut-off)."""
    registered = and_(Case.registered_at >= start, Case.registered_at < cutoff)
    reported_only = and_(
        Case.reported_at >= start,
        Case.reported_at < cutoff,
        or_(Case.registered_at.is_(None), Case.registered_at >= cutoff),
    )
    running = Case.suspended_at.is_(None)
    settled = and_(running, or_(Case.revised_at.is_(None), Case.revised_at < cutoff))
    return registered, reported_only, running, settled


def _kpi_key(group_by: str, cutoff: dt.datetime):
    if group_by == "unit":
        return sql_case((Case.dispatched_at < cutoff, Case.unit_code))
    if group_by == "major":
        return func.substr(Case.category_code, 1, 2)
    column = {
        "street": Case.street_code,
        "community": Case.community_code,
        "grid": Case.grid_code,
        "category": Case.category_code,
        "source": Case.source,
    }.get(group_by)
    return column if column is not None else null()


@contextmanager
def _sqlite_sorting(session):
    """SQLite groups by sorting. For the hundreds of thousands of rows of a month it sorts
    fastest in small runs merged by two threads (a 2 MiB sorter budget, `threads=2`), not in
    one big in-memory sort: 0.42 s against 0.70 s for the complete tier of a month over 10
    million cases (bench/kpis_month.py). The page cache and the threads are given back
    afterwards, as they were."""
    conn = session.connection()
    if conn.dialect.name != "sqlite":
        yield
        return
    before = conn.exec_driver_sql("PRAGMA cache_size").scalar()
    threads = conn.exec_driver_sql("PRAGMA threads").scalar()
    conn.exec_driver_sql("PRAGMA threads=2")
    conn.exec_driver_sql("PRAGMA cache_size=-2048")
    try:
        yield
    finally:
        conn.exec_driver_sql(f"PRAGMA cache_size={int(before)}")
        conn.exec_driver_sql(f"PRAGMA threads={int(threads)}")


def _n(condition):
    """How many rows meet the condition (a 0/1 sum that both databases take)."""
    return func.sum(cast(condition, Integer))


def _waits(session, column):
    """All the non-null values of an integer column of the group, as one aggregate."""
    if session.get_bind().dialect.name == "postgresql":
        return func.array_remove(func.array_agg(column), None)
    return func.group_concat(column)


def _grouped(group_by, key, columns, where):
    query = select(key, *columns).where(where)
    return query if group_by == "none" else query.group_by(key)  # PostgreSQL: no GROUP BY NULL


def _kpi_rows(session, group_by, key, columns, where) -> list[tuple]:
    """One grouped query whose last column is the waits; the waits as a list of integers."""
    rows = []
    for key_value, *values, waits in session.execute(_grouped(group_by, key, columns, where)):
        if isinstance(waits, str):
            waits = list(map(int, waits.split(",")))
        rows.append((key_value, *values, list(waits or ())))
    return rows


def kpi_reported_only(
    session: Session, *, group_by: str, start: dt.datetime, cutoff: dt.datetime
) -> list[tuple]:
    """Cases reported in [start, cutoff) and not registered in it, counted per key of
    `group_by` (None for "none"): (key, count) rows."""
    _, reported_only, _, _ = _kpi_tiers(start, cutoff)
    key = _kpi_key(group_by, cutoff).label("key")
    return list(session.execute(_grouped(group_by, key, [func.count()], reported_only)))


def kpi_complete(
    session: Session, *, group_by: str, start: dt.datetime, cutoff: dt.datetime
) -> list[tuple]:
    """Registered in the period, last event before the cut-off, not suspended: every fact in
    the row holds at the cut-off, so most facts are simply non-null columns. Rows per key of
    `group_by`: the key, the sums in the order of stats.kpi.SUMMED, the dispatch waits."""
    registered, _, running, _ = _kpi_tiers(start, cutoff)
    where = and_(registered, running, Case.last_event_at < cutoff)
    c = Case
    # every dispatch is before the cut-off: the unit of the row is the unit of the case
    key = (c.unit_code if group_by == "unit" else _kpi_key(group_by, cutoff)).label("key")
    columns = (
        _n(c.reported_at >= start),
        func.count(),
        func.count(c.dispatched_at),
        func.count(c.closed_at),
        _n(or_(c.closed_at.is_not(None), c.deadline < cutoff)),
        _n(and_(c.closed_at.is_not(None), c.done_at <= c.deadline)),
        _n(and_(c.closed_at.is_(None), c.deadline < cutoff)),
        func.count(c.first_extension_at),
        func.count(c.first_return_at),
        func.count(c.first_fail_at),
        func.count(c.first_done_at),
        func.count(c.first_rate_at),
        _n(c.score >= 4),
        func.sum(c.score),
        func.sum(c.dispatch_wait_us),
        _waits(session, c.dispatch_wait_us),
    )
    with _sqlite_sorting(session):
        return _kpi_rows(session, group_by, key, columns, where)


def kpi_settled(
    session: Session, *, group_by: str, start: dt.datetime, cutoff: dt.datetime
) -> list[tuple]:
    """Registered in the period, with events after the cut-off that revised nothing: the
    row's first times and final deadline, compared with the cut-off. Rows as `kpi_complete`."""
    registered, _, _, settled = _kpi_tiers(start, cutoff)
    where = and_(registered, settled, Case.last_event_at >= cutoff)
    key = _kpi_key(group_by, cutoff).label("key")
    c = Case

    def before(column):
        return column < cutoff

    dispatched = before(c.dispatched_at)
    closed = before(c.closed_at)
    late = and_(dispatched, before(c.deadline))
    rated = before(c.first_rate_at)
    columns = (
        _n(c.reported_at >= start),
        func.count(),
        _n(dispatched),
        _n(closed),
        _n(or_(closed, late)),
        _n(and_(closed, c.done_at <= c.deadline)),
        _n(and_(or_(c.closed_at.is_(None), c.closed_at >= cutoff), late)),
        _n(before(c.first_extension_at)),
        _n(before(c.first_return_at)),
        _n(before(c.first_fail_at)),
        _n(before(c.first_done_at)),
        _n(rated),
        _n(and_(rated, c.score >= 4)),
        func.sum(sql_case((rated, c.score), else_=0)),
        func.sum(sql_case((dispatched, c.dispatch_wait_us), else_=0)),
        _waits(session, sql_case((dispatched, c.dispatch_wait_us))),
    )
    return _kpi_rows(session, group_by, key, columns, where)


def kpi_to_fold(
    session: Session, *, start: dt.datetime, cutoff: dt.datetime, every: bool = False
) -> list[Row]:
    """The cases the KPI report folds from their events: those registered in the period and
    not settled, or with `every` all those registered or reported in it. Rows of id,
    street_code, community_code, grid_code, category_code and source."""
    registered, reported_only, _, settled = _kpi_tiers(start, cutoff)
    where = or_(registered, reported_only) if every else and_(registered, not_(settled))
    return session.execute(
        select(
            Case.id,
            Case.street_code,
            Case.community_code,
            Case.grid_code,
            Case.category_code,
            Case.source,
        ).where(where)
    ).all()


def events_before(
    session: Session, case_ids: list[int], *, cutoff: dt.datetime
) -> Iterator[tuple[int, dt.datetime, str, dict]]:
    """The events of the cases before the cut-off, (case_id, at, action, payload), by case and
    in order; read KPI_CHUNK cases at a time."""
    for i in range(0, len(case_ids), KPI_CHUNK):
        yield from session.execute(
            select(CaseEvent.case_id, CaseEvent.at, CaseEvent.action, CaseEvent.payload)
            .where(CaseEvent.case_id.in_(case_ids[i : i + KPI_CHUNK]), CaseEvent.at < cutoff)
            .order_by(CaseEvent.case_id, CaseEvent.seq)
        )


# --- the assessment by subject (stats.assessment, reference/assessment.md) -------------------

PUBLIC_SOURCES = ("citizen", "hotline", "open311")


def population_by_place(
    session: Session, *, level: str, start: dt.datetime, cutoff: dt.datetime
) -> dict[str | None, tuple[int, int]]:
    """Population P (registered in [start, cutoff)) per place code of `level` (street,
    community or grid; None: outside every one): (registered, of them from a public source)."""
    column = {"street": Case.street_code, "community": Case.community_code}.get(
        level, Case.grid_code
    )
    registered, *_ = _kpi_tiers(start, cutoff)
    query = (
        select(column, func.count(), _n(Case.source.in_(PUBLIC_SOURCES)))
        .where(registered)
        .group_by(column)
    )
    with _sqlite_sorting(session):
        rows = session.execute(query).all()
    return {key: (int(n), int(public or 0)) for key, n, public in rows}


def assessment_cases(session: Session, *, start: dt.datetime, cutoff: dt.datetime) -> list[Row]:
    """The cases with an event in [start, cutoff) (a superset: reported before the cut-off,
    last event at or after the start): id, grid_code, source, reported_at, registered_at."""
    return session.execute(
        select(Case.id, Case.grid_code, Case.source, Case.reported_at, Case.registered_at).where(
            Case.reported_at < cutoff, Case.last_event_at >= start
        )
    ).all()


def events_with_actors(
    session: Session, case_ids: list[int], *, cutoff: dt.datetime
) -> Iterator[tuple[int, dt.datetime, str, dict, str | None]]:
    """The events of the cases before the cut-off, by case and in order: (case_id, at, action,
    payload, by), `by` as the history format writes it (the username, `system` for the
    platform, None for a citizen or a legacy history)."""
    for i in range(0, len(case_ids), KPI_CHUNK):
        rows = session.execute(
            select(
                CaseEvent.case_id,
                CaseEvent.at,
                CaseEvent.action,
                CaseEvent.payload,
                CaseEvent.actor,
                CaseEvent.role,
            )
            .where(CaseEvent.case_id.in_(case_ids[i : i + KPI_CHUNK]), CaseEvent.at < cutoff)
            .order_by(CaseEvent.case_id, CaseEvent.seq)
        )
        for case_id, at, action, payload, actor, role in rows:
            yield case_id, at, action, payload, actor or ("system" if role == "system" else None)


def department_complete(
    session: Session, *, start: dt.datetime, cutoff: dt.datetime
) -> list[tuple]:
    """The department facts (reference/assessment.md §2) of the cases registered in the period
    whose last event is before the cut-off and that are not suspended, counted per unit (None:
    never dispatched): unit, registered, due to handle, handled, handled on time, reworked. Such
    a case stands handled exactly when it is resolved or closed (a verify_fail, return or
    dispatch after its last report_done would have moved it on), handled at its last
    report_done, against the row's deadline (kpi_complete's reading). Read from the covering
    index ix_cases_kpi, as kpi_complete is."""
    registered, _, running, _ = _kpi_tiers(start, cutoff)
    c = Case
    handled = c.state.in_(("resolved", "closed"))
    due = or_(handled, c.deadline < cutoff)
    query = (
        select(
            c.unit_code,
            func.count(),
            _n(due),
            _n(handled),
            _n(and_(handled, c.last_done_at <= c.deadline)),
            _n(and_(due, c.first_fail_at.is_not(None))),
        )
        .where(registered, running, c.last_event_at < cutoff)
        .group_by(c.unit_code)
    )
    with _sqlite_sorting(session):
        rows = session.execute(query).all()
    return [(unit, *(int(v or 0) for v in values)) for unit, *values in rows]


def department_to_fold(session: Session, *, start: dt.datetime, cutoff: dt.datetime) -> list[int]:
    """The cases registered in the period that department_complete leaves out (suspended, or
    with events at or after the cut-off): to be folded from their events."""
    registered, _, running, _ = _kpi_tiers(start, cutoff)
    complete = and_(running, Case.last_event_at < cutoff)
    return list(session.scalars(select(Case.id).where(registered, not_(complete))))


def unit_keys_reported(session: Session, *, start: dt.datetime, cutoff: dt.datetime) -> set[str]:
    """The units (of the latest dispatch before the cut-off) of the cases reported in the
    period and not registered in it: they have a department row too (kpis.md's rows)."""
    return {
        key
        for key, _n_reported in kpi_reported_only(
            session, group_by="unit", start=start, cutoff=cutoff
        )
        if key is not None
    }


def _by():
    """An event's `by` in SQL (rows.by_of)."""
    return func.coalesce(CaseEvent.actor, sql_case((CaseEvent.role == "system", "system")))


def _acts(action, start: dt.datetime, cutoff: dt.datetime):
    """Events of `action` (or actions) in [start, cutoff): one range of ix_case_events_acts per
    action, which holds every column the post tables read of an event."""
    actions = (action,) if isinstance(action, str) else action
    return and_(CaseEvent.action.in_(actions), CaseEvent.at >= start, CaseEvent.at < cutoff)


def _within(limit_minutes: int):
    """The event came within `limit_minutes` working minutes of its reference (wait_key)."""
    return _n(CaseEvent.wait_key <= 2 * limit_minutes * 60_000_000)


def _by_places(query):
    """A join of events to their cases that reads only a case's grid and source: SQLite looks
    them up in the narrow ix_cases_places, not by rowid in the wide rows (0.18 s against 0.25 s
    for a month's 300,000 events over bench/kpis_month.py's 10 million cases), which its
    planner would not choose by itself."""
    return query.with_hint(Case, "INDEXED BY ix_cases_places", dialect_name="sqlite")


def _rows(session, query) -> list[tuple]:
    return [tuple(int(v or 0) if i else v for i, v in enumerate(r)) for r in session.execute(query)]


def post_acts(
    session: Session,
    *,
    post: str,
    start: dt.datetime,
    cutoff: dt.datetime,
    limit_minutes: int,
) -> dict[str, list[tuple]]:
    """The acts of a post in [start, cutoff) counted by the database (reference/assessment.md
    §3, from each event's reference: CaseEvent.ref_at, ref_by, wait_key), one GROUP BY each:

    - operator: `accepted` (by, accepts, within the limit); `rejected` (by whom the rejected
      accept was made, how many)
    - dispatcher: `dispatched` (by, dispatches, within the limit); `returned` (by whom the
      returned dispatch was made, how many)
    - supervisor: `reported` (by, patrol reports); `valid` (reporter, cases accepted);
      `done` (grid, report_done events); `checked` (grid, by, checks within the limit)

    Their GROUP BYs sort as kpi_complete's do (_sqlite_sorting): the supervisor's checks of a
    month over 10 million cases in 0.18 s against 0.39 s.
    """
    with _sqlite_sorting(session):
        return _post_acts(session, post, start, cutoff, limit_minutes)


def _post_acts(session, post, start, cutoff, limit_minutes) -> dict[str, list[tuple]]:
    by = _by()
    answer = _acts(("return", "reject"), start, cutoff)
    referred_in_period = CaseEvent.ref_at >= start
    if post == "operator":
        return {
            "accepted": _rows(
                session,
                select(by, func.count(), _within(limit_minutes))
                .where(_acts("accept", start, cutoff))
                .group_by(by),
            ),
            "rejected": _rows(
                session,
                select(CaseEvent.ref_by, func.count())
                .where(answer, CaseEvent.action == "reject", referred_in_period)
                .group_by(CaseEvent.ref_by),
            ),
        }
    if post == "dispatcher":
        return {
            "dispatched": _rows(
                session,
                select(by, func.count(), _within(limit_minutes))
                .where(_acts("dispatch", start, cutoff))
                .group_by(by),
            ),
            "returned": _rows(
                session,
                select(CaseEvent.ref_by, func.count())
                .where(answer, CaseEvent.action == "return", referred_in_period)
                .group_by(CaseEvent.ref_by),
            ),
        }
    patrol = and_(Case.id == CaseEvent.case_id, Case.source == "supervisor")
    return {
        "reported": _rows(
            session,
            _by_places(
                select(by, func.count())
                .select_from(CaseEvent)
                .join(Case, patrol)
                .where(_acts("report", start, cutoff))
                .group_by(by)
            ),
        ),
        "valid": _rows(
            session,
            _by_places(
                select(CaseEvent.ref_by, func.count(func.distinct(CaseEvent.case_id)))
                .select_from(CaseEvent)
                .join(Case, patrol)
                .where(_acts("accept", start, cutoff), referred_in_period)
                .group_by(CaseEvent.ref_by)
            ),
        ),
        "done": _rows(
            session,
            _by_places(
                select(Case.grid_code, func.count())
                .select_from(CaseEvent)
                .join(Case, Case.id == CaseEvent.case_id)
                .where(_acts("report_done", start, cutoff))
                .group_by(Case.grid_code)
            ),
        ),
        "checked": [
            (grid, who, int(n or 0))
            for grid, who, n in session.execute(
                _by_places(
                    select(Case.grid_code, by, _within(limit_minutes))
                    .select_from(CaseEvent)
                    .join(Case, Case.id == CaseEvent.case_id)
                    .where(_acts(("verify_pass", "verify_fail"), start, cutoff), referred_in_period)
                    .group_by(Case.grid_code, by)
                )
            )
        ],
    }


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


# --- a person's day of actions (work logs) ------------------------------------------------------


def actions_by_actor(
    session: Session, actor: str, *, start: dt.datetime, end: dt.datetime
) -> list[dict]:
    """Every event this user (username) took in [start, end), in time order: the event's id,
    time, action, note, and its case's code, category and place. What a work log's draft is
    written from."""
    query = (
        select(
            CaseEvent.id,
            CaseEvent.at,
            CaseEvent.action,
            CaseEvent.note,
            Case.code,
            Case.category_code,
            Case.lon,
            Case.lat,
            Case.address,
        )
        .join(Case, Case.id == CaseEvent.case_id)
        .where(CaseEvent.actor == actor, CaseEvent.at >= start, CaseEvent.at < end)
        .order_by(CaseEvent.at, CaseEvent.id)
    )
    return [
        {
            "event_id": r[0],
            "at": r[1],
            "action": r[2],
            "note": r[3] or "",
            "code": r[4],
            "category": r[5],
            "lon": r[6],
            "lat": r[7],
            "address": r[8] or "",
        }
        for r in session.execute(query)
    ]


def existing_codes(session: Session, codes: Collection[str]) -> set[str]:
    """Which of these case codes exist."""
    if not codes:
        return set()
    return set(session.scalars(select(Case.code).where(Case.code.in_(list(codes)))))


def past_warning(session: Session, *, now: dt.datetime, limit: int = 5000) -> list[Case]:
    """The cases whose clock runs (workflow.TICKING_STATES) and that are yellow or red at
    `now` (past their warning time or their deadline), oldest deadline first: the 督办
    (supervision) job's candidates."""
    query = (
        select(Case)
        .where(
            Case.state.in_(workflow.TICKING_STATES),
            Case.deadline.is_not(None),
            or_(Case.deadline < now, and_(Case.warn_at.is_not(None), Case.warn_at < now)),
        )
        .order_by(Case.deadline, Case.id)
        .limit(limit)
    )
    return list(session.scalars(query))
