import json

import jsonschema
import pytest
from referencing import Registry, Resource

from civicgrid.cases import intake as case_intake
from civicgrid.cases.models import Case
from civicgrid.cases.policy import Actor
from civicgrid.config import get_settings
from civicgrid.media import service as media_service
from civicgrid.open311 import service as o311
from tests.conftest import DATA
from tests.factories import POINT_A, world
from tests.images import jpeg

SCHEMAS = DATA / "open311-schemas"


def _registry() -> Registry:
    resources = []
    for path in SCHEMAS.glob("*.json"):
        schema = json.loads(path.read_text(encoding="utf-8"))
        resources.append(
            (
                path.name,
                Resource.from_contents(
                    schema,
                    default_specification=jsonschema.Draft7Validator.META_SCHEMA
                    and __import__("referencing.jsonschema").jsonschema.DRAFT7,
                ),
            )
        )
    return Registry().with_resources(resources)


REGISTRY = _registry()


def validate(document, schema_name: str) -> None:
    """Validate against the open311/schema-validation JSON Schemas (with formats checked)."""
    schema = json.loads((SCHEMAS / schema_name).read_text(encoding="utf-8"))
    validator = jsonschema.Draft7Validator(
        schema, registry=REGISTRY, format_checker=jsonschema.FormatChecker()
    )
    errors = sorted(validator.iter_errors(document), key=str)
    assert not errors, [e.message for e in errors[:5]]


@pytest.fixture()
def env(monkeypatch):
    """`env(name=value, …)` sets CIVICGRID_NAME for the rest of the test (settings re-read)."""

    def set_(**values):
        for name, value in values.items():
            monkeypatch.setenv(f"CIVICGRID_{name.upper()}", value)
        get_settings.cache_clear()

    return set_


@pytest.fixture()
def district(session):
    """The small district, its rules and one user per role (tests.factories.world)."""
    world(session)


@pytest.fixture()
def api_key(session, district):
    _, plain = o311.add_key(session, "test client")
    return plain


# Who reports a case of each source (the case service checks the reporter's role).
REPORTERS = {
    "citizen": Actor.citizen(),
    "open311": Actor("open311", "system"),
    "hotline": Actor("oper", "operator"),
    "supervisor": Actor("sup", "supervisor"),
    "staff": Actor("disp", "dispatcher"),
    "system": Actor.system(),
    "spotcheck": Actor("sup", "supervisor"),
}
# The reporter's contact on every case a_case makes: none of it may appear in an Open311 answer.
REPORTER = {"name": "王小明", "phone": "13912345678", "email": "wxm@example.org"}


def a_case(
    session,
    source: str = "citizen",
    *,
    photos: int = 0,
    category: str = "06010",
    description: str = "路边暴露垃圾",
) -> Case:
    """A case of `source` at POINT_A, reported through the case service with REPORTER's
    contact, with `photos` report photos attached."""
    settings = get_settings()
    case = case_intake.report(
        session,
        settings,
        source=source,
        category=category,
        actor=REPORTERS[source],
        lon=POINT_A[0],
        lat=POINT_A[1],
        address="香坊大街12号",
        description=description,
        contact_name=REPORTER["name"],
        contact_phone=REPORTER["phone"],
        contact_email=REPORTER["email"],
    )
    for n in range(photos):
        image = media_service.check_image(jpeg(color=(40 * n, 90, 90)), settings)
        media_service.attach(
            session, settings, case_id=case.id, event_id=None, stage="report", image=image
        )
    session.flush()
    return case
