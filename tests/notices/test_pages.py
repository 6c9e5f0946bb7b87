"""Notices' pages through the app: the forms of writing, review and publishing, the readers'
button and the header's count, the public list, the feed and the CAP document over HTTP."""

from __future__ import annotations

import re

import feedparser
import pytest
from lxml import etree

from civicgrid.notices import service
from tests.factories import SITE, STREET_A, STREET_B, login

from .helpers import by, cap_schema, fake_pdf_bytes, notices_world, pdf_bytes


@pytest.fixture()
def world(session):
    notices_world(session)
    return session


def _post(client, path, data=None, files=None):
    return client.post(path, data=data, files=files, headers=SITE, follow_redirects=False)


def test_anonymous_readers_see_only_public_notices(client, world):
    r = client.get("/notices")
    assert r.status_code == 200 and "公告信息" in r.text
    r = client.get("/notices/desk", follow_redirects=False)
    assert r.status_code in (302, 303, 307) or "登录" in r.text
    assert client.get("/notices/99999").status_code == 404
    assert client.get("/notices?kind=nope").status_code == 404
    assert client.get("/notices/feed/nope.atom").status_code == 404


def test_written_reviewed_published_read_and_reminded_through_the_forms(client, world):
    login(client, "author")
    r = _post(
        client,
        "/notices/new",
        {
            "kind": "notice",
            "title": "防汛值班通知",
            "body": "请各单位 **做好值班**",
            "audience": "internal",
            "unit_codes": [STREET_A, STREET_B],
            "roles": ["handler"],
        },
    )
    assert r.status_code == 303, r.text
    path = r.headers["location"]
    notice_id = int(path.rsplit("/", 1)[1])
    r = _post(client, f"{path}/attachments", files={"file": ("fake.pdf", fake_pdf_bytes())})
    assert r.status_code == 400 and "内容与类型不符" in r.text
    r = _post(client, f"{path}/attachments", files={"file": ("plan.pdf", pdf_bytes())})
    assert r.status_code == 303
    assert _post(client, f"{path}/step", {"action": "submit"}).status_code == 303
    assert _post(client, f"{path}/step", {"action": "approve"}).status_code == 403
    client.cookies.clear()
    login(client, "chief")
    waiting = client.get("/notices/desk").text  # the reviewer's desk lists it first
    assert 'id="to-review"' in waiting and f'href="{path}"' in waiting.split('id="inbox"')[0]
    assert _post(client, f"{path}/step", {"action": "approve"}).status_code == 303
    assert 'id="to-review"' not in client.get("/notices/desk").text
    assert _post(client, f"{path}/step", {"action": "approve"}).status_code == 409
    assert _post(client, f"{path}/step", {"action": "publish"}).status_code == 303
    assert _post(client, f"{path}/step", {"action": "bogus"}).status_code == 400
    client.cookies.clear()
    login(client, "ha")
    page = client.get("/notices/desk")
    assert re.search(r'id="unread-count"[^>]*>1<', page.text)
    r = client.get(path)
    assert "<strong>做好值班</strong>" in r.text and "plan.pdf" in r.text
    file_path = re.search(r'href="(/notices/\d+/files/\d+)"', r.text).group(1)
    download = client.get(file_path)
    assert (
        download.content == pdf_bytes() and "attachment" in download.headers["content-disposition"]
    )
    assert _post(client, f"{path}/read").status_code == 303
    assert 'id="unread-count"' not in client.get("/notices/desk").text
    client.cookies.clear()
    login(client, "sup")  # not a handler: not a reader
    assert client.get(path).status_code == 404
    assert client.get(file_path).status_code == 404
    client.cookies.clear()
    assert client.get(path, follow_redirects=False).status_code in (302, 303, 307)
    login(client, "chief")
    assert _post(client, f"{path}/remind").status_code == 303
    page = client.get(path)
    assert "阅读情况 (1/3)" in page.text
    receipts = {r.username: r for r in service.receipts(world, service.get(world, notice_id))}
    assert set(receipts) == {"ha", "hc", "hb"}  # handlers of both streets, sub-units too
    assert receipts["hb"].reminders == receipts["hc"].reminders == 1
    assert receipts["ha"].reminders == 0


def test_public_warning_pages_feed_and_cap(client, world):
    login(client, "author")
    r = _post(
        client,
        "/notices/new",
        {
            "kind": "warning",
            "title": "暴雪蓝色预警",
            "body": "预计降雪 10 厘米",
            "audience": "public",
            "severity": "Severe",
            "urgency": "Expected",
            "certainty": "Likely",
            "area_codes": [STREET_A],
            "expires_at": "2099-01-01T08:00",
        },
    )
    path = r.headers["location"]
    notice = service.get(world, int(path.rsplit("/", 1)[1]))
    service.step(world, notice, "submit", by=by(world, "author"))
    service.step(world, notice, "approve", by=by(world, "chief"))
    service.step(world, notice, "publish", by=by(world, "chief"))
    client.cookies.clear()
    listing = client.get("/notices?kind=warning")
    assert "暴雪蓝色预警" in listing.text
    feed = feedparser.parse(client.get("/notices/feed/warning.atom").content)
    assert feed.bozo == 0 and [e.title for e in feed.entries] == ["暴雪蓝色预警"]
    cap = client.get(f"{path}/cap.xml")
    assert cap.headers["content-type"].startswith("application/cap+xml")
    schema = cap_schema()
    assert schema.validate(etree.fromstring(cap.content)), schema.error_log
    assert client.get("/notices/feed/notice.atom").status_code == 200
    # a notice that is not a warning has no CAP document
    other = service.create(world, kind="news", by=by(world, "author"), title="动态")
    assert client.get(f"/notices/{other.id}/cap.xml").status_code == 404
    assert client.get(f"/notices/{other.id}").status_code == 404  # a draft is not public


def test_a_bad_form_is_a_400_naming_the_field(client, world):
    login(client, "author")
    r = _post(client, "/notices/new", {"kind": "notice", "title": "x", "expires_at": "tomorrow"})
    assert r.status_code == 400 and "expires_at" in r.text
    r = _post(client, "/notices/new", {"kind": "notice", "title": "x", "unit_codes": ["1"]})
    assert r.status_code == 400 and "unit_codes" in r.text
    client.cookies.clear()
    login(client, "ha")
    assert _post(client, "/notices/new", {"kind": "notice", "title": "x"}).status_code == 403


def test_the_inbox_api_lists_a_person_s_notices_with_the_unread_count(client, world):
    assert client.get("/api/v1/notices/inbox").status_code == 401
    from .helpers import published

    first = published(world, title="一", audience="internal", unit_codes=[STREET_A])
    second = published(world, title="二", audience="internal", unit_codes=[STREET_A], pinned=True)
    published(world, title="别处", audience="internal", unit_codes=[STREET_B])
    published(world, title="公开")
    service.mark_read(world, first, by(world, "ha"))
    login(client, "ha")
    r = client.get("/api/v1/notices/inbox")
    assert r.status_code == 200
    body = r.json()
    assert [i["id"] for i in body["items"]] == [second.id, first.id]  # pinned first
    assert body["unread"] == 1 == service.unread_count(world, by(world, "ha"))
    assert body["items"][1]["read_at"] is not None and body["items"][0]["read_at"] is None
