"""schemathesis against the app's own OpenAPI document, anonymous and signed in: no 5xx, and no
status or body outside what the document declares."""

import os

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    response_schema_conformance,
    status_code_conformance,
)

from civicgrid.app import create_app
from civicgrid.auth import service as auth_service
from tests.factories import world

schema = schemathesis.openapi.from_asgi("/openapi.json", create_app())
CHECKS = [not_a_server_error, status_code_conformance, response_schema_conformance]
# Examples per operation (CIVICGRID_FUZZ_EXAMPLES, default 6): about 120 operations, each tried
# anonymously, as an administrator and (GETs) read-only, so CI's two runs stay in their time.
EXAMPLES = int(os.environ.get("CIVICGRID_FUZZ_EXAMPLES", "6"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))


@pytest.fixture()
def token(session) -> str:
    world(session)
    _, plain = auth_service.issue_token(session, auth_service.get_user(session, "boss"))
    return plain


@schema.parametrize()
@FUZZ
def test_anonymous(case, token):
    case.call_and_validate(checks=CHECKS)


@schema.parametrize()
@FUZZ
def test_signed_in_as_admin(case, token):
    case.call_and_validate(headers={"Authorization": f"Bearer {token}"}, checks=CHECKS)


@pytest.fixture()
def committed_token(committed) -> str:
    """The same world, committed on the real engine: every request below opens its own
    connection, so a GET runs in a read-only transaction (deps.get_db) as it does when served."""
    with committed() as s:
        world(s)
        _, plain = auth_service.issue_token(s, auth_service.get_user(s, "boss"))
        s.commit()
    return plain


@schema.include(method="GET").parametrize()
@FUZZ
def test_get_requests_only_read(case, committed_token):
    """A GET that wrote would fail in its read-only transaction: a 5xx here."""
    case.call_and_validate(
        headers={"Authorization": f"Bearer {committed_token}"}, checks=[not_a_server_error]
    )


# --- the answers against their models, over a seeded district -------------------------------

SEED_CASES = 120  # a few months of histories in every state, as `civicgrid demo` makes them
CONFORM = settings(
    max_examples=max(2, EXAMPLES // 2), deadline=None, suppress_health_check=list(HealthCheck)
)


@pytest.fixture(scope="module")
def seeded(engine):
    """The small district with the demo's case histories (its generator, its rules), committed
    once for the module; every table but the catalogue is emptied afterwards."""
    import random

    from civicgrid.cases import demo as cases_demo
    from civicgrid.kit import db
    from civicgrid.org import service as org_service
    from tests.conftest import TABLES_KEPT
    from tests.factories import POINT_A, POINT_B, SMALL_DISTRICT

    def near_a_point(rng: random.Random) -> tuple[float, float]:
        lon, lat = rng.choice((POINT_A, POINT_B))
        return lon + rng.uniform(-0.0005, 0.0005), lat + rng.uniform(-0.0005, 0.0005)

    db.set_engine(engine)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(cases_demo, "_random_point", near_a_point)
        with db.session_factory()() as s:
            world(s)
            for code in ("230110001", "230110002", "230110003"):  # where the demo re-dispatches
                org_service.ensure_unit(
                    s, code=code, name=f"街道{code[-1]}", kind="street", parent_code=SMALL_DISTRICT
                )
            cases_demo.ensure_cases(s, count=SEED_CASES, days=60)
            _, plain = auth_service.issue_token(s, auth_service.get_user(s, "boss"))
            s.commit()
    yield engine, plain
    with engine.begin() as conn:
        for table in reversed(db.Base.metadata.sorted_tables):
            if table.name not in TABLES_KEPT:
                conn.execute(table.delete())
    db.set_engine(None)


@pytest.fixture()
def seeded_token(seeded) -> str:
    from civicgrid.geo.index import index as geo_index
    from civicgrid.kit import db

    engine, plain = seeded
    db.set_engine(engine)  # another test of the module may have pointed the process elsewhere
    geo_index.loaded = False
    return plain


# the event stream is not an answer but a connection (held open between heartbeats)
@(
    schema.include(method="GET", path_regex="^/api/")
    .exclude(path="/api/v1/command/stream")
    .parametrize()
)
@CONFORM
def test_api_answers_match_their_models(case, seeded_token):
    """Every GET of the API, as an administrator over a district with cases in every state:
    no 5xx, and every answer conforms to the schema the OpenAPI document declares."""
    case.call_and_validate(
        headers={"Authorization": f"Bearer {seeded_token}"},
        checks=[not_a_server_error, status_code_conformance, response_schema_conformance],
    )
