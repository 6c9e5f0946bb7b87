"""Work logs in the browser: a handler begins the day's log (the draft written from their case
actions and tracked route), adds a line with a place from the map and a photo, corrects a
line, submits; the leader finds it on the team page and returns it with a comment; the handler
amends and submits again; the leader approves. Screenshots at 360 px and 1280 px to SHOTS."""

import re

import pytest
from playwright.sync_api import expect

from civicgrid.config import get_settings
from tests.conftest import live_server
from tests.e2e.conftest import DESK, PHONE
from tests.e2e.test_browser import SHOTS, sign_in_with_keyboard
from tests.images import jpeg
from tests.worklogs.day import handler_day


@pytest.fixture()
def day_site(committed, tmp_path, monkeypatch):
    monkeypatch.setenv("CIVICGRID_MEDIA_DIR", str(tmp_path / "media"))
    get_settings.cache_clear()
    with committed() as session:
        data = handler_day(session)
        session.commit()
    with live_server() as base:
        yield base, data


def fits(page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 0


def test_a_handler_writes_and_submits_the_day_and_the_leader_returns_then_approves(
    day_site, browser, tmp_path
):
    site, data = day_site
    day = data["day"].isoformat()
    photo = tmp_path / "street.jpg"
    photo.write_bytes(jpeg(320, 240))

    handler = browser.new_context(viewport=PHONE).new_page()
    sign_in_with_keyboard(handler, site, "ha")
    handler.goto(f"{site}/worklogs?day={day}")
    handler.click("#begin-log")
    rows = handler.locator("#entries tbody tr")
    expect(rows).to_have_count(5)  # four case actions and the tracked route
    for code in data["codes"]:
        expect(handler.locator("#entries")).to_contain_text(code)
    expect(handler.locator("#entries")).to_contain_text("巡查轨迹 09:00–09:10")
    expect(handler.locator("#log-distance")).to_contain_text("公里")
    # a line of their own: time, words, a place picked on the map, a photo
    form = handler.locator("#entry-form")
    form.locator("input[name=time]").fill("14:30")
    form.locator("textarea[name=text]").fill("巡查通天街, 清理小广告")
    handler.locator("#log-map").click()
    expect(form.locator("input[name=lon]")).not_to_have_value("")
    form.locator("input[name=photos]").set_input_files(str(photo))
    form.locator("button[type=submit]").click()
    expect(rows).to_have_count(6)
    expect(handler.locator("#entries img.thumb")).to_have_count(1)
    # correct a line of the draft
    handler.locator(".edit-entry").first.click()
    text = form.locator("textarea[name=text]")
    text.fill(text.input_value() + " (已核实)")
    form.locator("button[type=submit]").click()
    expect(handler.locator("#entries tbody tr").first).to_contain_text("(已核实)")
    handler.screenshot(path=str(SHOTS / "phone-worklog-draft.png"), full_page=True)
    fits(handler)
    handler.click("#submit-log")
    expect(handler.locator("#log-state")).to_have_text("已提交")
    expect(handler.locator(".edit-entry")).to_have_count(0)  # append-only now
    log_url = None

    leader = browser.new_context(viewport=DESK).new_page()
    sign_in_with_keyboard(leader, site, "lead")
    leader.goto(f"{site}/worklogs/team?day={day}")
    missing = leader.locator("#missing")
    expect(missing).to_contain_text("hb")  # the factories' names are the usernames
    expect(missing.locator(".missing-person")).not_to_contain_text(["ha"])
    leader.screenshot(path=str(SHOTS / "desk-worklog-team.png"), full_page=True)
    leader.locator("#day-logs a").first.click()
    leader.wait_for_url(re.compile(r".*/worklogs/\d+$"))
    leader.wait_for_load_state("load")  # the review buttons' script is bound
    log_url = leader.url
    leader.locator("#review-form textarea").fill("请补充下午的巡查情况")
    leader.click("#return-log")
    expect(leader.locator("#log-state")).to_have_text("已退回")

    handler.reload()
    expect(handler.locator("#review-comment")).to_contain_text("请补充下午的巡查情况")
    form.locator("input[name=time]").fill("16:00")
    form.locator("textarea[name=text]").fill("下午巡查完毕, 无新问题")
    form.locator("select[name=corrects]").select_option("6")
    form.locator("button[type=submit]").click()
    expect(handler.locator("#entries tr.amendment")).to_have_count(1)
    expect(handler.locator("#entries tr.amendment")).to_contain_text("#6")
    handler.click("#submit-log")
    expect(handler.locator("#log-state")).to_have_text("已提交")

    leader.goto(log_url)
    leader.click("#approve-log")
    expect(leader.locator("#log-state")).to_have_text("已通过")
    expect(leader.locator("#history li")).to_have_count(5)
    leader.screenshot(path=str(SHOTS / "desk-worklog-approved.png"), full_page=True)
    fits(leader)
    handler.reload()
    expect(handler.locator("#entry-form")).to_have_count(0)  # approved: final
    handler.screenshot(path=str(SHOTS / "phone-worklog-approved.png"), full_page=True)
    fits(handler)
    handler.context.add_cookies([{"name": "lang", "value": "en", "url": site}])
    handler.reload()
    expect(handler.locator("#log-state")).to_have_text("Approved")
    handler.screenshot(path=str(SHOTS / "phone-worklog-en.png"), full_page=True)
