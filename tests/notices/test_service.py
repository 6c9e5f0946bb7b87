"""Notices: the life of a notice, its audience and read receipts, its content and versions,
its attachments, the Atom feed and the CAP 1.2 document of a warning."""

from __future__ import annotations

import datetime as dt

import feedparser
import pytest
from lxml import etree
from lxml import html as lxml_html
from sqlalchemy import text

from civicgrid.config import Settings
from civicgrid.kit.db import utcnow
from civicgrid.media import service as media_service
from civicgrid.media.exceptions import BadDocument, BadPhoto
from civicgrid.notices import content, feeds, service
from civicgrid.notices.exceptions import BadNotice, NotAllowed, WrongState
from civicgrid.ops.backup import check_photos
from tests.factories import STREET_A, STREET_B
from tests.images import png

from .helpers import (
    HOSTILE_MD,
    by,
    cap_schema,
    docx_bytes,
    fake_pdf_bytes,
    notices_world,
    pdf_bytes,
    published,
)


@pytest.fixture()
def world(session):
    notices_world(session)
    return session


def test_kinds_are_data_with_their_review_rule(world):
    kinds = {k.code: k for k in service.kinds(world)}
    assert [k.name for k in service.kinds(world)] == [
        "通知公告",
        "工作动态",
        "政策法规",
        "预警信息",
    ]
    assert kinds["warning"].warning and not kinds["notice"].warning
    assert kinds["notice"].distinct_reviewer and not kinds["news"].distinct_reviewer


def test_a_notice_goes_from_draft_to_published_with_who_and_when_at_each_step(world):
    author, chief = by(world, "author"), by(world, "chief")
    notice = service.create(world, kind="notice", by=author, title="停水通知", body="明日停水")
    with pytest.raises(WrongState):
        service.step(world, notice, "publish", by=chief)
    service.step(world, notice, "submit", by=author)
    with pytest.raises(NotAllowed):
        service.step(world, notice, "approve", by=author)  # not a reviewer
    service.step(world, notice, "return", by=chief, note="补充时间")
    assert notice.state == "draft"
    service.step(world, notice, "submit", by=author)
    service.step(world, notice, "approve", by=chief)
    service.step(world, notice, "publish", by=chief)
    assert notice.state == "published" and service.is_shown(notice)
    steps = [(s.action, s.from_state, s.to_state, s.by) for s in service.steps(world, notice)]
    assert steps == [
        ("create", None, "draft", "author"),
        ("submit", "draft", "submitted", "author"),
        ("return", "submitted", "draft", "chief"),
        ("submit", "draft", "submitted", "author"),
        ("approve", "submitted", "approved", "chief"),
        ("publish", "approved", "published", "chief"),
    ]
    rows = world.execute(
        text("SELECT count(*) FROM notice_steps WHERE notice_id = :n AND at IS NOT NULL"),
        {"n": notice.id},
    ).scalar()
    assert rows == 6
    service.step(world, notice, "withdraw", by=chief)
    assert not service.is_shown(notice) and service.public(world) == []


def test_the_reviewer_must_be_another_person_when_the_kind_says_so(world):
    chief = by(world, "chief")
    notice = service.create(world, kind="policy", by=chief, title="条例")
    service.step(world, notice, "submit", by=chief)
    with pytest.raises(NotAllowed, match="起草人以外"):
        service.step(world, notice, "approve", by=chief)
    service.step(world, notice, "approve", by=by(world, "boss"))
    news = service.create(world, kind="news", by=chief, title="动态")
    service.step(world, news, "submit", by=chief)
    service.step(world, news, "approve", by=chief)  # 工作动态: the author may approve
    assert news.state == "approved"


def test_scheduled_publishing_and_expiry(world):
    now = utcnow()
    later = published(world, title="明天发布", publish_at=now + dt.timedelta(days=1))
    assert later.state == "published" and not service.is_shown(later)
    soon = published(world, title="即将过期", expires_at=now + dt.timedelta(hours=1))
    assert [n.id for n in service.public(world)] == [soon.id]
    assert service.expire_due(world, now + dt.timedelta(hours=2)) == 1
    assert soon.state == "expired"
    assert service.steps(world, soon)[-1].by == "system"


def test_pinned_notices_come_first(world):
    first = published(world, title="置顶", pinned=True)
    second = published(world, title="新的")
    assert [n.id for n in service.public(world)] == [first.id, second.id]


def test_an_internal_notice_reaches_its_units_with_their_sub_units_and_roles(world):
    notice = published(
        world, title="内部通知", audience="internal", unit_codes=[STREET_A, STREET_B]
    )
    names = {r.username for r in service.receipts(world, notice)}
    # independent: every account whose person sits at or under street A or B
    expected = {
        row[0]
        for row in world.execute(
            text(
                "SELECT u.username FROM users u JOIN people p ON p.id = u.person_id "
                "JOIN org_units o ON o.id = p.org_unit_id "
                "WHERE o.path LIKE :a OR o.path LIKE :b"
            ),
            {"a": f"%/{STREET_A}/%", "b": f"%/{STREET_B}/%"},
        )
    }
    assert names == expected == {"ha", "hc", "hb", "sup"}
    handlers_only = published(
        world, title="仅处置", audience="internal", unit_codes=[STREET_B], roles=["handler"]
    )
    assert {r.username for r in service.receipts(world, handlers_only)} == {"hb"}
    assert service.public(world) == []  # internal notices are not public
    nobody = service.create(
        world, kind="news", by=by(world, "chief"), title="无", audience="internal"
    )
    service.step(world, nobody, "submit", by=by(world, "chief"))
    service.step(world, nobody, "approve", by=by(world, "chief"))
    with pytest.raises(BadNotice, match="unit_codes"):
        service.step(world, nobody, "publish", by=by(world, "chief"))
    assert nobody.state == "approved"
    assert service.may_read(world, notice, by(world, "hc"))  # a reader (community A)
    assert service.may_read(world, notice, by(world, "author"))  # an editor
    assert not service.may_read(world, handlers_only, by(world, "sup"))  # not a handler
    assert not service.may_read(world, handlers_only, None)


def test_read_receipts_unread_counts_and_a_reminder_to_the_not_yet_read(world):
    notice = published(world, title="请阅", audience="internal", unit_codes=[STREET_A, STREET_B])
    ha, hb = by(world, "ha"), by(world, "hb")
    assert service.unread_count(world, ha) == service.unread_count(world, hb) == 1
    assert service.mark_read(world, notice, ha)
    assert service.unread_count(world, ha) == 0 and service.unread_count(world, hb) == 1
    assert service.remind(world, notice, by=by(world, "chief")) == 3
    receipts = {r.username: r for r in service.receipts(world, notice)}
    assert receipts["ha"].read_at is not None and receipts["ha"].reminders == 0
    assert receipts["hb"].read_at is None and receipts["hb"].reminders == 1
    assert receipts["hb"].reminded_at is not None
    assert not service.mark_read(world, notice, by(world, "author"))  # not a reader
    with pytest.raises(NotAllowed):
        service.remind(world, notice, by=hb)


def test_hostile_markdown_is_neutralised():
    html = content.render(HOSTILE_MD)
    tree = lxml_html.fragment_fromstring(html, create_parent="div")
    assert tree.xpath("//script | //img | //iframe") == []
    assert [a for e in tree.iter() for a in e.attrib if a.lower().startswith("on")] == []
    hrefs = [e.get("href") for e in tree.iter("a")]
    assert hrefs == ["https://example.org/a"]  # javascript: and data: links are not links
    assert "<strong>正文</strong>" in html and 'rel="noopener noreferrer nofollow"' in html
    assert "&lt;script&gt;" in html  # raw HTML is shown as text
    # an attachment's image, by its path on this site, stays an image
    assert '<img src="/notices/1/files/2" alt="图">' in content.render("![图](/notices/1/files/2)")
    # nh3 alone, given raw HTML, keeps only what is allowed
    cleaned = content.nh3.clean(
        '<p onclick="x()">a<script>b()</script><a href="javascript:c()">d</a></p>',
        tags=content.TAGS,
        attributes=content.ATTRIBUTES,
        url_schemes=content.URL_SCHEMES,
    )
    assert "onclick" not in cleaned and "script" not in cleaned and "javascript" not in cleaned


def test_edits_are_versions_and_only_drafts_change(world):
    author = by(world, "author")
    notice = service.create(world, kind="notice", by=author, title="初稿", body="一")
    service.edit(world, notice, by=author, title="二稿", body="二")
    service.edit(world, notice, by=author, pinned=True)  # no new text: no new version
    assert [(v.number, v.title, v.body) for v in service.versions(world, notice)] == [
        (2, "二稿", "二"),
        (1, "初稿", "一"),
    ]
    with pytest.raises(NotAllowed):
        service.edit(world, notice, by=by(world, "ha"), title="x")
    with pytest.raises(BadNotice, match="title"):
        service.edit(world, notice, by=author, title=" ")
    with pytest.raises(BadNotice, match="unit_codes"):
        service.edit(world, notice, by=author, unit_codes=["999"])
    service.step(world, notice, "submit", by=author)
    with pytest.raises(WrongState):
        service.edit(world, notice, by=author, title="晚了")


def test_attachments_are_checked_by_content(world):
    settings = Settings()
    author = by(world, "author")
    notice = service.create(world, kind="notice", by=author, title="附件")
    pdf = service.attach(world, settings, notice, filename="a.pdf", data=pdf_bytes(), by=author)
    assert pdf.content_type == "application/pdf" and pdf.key.startswith("documents/")
    docx = service.attach(world, settings, notice, filename="b.docx", data=docx_bytes(), by=author)
    assert docx.content_type.endswith("wordprocessingml.document")
    photo = service.attach(world, settings, notice, filename="c.png", data=png(), by=author)
    assert photo.content_type == "image/jpeg" and photo.filename == "c.jpg"
    with pytest.raises(BadDocument):
        service.attach(world, settings, notice, filename="d.pdf", data=fake_pdf_bytes(), by=author)
    with pytest.raises(BadDocument):  # a real PDF named as a Word file
        service.attach(world, settings, notice, filename="e.docx", data=pdf_bytes(), by=author)
    with pytest.raises(BadDocument):
        service.attach(world, settings, notice, filename="f.html", data=b"<p>x</p>", by=author)
    with pytest.raises(BadPhoto):  # named as an image, not one
        service.attach(world, settings, notice, filename="g.png", data=b"\x89PNGxx", by=author)
    small = Settings(document_max_bytes=10)
    with pytest.raises(BadDocument, match="MB"):
        service.attach(world, small, notice, filename="a.pdf", data=pdf_bytes(), by=author)
    assert [a.filename for a in service.attachments(world, notice)] == ["a.pdf", "b.docx", "c.jpg"]


def test_the_sweep_keeps_attachments_and_restores_check_them(world):
    settings = Settings()
    author = by(world, "author")
    notice = service.create(world, kind="notice", by=author, title="附件")
    pdf = service.attach(world, settings, notice, filename="a.pdf", data=pdf_bytes(), by=author)
    store = media_service.storage(settings)
    orphan = "documents/20261130/orphan.pdf"  # a file whose transaction never committed
    store.put(orphan, pdf_bytes())
    removed = media_service.sweep(world, settings)
    assert orphan in removed and pdf.key not in removed
    assert store.get(pdf.key) == pdf_bytes()
    checked, problems = check_photos(world, store)
    assert (checked, problems) == (1, [])
    store.put(pdf.key, b"changed")
    assert check_photos(world, store)[1] == [f"{pdf.key}: sha256 differs from the document row"]


def test_the_atom_feed_of_a_kind_reads_in_a_feed_parser(world):
    first = published(world, kind="news", title="动态一", body="**一**")
    second = published(world, kind="news", title="动态二 <b>&</b>", body="二")
    published(world, kind="notice", title="别的类型")
    kind = service.get_kind(world, "news")
    feed = feedparser.parse(feeds.atom(kind, service.public(world, kind=kind), "http://x.test"))
    assert feed.bozo == 0, feed.bozo_exception
    assert feed.version == "atom10"
    assert [e.title for e in feed.entries] == ["动态二 <b>&</b>", "动态一"]
    assert feed.entries[1].link == f"http://x.test/notices/{first.id}"
    assert feed.entries[0].id.endswith(f"/notices/{second.id}")


def test_a_warning_s_cap_document_is_valid_cap_1_2(world):
    warning = published(
        world,
        kind="warning",
        title="暴雪橙色预警",
        body="预计今夜 **大雪**",
        area_codes=[STREET_A, STREET_B],
        urgency="Expected",
        severity="Severe",
        certainty="Likely",
        expires_at=utcnow() + dt.timedelta(days=1),
    )
    kind = service.get_kind(world, "warning")
    document = feeds.cap(
        warning, kind, feeds.cap_areas(world, warning), base_url="http://x.test", sender="cg@x"
    )
    tree = etree.fromstring(document)
    schema = cap_schema()
    assert schema.validate(tree), schema.error_log
    ns = {"c": feeds.CAP_NS}
    assert tree.findtext("c:msgType", namespaces=ns) == "Alert"
    assert tree.findtext("c:info/c:severity", namespaces=ns) == "Severe"
    areas = tree.findall("c:info/c:area", namespaces=ns)
    assert [a.findtext("c:areaDesc", namespaces=ns) for a in areas] == [
        n
        for n in world.execute(
            text("SELECT name FROM areas WHERE code IN (:a, :b) ORDER BY code"),
            {"a": STREET_A, "b": STREET_B},
        ).scalars()
    ]
    ring = areas[0].findtext("c:polygon", namespaces=ns).split()
    assert ring[0] == ring[-1] and len(ring) >= 4
    lat, lon = map(float, ring[0].split(","))
    assert 45 < lat < 46 and 126 < lon < 127  # latitude first
    service.step(world, warning, "withdraw", by=by(world, "chief"))
    cancel = etree.fromstring(
        feeds.cap(warning, kind, feeds.cap_areas(world, warning), base_url="http://x", sender="s")
    )
    assert schema.validate(cancel), schema.error_log
    assert cancel.findtext("c:msgType", namespaces=ns) == "Cancel"


def test_a_snow_forecast_can_publish_a_warning_in_one_go(world):
    warning = service.publish_warning(
        world, title="降雪预警", body="明日大雪", by=by(world, "chief"), area_codes=[]
    )
    assert warning.state == "published" and warning.audience == "public"
    areas = feeds.cap_areas(world, warning)
    assert [name for name, _ in areas] == ["示例区"]
    with pytest.raises(BadNotice, match="severity"):
        service.create(world, kind="warning", by=by(world, "chief"), title="x", severity="Huge")
    with pytest.raises(BadNotice, match="area_codes"):
        service.create(world, kind="warning", by=by(world, "chief"), title="x", area_codes=["9"])
