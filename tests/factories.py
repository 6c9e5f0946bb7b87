"""Small helpers that build test data through the services."""

from __future__ import annotations

import json
from functools import lru_cache

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from civicgrid.auth import service as auth_service
from civicgrid.auth.models import User
from civicgrid.geo import service as geo_service
from civicgrid.org import service as org_service

from .conftest import DATA

PASSWORD = "correct-horse-1"
SMALL_DISTRICT = "239901"
STREET_A, STREET_B = "239901001", "239901002"
COMMUNITY_A = "239901001001"


def small_geography(session: Session) -> None:
    """The 示例区 of shared/reference/examples: two streets, one community each, 8 grids."""
    org_service.ensure_unit(session, code="2399", name="示例市", kind="city", parent_code=None)
    org_service.ensure_unit(
        session, code=SMALL_DISTRICT, name="示例区", kind="district", parent_code="2399"
    )
    data = json.loads((DATA / "geo-small.geojson").read_text(encoding="utf-8"))
    geo_service.import_geojson(session, data)
    session.flush()
    geo_service.refresh_index(session)


def department(session: Session, code: str = "239901901", dept_type: str = "环卫部门"):
    return org_service.ensure_unit(
        session,
        code=code,
        name=f"{dept_type}测试",
        kind="department",
        parent_code=SMALL_DISTRICT,
        dept_type=dept_type,
    )


@lru_cache
def _password_hash() -> str:
    return auth_service.hash_password(PASSWORD)


def user(
    session: Session,
    username: str,
    roles: list[str],
    unit: str,
    phones: list[str] | None = None,
    name: str | None = None,
) -> User:
    # The test password is hashed once: argon2 is slow on purpose.
    return auth_service.create_user(
        session,
        password_hash=_password_hash(),
        username=username,
        password=PASSWORD,
        name=name or username,
        org_unit_code=unit,
        roles=roles,
        phones=phones or [],
    )


def login(client: TestClient, username: str, password: str = PASSWORD) -> None:
    r = client.post("/api/v1/auth/login", json={"username": username, "password": password})
    assert r.status_code == 200, r.text


def world(session: Session) -> None:
    """The small geography with a rule sending every category to its street office, a
    sanitation department owning major class 03, and one user per role."""
    from civicgrid.cases import routing

    small_geography(session)
    department(session, "239901901", "环卫部门")
    routing.add_rule(session, match="*", target="street")
    routing.add_rule(session, match="03", target="department")
    org_service.ensure_unit(
        session, code="239901900", name="指挥中心", kind="team", parent_code=SMALL_DISTRICT
    )
    user(session, "disp", ["dispatcher"], "239901900")
    user(session, "oper", ["operator"], "239901900")
    user(session, "lead", ["leader"], SMALL_DISTRICT)
    user(session, "boss", ["admin"], "239901900")
    user(session, "ha", ["handler"], STREET_A)
    user(session, "hb", ["handler"], STREET_B)
    user(session, "hs", ["handler"], "239901901")
    user(session, "sup", ["supervisor"], COMMUNITY_A)
    user(session, "sta", ["handler", "supervisor"], STREET_A)


# A point in grid 239901001001001 (street A) and one in grid 239901002001004 (street B), WGS-84.
POINT_A = (126.6988839, 45.7029325)
POINT_B = (126.7288234, 45.7028946)

# What a browser on the site's own pages sends with unsafe requests (kit.guard checks it).
SITE = {"Origin": "http://testserver"}
