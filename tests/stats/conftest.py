import pytest

from civicgrid.cases import history
from tests.conftest import DATA
from tests.factories import small_geography


@pytest.fixture()
def imported(session):
    """The example geography and its fifteen corner-case histories."""
    small_geography(session)
    history.import_lines((DATA / "cases-small.jsonl").read_text(encoding="utf-8").splitlines())
    return session
