"""A report that came without a place is found in 待定位 and placed on the map by a
dispatcher; routing follows at once."""

from playwright.sync_api import expect

from tests.e2e.conftest import DESK, PHONE
from tests.e2e.test_browser import (
    act,
    sign_in_with_keyboard,
    site,  # noqa: F401 - the fixture
)
from tests.factories import POINT_B


def test_a_dispatcher_places_a_case_on_the_map(site, browser):  # noqa: F811
    import httpx

    r = httpx.post(f"{site}/api/v1/citizen/reports", data={"category": "06010"}, timeout=30)
    code = r.json()["code"]
    for viewport in (PHONE, DESK):  # the phone only looks; the desk places it
        page = browser.new_page(viewport=viewport)
        sign_in_with_keyboard(page, site, "disp")
        page.goto(f"{site}/console?queue=to_locate")
        page.get_by_role("link", name=code).click()
        expect(page.locator("h1")).to_have_text(code)
        if viewport is PHONE:
            page.screenshot(path="/tmp/relocate-phone.png", full_page=True)
            page.close()
            continue
        page.wait_for_load_state("load")  # the script that opens the form has run
        page.get_by_role("button", name="定位", exact=True).click()
        page.wait_for_function("() => document.getElementById('map').cgMap !== undefined")
        page.evaluate(
            "([lon, lat]) => document.getElementById('map').cgMap.setView([lat, lon], 15)",
            list(POINT_B),
        )
        point = page.evaluate(
            """([lon, lat]) => {
                const m = document.getElementById('map');
                const p = m.cgMap.latLngToContainerPoint([lat, lon]);
                const box = m.getBoundingClientRect();
                return [box.left + p.x, box.top + p.y];
            }""",
            list(POINT_B),
        )
        page.mouse.click(*point)
        expect(page.locator("#place")).not_to_have_text("—")
        page.screenshot(path="/tmp/relocate-desk.png", full_page=True)
        act(page, "定位", note="电话核实位置")
        expect(page.locator(".timeline")).to_contain_text("定位")
        expect(page.locator(".timeline")).to_contain_text("派遣")
        page.close()
