"""The demo's snowfall: its trucks' days come in through the JT/T 808 gateway, and the trips,
fills and lights follow from those tracks; a second run changes nothing."""

import datetime as dt

from rich.console import Console
from sqlalchemy import func, select

from civicgrid import demo
from civicgrid.config import get_settings
from civicgrid.snowfields import demo as snow_demo
from civicgrid.snowfields import queries, service
from civicgrid.vehicles.models import Fix


def test_the_demo_snowfall_comes_in_through_the_gateway(committed):
    with committed() as s:
        demo._ensure_org(s)
        s.commit()
    now = dt.datetime(2026, 11, 20, 4, 0, tzinfo=dt.UTC)  # 12:00 in Harbin
    demo._load_snow(Console(quiet=True), now=now)
    with committed() as s:
        event = queries.events(s)[0]
        assert event.grade == "中雪"
        state = service.evaluate(s, get_settings(), event, now)
        by_code = {x.section.code: x for x in state.sections}
        fields = {f.id: f.code for f in state.fields}
        sections = {x.section.id: x.section.code for x in state.sections}
        trips = [(t.plate, sections.get(t.section_id), fields[t.field_id]) for t in state.trips]
        # every hauler made trips, from its own sections, to the field its snow may go to
        for v in snow_demo.FLEET:
            if v.type_code != "snow_hauler":
                continue
            mine = [t for t in trips if t[0] == v.plate]
            assert mine, v.plate
            assert {t[1] for t in mine} <= {leg for leg in _sections_of(v)}, v.plate
        assert {t[2] for t in trips if t[1] == "XS-A03"} == {"XF-02"}  # 污雪 to the 污雪 field
        # the ploughs cleared their sections; the fields filled by the trips' capacities
        for code in ("XS-A01", "XS-A02", "XS-A03", "XS-B01", "XS-B02"):
            assert by_code[code].clear.done_at is not None, code
        for f in state.fields:
            initial = next(x[6] for x in snow_demo.FIELDS if x[0] == f.code)
            added = sum(t.volume_m3 for t in state.trips if t.field_id == f.id)
            assert state.fills[f.id] == initial + added
        assert service.check_event(s, get_settings(), event, now)["alarms"] == 0
        total = s.scalar(select(func.count()).select_from(Fix))
        s.rollback()
    demo._load_snow(Console(quiet=True), now=now + dt.timedelta(hours=1))
    with committed() as s:
        assert s.scalar(select(func.count()).select_from(Fix)) == total


def _sections_of(vehicle):
    """The sections a hauler's legs drive along (a leg to a section's far end)."""
    ends = {tuple(s[4][1]): s[0] for s in snow_demo.SECTIONS}
    return {ends[(leg.lon, leg.lat)] for leg in vehicle.legs if (leg.lon, leg.lat) in ends}
