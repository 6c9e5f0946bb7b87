"""The console's list pages by cursor in a browser: 下一页 opens the next page and 第一页
goes back."""

from playwright.sync_api import expect

from civicgrid.cases import pages
from tests.e2e.conftest import DESK
from tests.e2e.test_browser import (
    sign_in_with_keyboard,
    site,  # noqa: F401 - the fixture
)
from tests.factories import POINT_A


def test_next_page_and_back_to_the_first(site, browser, monkeypatch):  # noqa: F811
    import httpx

    monkeypatch.setattr(pages, "PAGE_SIZE", 2)
    for _ in range(3):
        r = httpx.post(
            f"{site}/api/v1/citizen/reports",
            data={"category": "06010", "lon": POINT_A[0], "lat": POINT_A[1]},
            timeout=30,
        )
        assert r.status_code == 201, r.text
    page = browser.new_page(viewport=DESK)
    sign_in_with_keyboard(page, site, "disp")
    page.goto(f"{site}/console?queue=all")
    expect(page.locator("#total")).to_contain_text("3")
    rows = page.locator("tbody a[href^='/console/cases/']")
    expect(rows).to_have_count(2)
    first = rows.all_inner_texts()
    page.get_by_role("link", name="下一页").click()
    expect(rows).to_have_count(1)
    assert rows.inner_text() not in first
    expect(page.get_by_role("link", name="下一页")).to_have_count(0)
    page.get_by_role("link", name="第一页").click()
    expect(rows).to_have_count(2)
    assert rows.all_inner_texts() == first
    page.close()
