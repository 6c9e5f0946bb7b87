"""schemathesis against the app's own OpenAPI document, anonymous and signed in: no 5xx, and no
status or body outside what the document declares."""

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
FUZZ = settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck))


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
