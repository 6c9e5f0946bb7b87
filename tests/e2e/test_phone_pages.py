"""Phones and screens (issue #14 items 8-9), in Debian's headless Chromium: at 360 px no page
is wider than the viewport, the header is one row with a menu, the handler's list shows the
deadline and the time left; the command centre fills 1920x1080 and 1280x800 without scrolling.
Screenshots go to SHOTS (see test_browser)."""

import httpx
from playwright.sync_api import expect

from tests.e2e.conftest import DESK, PHONE
from tests.e2e.test_browser import (
    SHOTS,
    sign_in_with_keyboard,
    site,  # noqa: F401 - the fixture
)
from tests.factories import POINT_A

WIDE_PAGES = (
    "console",
    "directory",
    "stats",
    "stats/assessment/2026-11",
    "admin",
    "board",
    "notices",
    "notices/desk",
    "notices/new",
    "worklogs",
    "worklogs/team",
    "worklogs/print?month=2026-11&unit=239901",
    "spotchecks",
    "spotchecks/bulletin?period=2026-11",
    "spotchecks/draws",
    "supervision",
    "admin/hotline",
)


def report(site_url: str, address: str = "通天街 1 号") -> None:
    r = httpx.post(
        f"{site_url}/api/v1/citizen/reports",
        data={"category": "06010", "lon": POINT_A[0], "lat": POINT_A[1], "address": address},
        timeout=30,
    )
    assert r.status_code == 201, r.text


def overflow(page) -> int:
    return page.evaluate("document.documentElement.scrollWidth - window.innerWidth")


def test_no_page_is_wider_than_a_phone(site, browser):  # noqa: F811
    # Given an administrator on a 360 px phone
    report(site)
    page = browser.new_page(viewport=PHONE)
    sign_in_with_keyboard(page, site, "boss")
    for path in WIDE_PAGES:
        # When each page is opened
        page.goto(f"{site}/{path}")
        page.wait_for_load_state("networkidle")
        page.screenshot(
            path=str(SHOTS / f"phone-{path.replace('/', '-').replace('?', '-')}.png"),
            full_page=True,
        )
        # Then the document is no wider than the viewport
        assert overflow(page) <= 0, path
        # and the header is one row: the brand and the menu button side by side
        header = page.locator("header").bounding_box()
        assert header["height"] < 70, path
    # The menu opens and holds the admin's links
    page.get_by_role("button", name="菜单").click()
    expect(page.locator("#site-nav").get_by_role("link", name="管理", exact=True)).to_be_visible()
    page.close()


def test_a_handler_menu_has_no_admin_link_and_the_search_button_is_one_line(site, browser):  # noqa: F811
    page = browser.new_page(viewport=PHONE)
    sign_in_with_keyboard(page, site, "ha")
    page.get_by_role("button", name="菜单").click()
    nav = page.locator("#site-nav")
    expect(nav.get_by_role("link", name="工作台")).to_be_visible()
    expect(nav.get_by_role("link", name="管理", exact=True)).to_have_count(0)
    for path in ("console", "directory"):
        page.goto(f"{site}/{path}")
        button = page.locator("form.search button").bounding_box()
        assert button["height"] < 50, path  # 搜索 on one line, not 搜/索
        search = page.locator("form.search input[name=q]").bounding_box()
        assert search["width"] > 150, path
    page.close()


def test_the_handler_list_on_a_phone_shows_deadline_and_time_left(site, browser):  # noqa: F811
    # Given a dispatched case in the handler's street
    report(site)
    page = browser.new_page(viewport=PHONE)
    sign_in_with_keyboard(page, site, "ha")
    page.goto(f"{site}/console?queue=all")
    row = page.locator("table.cases tbody tr").first
    # Then its card shows code, category, place, deadline and time left, its edge by light
    expect(row).to_contain_text("XF")
    expect(row).to_contain_text("通天街 1 号")
    expect(row.locator(".left")).to_contain_text("剩")
    assert "light-" in (row.get_attribute("class") or "")
    assert overflow(page) <= 0
    page.screenshot(path=str(SHOTS / "phone-handler-list.png"), full_page=True)
    page.close()


# Cells of a table drawn past its box's inner edge (the box clips them), and cells whose own
# text is cut: (table id, column, row) of each.
CLIPPED = """id => {
  const table = document.getElementById(id), box = table.closest('.card');
  const edge = box.getBoundingClientRect().right - parseFloat(getComputedStyle(box).paddingRight);
  const out = {outside: [], cut: []};
  table.querySelectorAll('tr').forEach((tr, row) => {
    tr.querySelectorAll('th, td').forEach((c, col) => {
      if (c.getBoundingClientRect().right > edge + 0.5) out.outside.push([id, col, row]);
      if (c.scrollWidth > c.clientWidth) out.cut.push([id, col, row, c.textContent]);
    });
  });
  return out;
}"""


def test_the_command_screen_fills_the_window_without_scrolling(site, browser):  # noqa: F811
    # Given cases whose address is long and whose time left is long to write
    for _ in range(3):
        report(site, address="哈尔滨市香坊区通天街道通天街与中山路交口东南角 188 号院内")
    for size in ({"width": 1920, "height": 1080}, {"width": 1280, "height": 800}, DESK):
        page = browser.new_page(viewport=size)
        sign_in_with_keyboard(page, site, "disp")
        page.goto(f"{site}/command")
        expect(page.locator("#ranking thead th")).to_have_count(4)
        expect(page.locator("#latest tbody tr").first).to_contain_text("剩")
        assert page.evaluate("document.documentElement.scrollHeight") <= size["height"]
        assert overflow(page) <= 0
        # Then no column is clipped by its box: the time left (剩余) is whole in every row,
        # only a long address gives way (…)
        for table in ("latest", "ranking"):
            found = page.evaluate(CLIPPED, table)
            assert found["outside"] == [], (size, found)
            assert [c for c in found["cut"] if not (c[0] == "latest" and c[1] == 2)] == [], (
                size,
                found,
            )
        assert page.locator("#latest thead th").nth(3).inner_text() == "剩余"
        box = page.locator("#map").bounding_box()
        # the map reaches near the bottom of the window: no large empty area
        assert box["y"] + box["height"] > size["height"] - 60
        page.screenshot(path=str(SHOTS / f"command-{size['width']}x{size['height']}.png"))
        page.close()
