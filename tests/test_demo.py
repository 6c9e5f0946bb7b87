"""`civicgrid demo`: the Xiangfang demo routes reports even without demo cases, and a second
run changes nothing."""

from rich.console import Console
from sqlalchemy import func, select

from civicgrid import demo
from civicgrid.auth.models import User
from civicgrid.cases.models import DispatchRule
from civicgrid.citizen import service as citizen_service
from civicgrid.config import get_settings
from civicgrid.geo.index import index as geo_index
from civicgrid.geo.models import Area

# 香坊区: a point inside one of the demo's grids (found with civicgrid geo locate)
POINT = (126.7337857, 45.7461148)


def counts(session) -> tuple[int, int, int]:
    return tuple(
        session.scalar(select(func.count()).select_from(model))
        for model in (Area, User, DispatchRule)
    )


def test_demo_without_cases_routes_reports_and_loads_once(session):
    quiet = Console(quiet=True)
    demo.load(quiet, cases=0)
    first = counts(session)
    assert first[0] > 35_000 and first[2] > 0
    demo.load(quiet, cases=0)
    assert counts(session) == first
    geo_index.ensure_fresh(session)
    done = citizen_service.submit(
        session, get_settings(), category="06010", lon=POINT[0], lat=POINT[1]
    )
    assert done.case.state == "dispatched" and done.case.street_code.startswith("230110")
