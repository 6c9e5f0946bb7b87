"""Notices in the browser: a notice written with hostile Markdown and a fake PDF, reviewed by
another person, published to two streets, read by one handler, the others reminded; then a
public warning's list, page, Atom feed (feedparser) and CAP 1.2 document (the OASIS schema)."""

import feedparser
import httpx
from lxml import etree
from playwright.sync_api import expect

from civicgrid.auth import service as auth_service
from civicgrid.notices import service
from tests.e2e.conftest import DESK, PHONE
from tests.e2e.test_browser import (
    SHOTS,
    sign_in_with_keyboard,
    site,  # noqa: F401 - the fixture
)
from tests.factories import STREET_A, STREET_B
from tests.notices.helpers import HOSTILE_MD, cap_schema, fake_pdf_bytes, pdf_bytes


def _sign_out(page, site_url):
    page.context.clear_cookies()
    page.goto(f"{site_url}/")


def test_a_notice_written_reviewed_published_read_and_reminded(site, committed, browser):  # noqa: F811
    dialogs: list[str] = []
    page = browser.new_page(viewport=DESK)
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    # the dispatcher writes it: hostile Markdown, two streets, handlers only
    sign_in_with_keyboard(page, site, "disp")
    page.goto(f"{site}/notices/desk")
    page.click("text=起草公告")
    # a warning's fields (CAP) are shown only while the kind is a warning
    page.select_option("#kind", "warning")
    assert page.is_visible("#warning-fields select[name=urgency]")
    page.select_option("#kind", "notice")
    assert not page.is_visible("#warning-fields")
    page.fill("input[name=title]", "冬季除雪值班通知")
    page.fill("textarea[name=body]", HOSTILE_MD)
    page.check("input[name=audience][value=internal]")
    page.select_option("select[name=unit_codes]", [STREET_A, STREET_B])
    page.check("input[name=roles][value=handler]")
    with page.expect_navigation():
        page.click("#notice-form button[type=submit]")
    notice_url = page.url
    # a fake PDF (an HTML page with a script) is refused by its content, a real one kept
    page.set_input_files(
        "#upload input[type=file]",
        {"name": "fake.pdf", "mimeType": "application/pdf", "buffer": fake_pdf_bytes()},
    )
    with page.expect_navigation():
        page.click("#upload button[type=submit]")
    expect(page.locator("main")).to_contain_text("内容与类型不符")
    page.goto(notice_url)
    page.set_input_files(
        "#upload input[type=file]",
        {"name": "排班表.pdf", "mimeType": "application/pdf", "buffer": pdf_bytes()},
    )
    with page.expect_navigation():
        page.click("#upload button[type=submit]")
    expect(page.locator("#files")).to_contain_text("排班表.pdf")
    with page.expect_navigation():
        page.click("#do-submit")
    expect(page.locator("#state")).to_have_text("待审核")
    expect(page.locator("#do-approve")).to_have_count(0)  # the author does not review
    # a leader reviews and publishes it
    _sign_out(page, site)
    sign_in_with_keyboard(page, site, "lead")
    page.goto(notice_url)
    with page.expect_navigation():
        page.click("#do-approve")
    with page.expect_navigation():
        page.click("#do-publish")
    expect(page.locator("#state")).to_have_text("已发布")
    expect(page.locator("#history")).to_contain_text("disp")
    expect(page.locator("#history")).to_contain_text("审核通过")
    # one handler of street A reads it: the header counts it until then
    _sign_out(page, site)
    sign_in_with_keyboard(page, site, "ha")
    expect(page.locator("#unread-count")).to_have_text("1")
    page.goto(f"{site}/notices/desk")
    page.click("#inbox a")
    body = page.locator(".notice-body")
    expect(body).to_contain_text("<script>alert(1)</script>")  # shown as text
    assert page.locator(".notice-body script, .notice-body img").count() == 0
    assert page.locator(".notice-body a").count() == 1
    with page.expect_navigation():
        page.click("#mark-read")
    expect(page.locator("#read-state")).to_contain_text("你已阅读")
    expect(page.locator("#unread-count")).to_have_count(0)
    # the leader sees one read of three and reminds the others
    _sign_out(page, site)
    sign_in_with_keyboard(page, site, "lead")
    page.goto(notice_url)
    expect(page.locator("#receipts h2")).to_contain_text("(1/3)")
    with page.expect_navigation():
        page.click("#remind")
    expect(page.locator("#receipts tr[data-user=hb]")).to_contain_text("1 ·")
    expect(page.locator("#receipts tr[data-user=ha]")).not_to_contain_text("1 ·")
    page.screenshot(path=str(SHOTS / "desk-notice-receipts.png"), full_page=True)
    page.set_viewport_size(PHONE)
    page.screenshot(path=str(SHOTS / "phone-notice-receipts.png"), full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 0
    page.set_viewport_size(DESK)
    # the street B handler finds it marked as reminded
    _sign_out(page, site)
    sign_in_with_keyboard(page, site, "hb")
    expect(page.locator("#unread-count")).to_have_text("1")
    page.goto(f"{site}/notices/desk")
    expect(page.locator("#inbox li.unread")).to_contain_text("已催阅")
    page.screenshot(path=str(SHOTS / "desk-notices-inbox.png"), full_page=True)
    assert dialogs == []  # no script of the notice ever ran
    page.close()


def test_the_public_warning_page_feed_and_cap(site, committed, browser):  # noqa: F811
    with committed() as session:
        warning = service.publish_warning(
            session,
            title="暴雪橙色预警",
            body="预计今夜到明天 **大雪**, 请减少出行。",
            by=auth_service.require_user(session, "lead"),
            area_codes=[STREET_A, STREET_B],
            severity="Severe",
        )
        session.commit()
        warning_id = warning.id
    for name, viewport in (("phone", PHONE), ("desk", DESK)):
        page = browser.new_page(viewport=viewport)
        page.goto(f"{site}/notices")
        expect(page.locator("#notices")).to_contain_text("暴雪橙色预警")
        page.screenshot(path=str(SHOTS / f"{name}-notices.png"), full_page=True)
        assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 0
        page.click("#notices a")
        expect(page.locator(".notice-body strong")).to_have_text("大雪")
        expect(page.locator("#cap-link")).to_be_visible()
        page.screenshot(path=str(SHOTS / f"{name}-notice.png"), full_page=True)
        assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 0
        page.close()
    feed = feedparser.parse(httpx.get(f"{site}/notices/feed/warning.atom").content)
    assert feed.bozo == 0 and [e.title for e in feed.entries] == ["暴雪橙色预警"]
    assert feed.entries[0].link.endswith(f"/notices/{warning_id}")
    cap = httpx.get(f"{site}/notices/{warning_id}/cap.xml")
    schema = cap_schema()
    assert schema.validate(etree.fromstring(cap.content)), schema.error_log
