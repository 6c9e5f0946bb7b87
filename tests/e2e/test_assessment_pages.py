"""The assessment in Debian's headless Chromium: a dispatcher's console shows their own post
row this month (fetched by the page's script, the API answering with their row only), and the
monthly assessment page has a table per subject at 360 px and 1280 px without widening the
page. Screenshots go to SHOTS (see test_browser)."""

from playwright.sync_api import expect

from tests.e2e.conftest import DESK, PHONE
from tests.e2e.test_browser import (
    SHOTS,
    sign_in_with_keyboard,
    site,  # noqa: F401 - the fixture
)


def test_a_dispatcher_sees_their_own_row_on_the_console(site, browser):  # noqa: F811
    page = browser.new_page(viewport=DESK)
    sign_in_with_keyboard(page, site, "disp")
    card = page.locator("#my-assessment")
    expect(card).to_be_visible()
    expect(card.locator("li")).to_have_count(1)
    expect(card.locator("li")).to_contain_text("派遣员岗位评价")
    page.screenshot(path=str(SHOTS / "console-my-assessment.png"))
    # a handler has no such card
    page.context.clear_cookies()
    sign_in_with_keyboard(page, site, "ha")
    expect(page.locator("#my-assessment")).to_have_count(0)


def test_the_monthly_assessment_has_a_table_per_subject(site, browser):  # noqa: F811
    for name, viewport in (("phone", PHONE), ("desk", DESK)):
        page = browser.new_page(viewport=viewport)
        sign_in_with_keyboard(page, site, "lead")
        page.goto(f"{site}/stats/assessment/2026-11")
        expect(page.locator("section.assess-subject")).to_have_count(7)
        expect(page.locator("#assess-department ul.formulas li").first).to_contain_text(
            "综合指标值"
        )
        width = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert width <= 0, (name, width)
        page.screenshot(path=str(SHOTS / f"assessment-{name}.png"), full_page=True)
        page.close()
