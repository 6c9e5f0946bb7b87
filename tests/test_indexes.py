"""The indexes on `cases` are the ones the app's queries use: EXPLAIN of the console's lists
and filters, the Open311 listing, the statistics, the command centre and the duplicate check
names the index each is meant to use (SQLite's EXPLAIN QUERY PLAN, PostgreSQL's EXPLAIN with
sequential scans priced out, as on a table too large to read whole)."""

from __future__ import annotations

import datetime as dt
import random
import re
from collections.abc import Callable
from contextlib import contextmanager

import pytest
from sqlalchemy import event, insert, inspect, select, text

from civicgrid.cases import queries as case_queries
from civicgrid.cases import workflow
from civicgrid.cases.models import Case
from civicgrid.citizen import service as citizen_service
from civicgrid.config import get_settings
from civicgrid.kit.db import utcnow
from civicgrid.open311 import service as open311_service
from civicgrid.stats import service as stats_service
from tests.conftest import IS_PG
from tests.factories import POINT_A, STREET_A, STREET_B, world

CATEGORIES = ("06010", "06020", "01010", "03010", "02010")


def populate(session, n: int) -> Case:
    """n varied copies of the one case there is (states, places, categories, a year of report
    times), in one executemany; the planner's statistics gathered. Returns the last."""
    template = dict(session.execute(select(Case.__table__)).mappings().one())
    del template["id"]
    rng = random.Random(13)
    now = utcnow()
    rows = []
    for i in range(n):
        state = workflow.STATES[i % len(workflow.STATES)]
        reported = now - dt.timedelta(minutes=rng.randrange(400 * 24 * 60))
        street = STREET_A if i % 2 else STREET_B
        rows.append(
            {
                **template,
                "code": f"{template['code']}-{i:05d}",
                "state": state,
                "category_code": CATEGORIES[i % len(CATEGORIES)],
                "street_code": street,
                "community_code": f"{street}00{i % 3 + 1}",
                "grid_code": f"{street}00{i % 3 + 1}00{i % 7 + 1}",
                "unit_code": street if i % 5 else "239901901",
                "reported_at": reported,
                "registered_at": reported + dt.timedelta(minutes=5),
                "last_event_at": reported + dt.timedelta(hours=1),
                "deadline": reported + dt.timedelta(days=2),
                "warn_at": reported + dt.timedelta(days=1),
                "lon": POINT_A[0] + rng.uniform(-0.05, 0.05),
                "lat": POINT_A[1] + rng.uniform(-0.05, 0.05),
                "extension_pending": i % 11 == 0,
                "queue_reason": "outside_grids" if i % 13 == 0 else None,
            }
        )
    session.execute(insert(Case.__table__), rows)
    session.flush()
    session.execute(text("ANALYZE"))
    return session.scalars(select(Case).order_by(Case.id.desc()).limit(1)).one()


@contextmanager
def statements(session):
    """The SELECTs on `cases` run in this block, with their parameters."""
    seen: list[tuple[str, object]] = []
    connection = session.connection()

    def capture(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("SELECT") and "cases" in statement:
            seen.append((statement, parameters))

    event.listen(connection, "before_cursor_execute", capture)
    try:
        yield seen
    finally:
        event.remove(connection, "before_cursor_execute", capture)


def plan(session, statement: str, parameters) -> str:
    cursor = session.connection().connection.dbapi_connection.cursor()
    try:
        if IS_PG:
            cursor.execute("SET LOCAL enable_seqscan = off")
            cursor.execute("EXPLAIN " + statement, parameters)
            return "\n".join(r[0] for r in cursor.fetchall())
        cursor.execute("EXPLAIN QUERY PLAN " + statement, parameters)
        return "\n".join(str(r[-1]) for r in cursor.fetchall())
    finally:
        cursor.close()


def indexes_used(session, fn: Callable[[], object]) -> list[tuple[set[str], str]]:
    """The `cases` indexes each SELECT that fn runs uses (by EXPLAIN), with the plan."""
    with statements(session) as seen:
        fn()
    assert seen, "no query on cases ran"
    used = []
    for statement, parameters in seen:
        text_ = plan(session, statement, parameters)
        # SQLite names a UNIQUE constraint's index sqlite_autoindex_cases_N: code is the one
        found = set(re.findall(r"\b((?:ix|uq|pk)_cases\w*)", text_))
        found |= {"uq_cases_code" for _ in re.findall(r"sqlite_autoindex_cases_\d", text_)}
        used.append((found, text_))
    return used


def cases_indexes(session) -> set[str]:
    return {i["name"] for i in inspect(session.connection()).get_indexes("cases")}


@pytest.fixture()
def many(client, session):
    world(session)
    r = client.post(
        "/api/v1/citizen/reports",
        data={"category": "06010", "lon": str(POINT_A[0]), "lat": str(POINT_A[1])},
    )
    assert r.status_code == 201, r.text
    return populate(session, 4000)


REDUNDANT = {"ix_cases_reported_at", "ix_cases_registered_at", "ix_cases_category_code"}


def key_queries(session, case: Case) -> dict[str, tuple[Callable[[], object], str]]:
    """The app's key reads of `cases`, each with the index it is meant to use."""
    now = utcnow()
    F = case_queries.CaseFilter
    policy = open311_service.PublicPolicy.of(get_settings())
    month = (now - dt.timedelta(days=30), now)
    return {
        "case by code": (
            lambda: session.scalars(select(Case).where(Case.code == case.code)).one(),
            "uq_cases_code",
        ),
        "open311 by ids": (
            lambda: open311_service.find_requests(session, policy=policy, ids=[case.code]),
            "uq_cases_code",
        ),
        "open311 listing": (
            lambda: open311_service.find_requests(session, policy=policy),
            "ix_cases_reported_registered",
        ),
        "open311 listing by dates": (
            lambda: open311_service.find_requests(
                session, policy=policy, start=now - dt.timedelta(days=3), end=now
            ),
            "ix_cases_reported_registered",
        ),
        "console: reported between": (
            lambda: case_queries.count_cases(
                session, scope=None, flt=F(reported_from=month[0], reported_to=month[1])
            ),
            "ix_cases_reported_registered",
        ),
        "console: a state's queue": (
            lambda: case_queries.count_cases(session, scope=None, flt=F(state=["reported"])),
            "ix_cases_state",
        ),
        "console: a street's cases": (
            lambda: case_queries.count_cases(session, scope=None, flt=F(street=STREET_A)),
            "ix_cases_street_code",
        ),
        "console: a grid's cases": (
            lambda: case_queries.count_cases(session, scope=None, flt=F(grid=f"{STREET_A}001001")),
            "ix_cases_grid_code",
        ),
        "console: a source": (
            lambda: case_queries.count_cases(session, scope=None, flt=F(source="hotline")),
            "ix_cases_source",
        ),
        "command centre: open by light": (
            lambda: case_queries.count_open_by_light(session, scope=None, now=now),
            "ix_cases_state",
        ),
        "statistics: a month's KPIs": (
            lambda: stats_service.kpis(session, start=month[0], end=month[1], group_by="street"),
            "ix_cases_kpi",
        ),
        "possible duplicates": (
            lambda: citizen_service.possible_duplicates(session, get_settings(), case),
            "ix_cases_category_lat",
        ),
    }


def test_the_redundant_indexes_are_gone(session):
    have = cases_indexes(session)
    assert not have & REDUNDANT
    # and what covers them is there
    assert {"ix_cases_reported_registered", "ix_cases_kpi", "ix_cases_category_lat"} <= have


def test_each_key_query_uses_its_index(session, many):
    have = cases_indexes(session) | {"uq_cases_code", "pk_cases"}
    for name, (run, index) in key_queries(session, many).items():
        assert index in have, (name, index)
        used = indexes_used(session, run)
        found = set().union(*(u for u, _ in used))
        plans = "\n---\n".join(p for _, p in used)
        assert index in found, f"{name}: {index} not used by\n{plans}"
        assert not found & REDUNDANT, name


def test_the_assessment_reads_covering_indexes(session, many):
    """The post tables count a month of acts from ix_case_events_acts alone, and join a case's
    grid and source through ix_cases_places (forced: SQLite's planner would take the wide
    rows); the department table's complete cases come from ix_cases_kpi alone. SQLite's plans:
    PostgreSQL's planner chooses by the sizes it sees, and this table has no events."""
    now = utcnow()
    start = now - dt.timedelta(days=30)
    with statements(session) as seen:
        for post in ("supervisor", "operator", "dispatcher"):
            case_queries.post_acts(session, post=post, start=start, cutoff=now, limit_minutes=60)
        case_queries.department_complete(session, start=start, cutoff=now)
    joins = [statement for statement, _ in seen if "JOIN cases" in statement]
    assert len(joins) == 4  # the supervisor's four
    if IS_PG:
        return
    for statement, parameters in seen:
        text_ = plan(session, statement, parameters)
        if "case_events" in statement:
            assert "USING COVERING INDEX ix_case_events_acts" in text_, text_
        else:
            assert "USING COVERING INDEX ix_cases_kpi" in text_, text_
        if "JOIN cases" in statement:
            assert "USING COVERING INDEX ix_cases_places" in text_, text_
