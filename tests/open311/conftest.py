import json

import jsonschema
import pytest
from referencing import Registry, Resource

from civicgrid.open311 import service as o311
from tests.conftest import DATA
from tests.factories import world

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
def api_key(session):
    world(session)
    _, plain = o311.add_key(session, "test client")
    return plain
