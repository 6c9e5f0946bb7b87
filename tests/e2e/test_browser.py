"""The whole flow clicked through in Debian's headless Chromium, as people would: a citizen
reports with a photo and a place, a handler takes and finishes it with a photo, a supervisor
verifies, the citizen rates; an administrator edits people. The README's screenshots are taken
on the way (see SHOTS), and the last test checks that every one of them was."""

import os
import re
import shutil
import tempfile
from pathlib import Path

import pytest
from PIL import Image
from playwright.sync_api import expect

from tests.conftest import live_server
from tests.e2e.conftest import DESK, PHONE
from tests.factories import PASSWORD, world
from tests.images import jpeg

# Every screenshot of the browser tests goes to SHOTS, a fresh directory of each run. The
# README's pictures (docs/screenshots/*.png, named in README.md) are retaken by this module on
# every run; with CIVICGRID_SCREENSHOTS=1 the last test copies them over docs/screenshots, so
# that a plain test run leaves the checkout as it was.
SHOTS = Path(tempfile.mkdtemp(prefix="civicgrid-shots-"))
ROOT = Path(__file__).resolve().parents[2]
README_SHOTS = sorted(
    set(re.findall(r"docs/screenshots/([\w.-]+\.png)", (ROOT / "README.md").read_text("utf-8")))
)


@pytest.fixture()
def site(committed, tmp_path, monkeypatch):
    monkeypatch.setenv("CIVICGRID_MEDIA_DIR", str(tmp_path / "media"))
    with committed() as session:
        world(session)
        session.commit()
    with live_server() as base:
        yield base


def sign_in_with_keyboard(page, base: str, username: str) -> None:
    page.goto(f"{base}/console/login")
    expect(page.locator("#username")).to_be_focused()  # the page puts the focus there
    page.keyboard.type(username)
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(f"{base}/console")


def act(page, label: str, note: str = "", photo: Path | None = None, public: bool = False) -> None:
    button = page.get_by_role("button", name=label, exact=True)
    button.wait_for()
    # the page's script opens the form: on a loaded machine it may run after the button shows
    page.wait_for_load_state("load")
    button.click()
    if note:
        page.fill("#note", note)
    if public:
        page.check("#public")  # 公开: the citizen sees the note
    if photo:
        page.set_input_files("#act-photos", str(photo))
    with page.expect_navigation():  # the page reloads once the action is taken
        page.get_by_role("button", name="确认", exact=True).click()
    page.wait_for_load_state("networkidle")


def test_report_handle_verify_rate(site, browser, tmp_path):
    photo = tmp_path / "before.jpg"
    photo.write_bytes(jpeg(640, 480))
    after = tmp_path / "after.jpg"
    after.write_bytes(jpeg(640, 480, color=(40, 160, 60)))

    # A citizen on a phone: category by pinyin initials, a photo, a tap on the map.
    citizen = browser.new_page(viewport=PHONE)
    citizen.goto(f"{site}/report")
    citizen.wait_for_load_state("networkidle")
    weight = citizen.evaluate("""() => performance.getEntriesByType('navigation')
        .concat(performance.getEntriesByType('resource'))
        .reduce((n, e) => n + (e.transferSize || e.encodedBodySize || 0), 0)""")
    assert weight <= 150 * 1024, f"the report page weighs {weight} bytes"
    citizen.fill("#cat-search", "bllj")  # 暴露垃圾
    citizen.get_by_role("option", name="暴露垃圾").click()
    citizen.set_input_files("#photos", str(photo))
    box = citizen.locator("#map").bounding_box()
    citizen.mouse.click(box["x"] + box["width"] * 0.3, box["y"] + box["height"] * 0.5)
    expect(citizen.locator("#where")).to_contain_text("东风街道")
    citizen.fill("#description", "小区门口垃圾堆放")
    citizen.screenshot(path=str(SHOTS / "report-phone.png"), full_page=True)
    citizen.get_by_role("button", name="提交").click()
    expect(citizen.locator("#done")).to_be_visible()
    code = citizen.locator("#done-code").inner_text()
    track_url = citizen.locator("#done-link").get_attribute("href")
    assert code.startswith("XF")

    # The handler of the street takes it and reports it done with a photo.
    handler = browser.new_page(viewport=DESK)
    sign_in_with_keyboard(handler, site, "ha")
    handler.screenshot(path=str(SHOTS / "console-desk.png"))
    handler.get_by_role("link", name=code).click()
    act(handler, "签收")
    act(handler, "处置反馈", note="已清理完毕", photo=after)
    expect(handler.locator("body")).to_contain_text("待核查")
    handler.screenshot(path=str(SHOTS / "case-desk.png"), full_page=True)

    # The supervisor of the community verifies on site.
    supervisor = browser.new_page(viewport=PHONE)
    sign_in_with_keyboard(supervisor, site, "sup")
    supervisor.goto(f"{site}/console/cases/{code}")
    act(supervisor, "核查结案", note="现场已清理", public=True)
    expect(supervisor.locator("body")).to_contain_text("已结案")
    supervisor.screenshot(path=str(SHOTS / "case-phone.png"), full_page=True)

    # The citizen follows the link and rates.
    citizen.goto(f"{site}{track_url}")
    expect(citizen.locator("#rate")).to_be_visible()
    # the steps by their public text, the note marked public, never the internal one
    expect(citizen.locator("#timeline")).to_contain_text("已办结 — 现场已清理")
    expect(citizen.locator("#timeline")).not_to_contain_text("已清理完毕")
    assert citizen.locator("#photos img").count() == 2  # before and after
    citizen.get_by_role("button", name="5").click()
    citizen.fill("#rate-comment", "处理及时")
    citizen.get_by_role("button", name="提交").click()
    expect(citizen.locator("#message")).to_contain_text("感谢")
    expect(citizen.locator("#rate")).to_be_hidden()
    citizen.screenshot(path=str(SHOTS / "track-phone.png"), full_page=True)

    # The dispatcher's board and the directory.
    dispatcher = browser.new_page(viewport=DESK)
    for lon in (126.6988839, 126.7288234):  # one open case in each street
        r = dispatcher.request.post(
            f"{site}/api/v1/citizen/reports",
            multipart={
                "category": "07001",
                "lon": str(lon),
                "lat": "45.7029",
                "description": "小广告",
            },
        )
        assert r.status == 201
    sign_in_with_keyboard(dispatcher, site, "disp")
    dispatcher.goto(f"{site}/board")
    expect(dispatcher.locator("#streets tbody tr")).to_have_count(2)
    expect(dispatcher.locator("#map path.leaflet-interactive").first).to_be_visible()
    dispatcher.screenshot(path=str(SHOTS / "board-desk.png"))
    dispatcher.goto(f"{site}/command")
    expect(dispatcher.locator("#c-reported")).to_have_text("3")
    expect(dispatcher.locator("#latest tbody tr")).to_have_count(3)
    dispatcher.screenshot(path=str(SHOTS / "command-desk.png"))
    dispatcher.goto(f"{site}/stats")
    expect(dispatcher.locator("#kpis tbody tr").first).to_contain_text("东风街道")
    expect(dispatcher.locator("#kpis tbody tr").last).to_contain_text("合计")
    expect(dispatcher.locator("#trend canvas")).to_have_count(1)
    dispatcher.wait_for_timeout(1500)  # let the charts' animation finish for the picture
    dispatcher.screenshot(path=str(SHOTS / "stats-desk.png"), full_page=True)
    dispatcher.goto(f"{site}/directory?q=ha")
    expect(dispatcher.locator("body")).to_contain_text("ha")
    dispatcher.screenshot(path=str(SHOTS / "directory-desk.png"))


def test_a_bad_upload_shows_a_message(site, browser, tmp_path):
    fake = tmp_path / "fake.jpg"
    fake.write_bytes(b"this is not a photo at all")
    page = browser.new_page(viewport=PHONE)
    page.goto(f"{site}/report")
    page.fill("#cat-search", "垃圾")
    page.get_by_role("option", name="暴露垃圾").click()
    page.set_input_files("#photos", str(fake))
    page.get_by_role("button", name="提交").click()
    expect(page.locator("#message")).to_contain_text("不是完整有效的图片")
    expect(page.locator("#done")).to_be_hidden()


def test_sign_in_needs_the_right_password(site, browser):
    page = browser.new_page(viewport=DESK)
    page.goto(f"{site}/console")  # a page that needs signing in sends you there
    assert "/console/login" in page.url
    page.fill("#username", "ha")
    page.fill("#password", "wrong-password")
    page.keyboard.press("Enter")
    expect(page.locator(".error")).to_contain_text("用户名或密码错误")


def test_admin_uploads_grids_and_sees_the_import_errors(site, browser, tmp_path):
    import json

    from tests.conftest import DATA

    data = json.loads((DATA / "geo-small.geojson").read_text(encoding="utf-8"))
    data["features"][4]["properties"]["level"] = "block"
    bad = tmp_path / "bad.geojson"
    bad.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    page = browser.new_page(viewport=DESK)
    sign_in_with_keyboard(page, site, "boss")
    page.goto(f"{site}/admin")
    grids = page.locator("form[data-url='/api/v1/geo/import']")
    grids.locator("input[type=file]").set_input_files(str(bad))
    grids.get_by_role("button", name="导入", exact=True).click()
    expect(grids.locator(".msg")).to_contain_text("#4 239901001001002")
    expect(grids.locator(".msg")).to_contain_text("未知层级")
    page.screenshot(path=str(SHOTS / "admin-desk.png"))
    grids.locator("input[type=file]").set_input_files(str(DATA / "geo-small.geojson"))
    grids.get_by_role("button", name="导入", exact=True).click()
    expect(grids.locator(".msg")).to_contain_text("已保存")


def test_admin_edits_people_in_words(site, browser):
    # Given an administrator at a desk
    page = browser.new_page(viewport=DESK)
    sign_in_with_keyboard(page, site, "boss")
    page.goto(f"{site}/admin")
    page.get_by_role("link", name="人员账户管理").click()
    table = page.locator("#people")
    expect(table).to_contain_text("派遣员")  # roles in words
    expect(table).to_contain_text("指挥中心")  # units by name
    expect(table).not_to_contain_text("dispatcher")
    # When they find the supervisor and give them a phone and two grids
    page.fill("form.search input[name=q]", "sup")
    page.get_by_role("button", name="搜索").click()
    expect(table.locator("tbody tr")).to_have_count(1)
    page.get_by_role("link", name="编辑").click()
    page.fill("#e-phones", "139-0000-1111")
    page.fill("#e-areas", "239901001001001, 239901001001002")
    page.get_by_role("button", name="保存").click()
    expect(page.locator(".msg.ok")).to_contain_text("已保存")
    page.wait_for_load_state("load")
    expect(page.locator("p.areas")).to_contain_text("、")  # two grids, by name
    # and disable the handler, who is signed out at once
    handler = browser.new_page(viewport=PHONE)
    sign_in_with_keyboard(handler, site, "ha")
    page.goto(f"{site}/admin/people/ha")
    page.get_by_role("button", name="停用账户").click()
    expect(page.locator("h1 .state-off")).to_have_text("已停用")
    handler.goto(f"{site}/console")
    assert "/console/login" in handler.url
    # A bad grid code is a sentence in the page's language
    page.goto(f"{site}/admin/people/sup")
    page.fill("#e-areas", "239901999999999")
    page.get_by_role("button", name="保存").click()
    expect(page.locator(".msg.error")).to_contain_text("找不到区域: 239901999999999")
    expect(page.locator(".msg.error")).not_to_contain_text("no such area")
    page.goto(f"{site}/admin/people")
    page.screenshot(path=str(SHOTS / "people-desk.png"), full_page=True)
    # On a phone the list scrolls sideways in its box; the page is no wider than the phone
    phone = browser.new_page(viewport=PHONE)
    sign_in_with_keyboard(phone, site, "boss")
    phone.goto(f"{site}/admin/people")
    assert phone.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 0
    phone.screenshot(path=str(SHOTS / "people-phone.png"), full_page=True)
    phone.goto(f"{site}/admin/people/sup")
    assert phone.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 0
    phone.screenshot(path=str(SHOTS / "person-phone.png"), full_page=True)
    # A missing page keeps the signed-in header: the name and the role's menu
    for viewer, name in ((phone, "error-phone.png"), (page, "error-desk.png")):
        viewer.goto(f"{site}/no-such-page")
        expect(viewer.locator(".error-page")).to_contain_text("404")
        if viewer is phone:
            viewer.get_by_role("button", name="菜单").click()
        expect(viewer.locator("#site-nav .who")).to_have_text("boss")
        expect(
            viewer.locator("#site-nav").get_by_role("link", name="管理", exact=True)
        ).to_be_visible()
        viewer.screenshot(path=str(SHOTS / name))


# The tests of this module that take the README's pictures.
TAKERS = (
    "test_report_handle_verify_rate",
    "test_admin_uploads_grids_and_sees_the_import_errors",
    "test_admin_edits_people_in_words",
)


def test_every_readme_screenshot_is_retaken(request):
    """Last in the module: every picture README.md shows was taken by this run, at the width
    its column says (phone 360 px, desk 1280 px); CIVICGRID_SCREENSHOTS=1 puts them in place."""
    chosen = {item.name for item in request.session.items}
    if not set(TAKERS) <= chosen:
        pytest.skip("the tests that take the README's screenshots were not selected")
    assert README_SHOTS, "README.md shows no screenshots"
    for name in README_SHOTS:
        shot = SHOTS / name
        assert shot.exists(), f"README shows docs/screenshots/{name}, which no test takes"
        width = Image.open(shot).size[0]
        assert width == (PHONE if "-phone" in name else DESK)["width"], (name, width)
    if os.environ.get("CIVICGRID_SCREENSHOTS") == "1":
        for name in README_SHOTS:
            shutil.copyfile(SHOTS / name, ROOT / "docs" / "screenshots" / name)
