"""A day of spot checks for the browser walks: a contractor, two roads, a plan for the current
week with both roads checked today, one check finished (its failed item opened a case) and
one still to do. Through the services, over tests/factories.world (or the hostile world)."""

from __future__ import annotations

import datetime as dt

from civicgrid.config import Settings
from civicgrid.kit.db import utcnow
from civicgrid.kit.timefmt import local_zone
from civicgrid.org import service as org_service
from civicgrid.spotchecks import service
from tests.factories import SMALL_DISTRICT, STREET_A
from tests.images import jpeg

# In grid 239901001001004 (street A), away from the cases the walks put at POINT_A.
ROADS = (126.7139, 45.7129)


def spot_day(session, names=("示例大街", "示例二街"), contractor="洁城保洁公司") -> dict:
    settings = Settings()
    org_service.ensure_unit(
        session, code="239901950", name=contractor, kind="contractor", parent_code=SMALL_DISTRICT
    )
    for i, name in enumerate(names):
        service.save_site(
            session,
            code=f"R-{i + 1}",
            name=name,
            kind="road",
            grade="inner",
            street=STREET_A,
            unit=STREET_A,
            contractor="239901950",
            lon=ROADS[0] + 0.001 * i,
            lat=ROADS[1],
        )
    today = utcnow().astimezone(local_zone()).date()
    year, week, _ = today.isocalendar()
    monday = today - dt.timedelta(days=today.weekday())
    plan = service.create_plan(
        session,
        settings,
        code="E2E",
        sheet_code="cjjt126",
        period=f"{year}-W{week:02d}",
        strata=[
            {"id": "S", "n": len(names), "candidates": [f"R-{i + 1}" for i in range(len(names))]}
        ],
        slots=[f"{today.isoformat()}/AM"],
        now=dt.datetime.combine(monday, dt.time(), local_zone()) - dt.timedelta(days=1),
    )
    checks = sorted(c.id for c in service.queries.checks_of_plan(session, plan.id))
    done = service.get_check(session, checks[0])
    service.arrive(session, done, lon=ROADS[0], lat=ROADS[1])
    service.set_weather(session, done, {"humidity": 50, "wind_force": 1})
    for side in ("left", "right"):
        service.save_entries(session, done, "sup", {side: {"C1": 5, "C2": 4, "C3": 4, "C4": 1}})
    service.add_photo(session, settings, done, "C4", "c4.jpg", jpeg())
    service.finish(session, settings, done, "sup")
    session.flush()
    return {
        "spot_case": service.queries.failures_of(session, done.id)[0].case_code,
        "spot_open": checks[1],
        "spot_done": checks[0],
        "spot_period": today.strftime("%Y-%m"),
    }
