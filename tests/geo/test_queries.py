"""What other domains read of the areas (geo.queries)."""

from civicgrid.geo import queries
from tests.factories import STREET_A, STREET_B, small_geography


def test_areas_are_named_by_code_and_their_existence_known(session):
    assert not queries.area_exists(session, STREET_A)
    small_geography(session)
    names = queries.names_by_code(session, [STREET_A, STREET_B, "000"])
    assert set(names) == {STREET_A, STREET_B}
    assert all(names.values())
    assert queries.area_exists(session, STREET_A)
    assert not queries.area_exists(session, "000")
