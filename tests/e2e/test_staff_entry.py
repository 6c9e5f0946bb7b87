"""Staff's case entry clicked through: a supervisor's patrol on a phone (a tap, a photo), a
hotline call on a desk with the caller's earlier cases beside the form."""

from playwright.sync_api import expect

from tests.e2e.conftest import DESK, PHONE
from tests.e2e.test_browser import SHOTS, sign_in_with_keyboard, site  # noqa: F401
from tests.images import jpeg


def test_a_supervisor_enters_a_case_from_a_phone(site, browser, tmp_path):  # noqa: F811
    photo = tmp_path / "patrol.jpg"
    photo.write_bytes(jpeg(640, 480))
    page = browser.new_page(viewport=PHONE)
    sign_in_with_keyboard(page, site, "sup")
    page.get_by_role("button", name="菜单").click()  # on a phone the header's links are a menu
    page.get_by_role("link", name="案件录入").click()
    page.wait_for_load_state("networkidle")
    page.fill("#cat-search", "bllj")  # 暴露垃圾
    page.get_by_role("option", name="暴露垃圾").click()
    page.set_input_files("#photos", str(photo))
    box = page.locator("#map").bounding_box()
    page.mouse.click(box["x"] + box["width"] * 0.3, box["y"] + box["height"] * 0.5)
    expect(page.locator("#where")).to_contain_text("东风街道")
    page.fill("#description", "巡查发现垃圾堆放")
    page.screenshot(path=str(SHOTS / "entry-phone.png"), full_page=True)
    page.get_by_role("button", name="提交").click()
    expect(page.locator("#done")).to_be_visible()
    assert page.locator("#done-code").inner_text().strip()


def test_an_operator_enters_a_call_beside_the_callers_history(site, browser):  # noqa: F811
    page = browser.new_page(viewport=DESK)
    sign_in_with_keyboard(page, site, "oper")
    page.goto(f"{site}/console/new")
    page.wait_for_load_state("networkidle")

    def call(description: str) -> str:
        page.fill("#contact_phone", "13900001111")
        page.locator("#contact_phone").press("Tab")
        page.fill("#contact_name", "王先生")
        page.fill("#cat-search", "bllj")
        page.get_by_role("option", name="暴露垃圾").click()
        box = page.locator("#map").bounding_box()
        page.mouse.click(box["x"] + box["width"] * 0.3, box["y"] + box["height"] * 0.5)
        page.fill("#address", "东风街 1 号")
        page.fill("#description", description)
        page.check("#callback")
        page.get_by_role("button", name="提交").click()
        expect(page.locator("#done")).to_be_visible()
        return page.locator("#done-code").inner_text().strip()

    first = call("来电反映垃圾堆放")
    page.goto(f"{site}/console/new")
    page.fill("#contact_phone", "139 0000 1111")
    page.locator("#contact_phone").press("Tab")
    expect(page.locator("#history-list")).to_contain_text(first)
    page.screenshot(path=str(SHOTS / "entry-hotline-desk.png"), full_page=True)
