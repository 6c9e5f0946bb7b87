"""The snow season in the browser: the leader edits the deadline table, opens the event (the
sections' lights on the map, the fields' fill bars), its daily report; a gate attendant records
a truck on the phone page; the command centre shows the snow layout. Screenshots at 360 px
and 1280 px to SHOTS."""

import pytest
from playwright.sync_api import expect

from civicgrid.config import get_settings
from civicgrid.snowfields import queries
from tests.conftest import live_server
from tests.e2e.conftest import DESK, PHONE
from tests.e2e.test_browser import SHOTS, sign_in_with_keyboard
from tests.snowfields.test_snowfall import declare, generate


@pytest.fixture()
def snow_site(committed, tmp_path, monkeypatch):
    monkeypatch.setenv("CIVICGRID_MEDIA_DIR", str(tmp_path / "media"))
    get_settings.cache_clear()
    with committed() as session:
        generate(session)
        event = declare(session)  # never closed: going on now
        event_id = event.id
        session.commit()
    with live_server() as base:
        yield base, event_id


def fits(page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 0


def test_the_snow_pages(snow_site, browser, committed):
    site, event_id = snow_site
    lead = browser.new_context(viewport=DESK).new_page()
    sign_in_with_keyboard(lead, site, "lead")
    lead.goto(f"{site}/snow")
    row = lead.locator('#snow-limits tr[data-grade="暴雪"][data-class="A"]')
    row.locator("input[name=clear_hours]").fill("30")
    row.locator("input[name=clear_hours]").dispatch_event("change")
    expect(row).to_have_class("saved")
    lead.screenshot(path=str(SHOTS / "desk-snow.png"), full_page=True)
    with committed() as session:
        limits = {(r.grade, r.street_class): r.clear_hours for r in queries.limits(session)}
    assert limits[("暴雪", "A")] == 30
    with committed() as session:  # the table is kept between tests: as it was
        from civicgrid.snowfields import service

        service.edit_limit(
            session, grade="暴雪", street_class="A", clear_hours=48, haul_hours=72, by="test"
        )
        session.commit()

    lead.goto(f"{site}/snow/events/{event_id}")
    expect(lead.locator("#snow-sections tbody tr")).to_have_count(5)
    expect(lead.locator("#map path.leaflet-interactive")).to_have_count(7)  # 5 sections, 2 fields
    expect(lead.locator(".snow-field")).to_have_count(2)
    lead.screenshot(path=str(SHOTS / "desk-snow-event.png"), full_page=True)
    lead.goto(f"{site}/snow/events/{event_id}/report?day=2026-11-20")
    expect(lead.locator("#snow-district")).to_contain_text("全区合计")
    lead.screenshot(path=str(SHOTS / "desk-snow-report.png"), full_page=True)
    lead.goto(f"{site}/command")
    expect(lead.locator("#snow-fields .snow-field")).to_have_count(2)
    # the sections and fields drawn over the district's outline (a flat line has no height,
    # so it is counted rather than checked for visibility)
    lead.wait_for_function(
        "() => document.querySelectorAll('#map path.leaflet-interactive').length >= 7"
    )
    lead.screenshot(path=str(SHOTS / "desk-command-snow.png"))

    gate = browser.new_context(viewport=PHONE).new_page()
    sign_in_with_keyboard(gate, site, "oper")
    gate.goto(f"{site}/snow/gate")
    form = gate.locator("#gate")
    form.locator("select[name=field]").select_option("F-DIRTY")
    form.locator("input[name=plate]").fill("黑A 77777")
    form.locator("input[name=volume_m3]").fill("18")
    form.locator("select[name=section]").select_option("S5")
    form.locator("button[type=submit]").click()
    expect(gate.locator("#gate-status")).to_contain_text("黑A77777")
    fits(gate)
    gate.screenshot(path=str(SHOTS / "phone-snow-gate.png"), full_page=True)
    gate.goto(f"{site}/snow/events/{event_id}")
    expect(gate.locator("#snow-trips")).to_contain_text("黑A77777")
    fits(gate)
    gate.screenshot(path=str(SHOTS / "phone-snow-event.png"), full_page=True)
