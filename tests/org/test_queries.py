"""What other domains read of the org tree (org.queries)."""

from civicgrid.org import queries, service
from tests.factories import SMALL_DISTRICT, department, small_geography


def test_units_are_named_and_found_by_code_unknown_codes_left_out(session):
    # Given the small district and a department under it
    small_geography(session)
    dept = department(session)
    # When other domains look them up
    names = queries.names_by_code(session, {SMALL_DISTRICT, dept.code, "000"})
    units = queries.units_by_code(session, [dept.code, "000"])
    # Then they get exactly the units that exist
    assert names == {SMALL_DISTRICT: "示例区", dept.code: dept.name}
    assert units == {dept.code: service.get_unit(session, dept.code)}
    assert {SMALL_DISTRICT, dept.code, "2399"} <= queries.all_codes(session)
    assert "000" not in queries.all_codes(session)
