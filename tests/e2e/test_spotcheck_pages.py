"""Spot checks in the browser: an inspector on a phone goes through a day's check (arrival by
GPS, weather, scores saved as they go, one of them while the network is down, a photo of the
failed item, finish: a case opened), then the bulletin and the published draws on a desk.
Screenshots at 360 px and 1280 px go to SHOTS."""

from playwright.sync_api import expect

from civicgrid.spotchecks import service
from tests.e2e.conftest import DESK, PHONE
from tests.e2e.test_browser import (
    SHOTS,
    sign_in_with_keyboard,
    site,  # noqa: F401 - the fixture
)
from tests.images import jpeg
from tests.spotchecks.seed import ROADS, spot_day


def overflow(page) -> int:
    return page.evaluate("document.documentElement.scrollWidth - window.innerWidth")


def test_an_inspectors_check_on_a_phone_then_the_bulletin(site, committed, browser, tmp_path):  # noqa: F811
    with committed() as session:
        data = spot_day(session)
        session.commit()
    photo = tmp_path / "c3.jpg"
    photo.write_bytes(jpeg())
    context = browser.new_context(
        viewport=PHONE,
        geolocation={"latitude": ROADS[1], "longitude": ROADS[0]},
        permissions=["geolocation"],
    )
    page = context.new_page()
    sign_in_with_keyboard(page, site, "sup")
    # the day's checks, on a map
    page.goto(f"{site}/spotchecks")
    expect(page.locator(".spot-list li")).to_have_count(2)
    expect(page.locator(".leaflet-marker-icon")).to_have_count(2)
    page.screenshot(path=str(SHOTS / "phone-spotchecks.png"), full_page=True)
    assert overflow(page) <= 0
    page.goto(f"{site}/spotchecks/checks/{data['spot_open']}")
    page.wait_for_load_state("load")
    status = page.locator("#status")
    page.click("#arrive")
    expect(status).to_have_text("已保存")
    page.fill("#weather input[name=humidity]", "40")
    page.click("#weather button[type=submit]")
    expect(status).to_have_text("已保存")
    scores = {"C1": 5, "C2": 5, "C3": 2, "C4": 4}
    for side in ("left", "right"):
        for item, score in scores.items():
            if side == "right" and item == "C3":
                continue
            page.fill(f"input[data-side={side}][data-item={item}]", str(score))
            expect(status).to_have_text("已保存")
    # the network drops: the score is kept on the phone, and sent when it is back
    page.route("**/api/v1/spotchecks/**", lambda route: route.abort())
    page.fill("input[data-side=right][data-item=C3]", "2")
    page.locator("input[data-side=right][data-item=C3]").blur()
    expect(status).to_contain_text("网络不通")
    page.unroute("**/api/v1/spotchecks/**")
    page.evaluate("window.dispatchEvent(new Event('online'))")
    expect(status).to_have_text("已保存")
    page.screenshot(path=str(SHOTS / "phone-spotcheck.png"), full_page=True)
    assert overflow(page) <= 0
    # finishing without the failed item's photo is refused, with the reason, beside the button
    page.click("#finish")
    expect(page.locator("#finish-status")).to_contain_text("C3")
    page.select_option("#photo select[name=item]", "C3")
    page.set_input_files("#photo input[type=file]", str(photo))
    page.click("#photo button[type=submit]")
    expect(page.locator("#photo-count")).to_have_text("1")
    page.click("#finish")
    expect(page.locator("main a[href^='/console/cases/']")).to_have_count(1)  # reloaded, done
    expect(page.locator("main")).to_contain_text("不合格")
    page.screenshot(path=str(SHOTS / "phone-spotcheck-done.png"), full_page=True)
    with committed() as session:
        check = service.view(session, service.get_check(session, data["spot_open"]))
    assert check["score"] == 6 * 5 + 6 * 5 + 4 * 2 + 4 * 4
    assert [f["item"] for f in check["failures"]] == ["C3"]
    expect(page.locator("main")).to_contain_text(check["failures"][0]["case"])
    context.close()

    for name, viewport in (("phone", PHONE), ("desk", DESK)):
        page = browser.new_page(viewport=viewport)
        sign_in_with_keyboard(page, site, "lead")
        page.goto(f"{site}/spotchecks/bulletin?period={data['spot_period']}")
        expect(page.locator("#worst li")).to_have_count(2)
        page.screenshot(path=str(SHOTS / f"{name}-spotbulletin.png"), full_page=True)
        assert overflow(page) <= 0
        page.goto(f"{site}/spotchecks/draws")
        expect(page.locator("main")).to_contain_text("E2E")
        page.screenshot(path=str(SHOTS / f"{name}-spotdraws.png"), full_page=True)
        assert overflow(page) <= 0
        page.close()
