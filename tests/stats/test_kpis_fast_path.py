"""The KPIs counted by the database from the facts in the case rows must equal the KPIs folded
case by case from the events, for any history, period and cut-off, and every grouping."""

import datetime as dt
import json
import random

import pytest

from civicgrid.cases import history, workflow
from civicgrid.stats import kpi
from civicgrid.stats import service as stats_service
from tests.factories import small_geography

CST = dt.timezone(dt.timedelta(hours=8))
T0 = dt.datetime(2026, 3, 1, tzinfo=CST)
UNITS = ["239901001", "239901002"]
BOX = (126.695, 45.70, 126.735, 45.72)  # inside the example district's grids
# Forward moves are likelier, so that most histories reach a closure and a rating, with
# returns, extensions, suspensions, rework and second ratings on the way.
WEIGHTS = {"reject": 1, "suspend": 1, "return": 1, "extend_refuse": 1, "verify_fail": 2}


def random_history(rng: random.Random, n: int) -> str:
    """A legal history of random actions at random times, some at the same minute."""
    at = T0 + dt.timedelta(minutes=rng.randrange(0, 40 * 24 * 60))
    events = [{"at": at.isoformat(), "action": "report"}]
    state, before = "reported", None
    for _ in range(rng.randrange(0, 20)):
        choices = [
            a
            for a in workflow.HISTORY_ACTIONS
            if a != "report" and workflow.next_state(state, a, before) is not None
        ]
        if not choices:
            break
        action = rng.choices(choices, [WEIGHTS.get(a, 8) for a in choices])[0]
        at += dt.timedelta(minutes=rng.choice([0, 1, 30, 300, 2000, 9000]))
        ev = {"at": at.isoformat(), "action": action}
        if action in ("dispatch", "extend_approve"):
            ev["deadline"] = (at + dt.timedelta(hours=rng.choice([1, 4, 24, 100]))).isoformat()
        if action == "dispatch":
            ev["unit"] = rng.choice(UNITS)
        if action == "extend_request":
            ev["until"] = (at + dt.timedelta(days=2)).isoformat()
        if action == "rate":
            ev["score"] = rng.randint(1, 5)
        if action == "relocate":  # the history format: a relocate names its point
            ev["lon"] = round(rng.uniform(BOX[0], BOX[2]), 6)
            ev["lat"] = round(rng.uniform(BOX[1], BOX[3]), 6)
        events.append(ev)
        new = workflow.next_state(state, action, before)
        before = state if action == "suspend" else None if action == "resume" else before
        state = new
    return json.dumps(
        {
            "code": f"R-{n:05d}",
            "source": rng.choice(workflow.SOURCES),
            "category": rng.choice(["06010", "06012", "07001", "09006", "01002"]),
            "lon": round(rng.uniform(BOX[0], BOX[2]), 6),
            "lat": round(rng.uniform(BOX[1], BOX[3]), 6),
            "events": events,
        }
    )


@pytest.fixture()
def random_cases(session):
    small_geography(session)
    rng = random.Random(20261125)
    report = history.import_lines([random_history(rng, n) for n in range(600)])
    assert report.imported == 600
    return session


PERIODS = [
    # (start, end, now): whole months, a cut-off inside the period, one in the middle of
    # most histories, and a period that begins before any case
    (T0, T0 + dt.timedelta(days=31), T0 + dt.timedelta(days=400)),
    (T0 + dt.timedelta(days=10), T0 + dt.timedelta(days=20), T0 + dt.timedelta(days=400)),
    (T0, T0 + dt.timedelta(days=60), T0 + dt.timedelta(days=25, hours=7, minutes=30)),
    (T0 - dt.timedelta(days=5), T0 + dt.timedelta(days=45), T0 + dt.timedelta(days=41)),
]


@pytest.mark.parametrize("group_by", kpi.GROUPS)
def test_counted_and_folded_kpis_are_the_same(random_cases, group_by):
    for start, end, now in PERIODS:
        args = dict(start=start, end=end, group_by=group_by, now=now)
        fast = stats_service.kpis(random_cases, **args)
        folded = stats_service.kpis(random_cases, fold_all=True, **args)
        assert fast == folded, (start, end, now)
        assert fast["total"]["registered"] > 0


def test_most_cases_are_counted_by_the_database(random_cases):
    """The fast path is not a fold in disguise: count what it leaves to the fold."""
    from sqlalchemy import func, or_, select

    from civicgrid.cases.models import Case

    cutoff = T0 + dt.timedelta(days=400)
    unsettled = random_cases.scalar(
        select(func.count())
        .select_from(Case)
        .where(or_(Case.suspended_at.is_not(None), Case.revised_at >= cutoff))
    )
    settled = random_cases.scalar(select(func.count()).select_from(Case)) - unsettled
    assert settled > 400 and unsettled > 10
