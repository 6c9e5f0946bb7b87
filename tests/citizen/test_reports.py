"""The public map of reports (/reports): the cases the public policy shows, by street, state
and category, held against an independent SQL query; each case's public page; an Atom feed
per street, validated."""

import feedparser
import pytest
from lxml import etree, html
from sqlalchemy import text

from civicgrid.kit.ratelimit import _memory
from tests.citizen.test_citizen import report
from tests.factories import POINT_A, POINT_B, STREET_A, STREET_B, login, world
from tests.open311.test_updates import finish

ATOM = "{http://www.w3.org/2005/Atom}"


def listed(client, **params) -> list[str]:
    r = client.get("/reports", params=params)
    assert r.status_code == 200, r.text
    page = html.fromstring(r.text)
    return [li.get("data-code") for li in page.xpath("//ul[@id='report-list']/li[@data-code]")]


def by_sql(session, *, street=None, states=None, category=None) -> list[str]:
    """The same list written apart: plain SQL over the cases table."""
    where, params = ["source IN ('citizen', 'open311')", "state <> 'rejected'"], {}
    if street:
        where.append("street_code = :street")
        params["street"] = street
    if states:
        where.append("state IN (" + ", ".join(f"'{s}'" for s in states) + ")")
    if category:
        where.append("category_code = :category")
        params["category"] = category
    sql = f"SELECT code FROM cases WHERE {' AND '.join(where)} ORDER BY reported_at DESC, id DESC"
    return list(session.execute(text(sql), params).scalars())


@pytest.fixture()
def cases(client, session):
    _memory.reset()
    world(session)
    a1 = report(client, category="06010").json()["code"]
    a2 = report(client, category="01001", description="井盖丢了").json()["code"]
    b1 = report(client, point=POINT_B, category="06010").json()["code"]
    login(client, "oper")
    internal = client.post(
        "/api/v1/cases",
        json={"category": "06010", "lon": POINT_A[0], "lat": POINT_A[1], "source": "hotline"},
    ).json()["code"]
    client.cookies.clear()
    finish(session, a1, public_note="已清理干净")
    session.commit()
    return {"a1": a1, "a2": a2, "b1": b1, "internal": internal}


def test_the_list_is_the_public_cases_by_street_state_and_category(client, session, cases):
    assert cases["internal"] not in listed(client)
    assert listed(client) == by_sql(session)
    assert listed(client, street=STREET_A) == by_sql(session, street=STREET_A)
    assert set(listed(client, street=STREET_A)) == {cases["a1"], cases["a2"]}
    assert listed(client, street=STREET_B) == [cases["b1"]]
    assert listed(client, state="closed") == by_sql(session, states=["closed"]) == [cases["a1"]]
    open_states = ["reported", "registered", "dispatched", "in_progress", "resolved", "suspended"]
    assert listed(client, state="open") == by_sql(session, states=open_states)
    assert listed(client, category="06010", street=STREET_A) == [cases["a1"]]
    assert listed(client, category="06010") == by_sql(session, category="06010")
    # an unknown filter value is no filter
    assert listed(client, street="nope", state="x") == by_sql(session)


def test_each_case_has_its_public_timeline_and_after_photo(client, session, cases):
    r = client.get("/reports")
    page = html.fromstring(r.text)
    [item] = page.xpath(f"//ul[@id='report-list']/li[@data-code='{cases['a1']}']")
    [after] = item.xpath(".//img[@class='after']")
    photo = client.get(after.get("src"))
    assert photo.status_code == 200 and photo.headers["content-type"] == "image/jpeg"
    one = client.get(f"/reports/{cases['a1']}")
    assert one.status_code == 200
    body = html.fromstring(one.text)
    steps = [li.text_content() for li in body.xpath("//ul[@id='timeline']/li")]
    assert any("已办结 — 已清理干净" in s for s in steps)
    assert not any("已清运" in s for s in steps)  # an internal note stays internal
    assert "13900002222" not in one.text  # never the reporter's phone
    assert len(body.xpath("//div[@id='photos']//img")) == 2  # before and after
    # an internal case is not found, as an unknown code
    assert client.get(f"/reports/{cases['internal']}").status_code == 404
    assert client.get("/reports/XF-NOPE").status_code == 404


def test_each_street_has_an_atom_feed(client, session, cases):
    r = client.get(f"/reports/feed/{STREET_A}.atom")
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/atom+xml")
    root = etree.fromstring(r.content)
    assert root.tag == f"{ATOM}feed"
    feed = feedparser.parse(r.content)
    assert feed.bozo == 0, feed.bozo_exception
    assert feed.version == "atom10"
    links = [e.link for e in feed.entries]
    assert {link.rsplit("/", 1)[1] for link in links} == {cases["a1"], cases["a2"]}
    # the latest changed first: the closed one
    assert feed.entries[0].link.endswith(cases["a1"]) and "已办结" in feed.entries[0].title
    assert all(e.id and e.updated for e in feed.entries)
    assert client.get("/reports/feed/000.atom").status_code == 404


def test_the_list_goes_on_page_by_page(client, session, cases, monkeypatch):
    """LIST_LIMIT a page, newest first, the filters kept in the links; the pages put together
    are the whole list of the independent query; a page that is not a number is the first."""
    from civicgrid.citizen import reports

    monkeypatch.setattr(reports, "LIST_LIMIT", 2)
    whole = by_sql(session)
    assert len(whole) == 3
    assert listed(client) == whole[:2] == listed(client, page="1") == listed(client, page="x")
    for odd in ("²", "٢", "0", "-1", "+2", " 2", "2.0", "401", "9" * 30):  # not a page: the first
        assert listed(client, page=odd) == whole[:2], odd
    monkeypatch.setattr(reports, "LIST_LIMIT", 1)
    assert listed(client, page="400") == [] and listed(client, page="3") == whole[2:]
    monkeypatch.setattr(reports, "LIST_LIMIT", 2)
    assert listed(client, page="2") == whole[2:]
    assert listed(client, page="3") == []
    first = html.fromstring(client.get("/reports").text)
    (after,) = first.xpath("//p[@id='reports-pager']/a[@rel='next']/@href")
    assert after == "/reports?street=&state=&category=&page=2"
    assert not first.xpath("//a[@rel='prev']")
    monkeypatch.setattr(reports, "LIST_LIMIT", 1)  # the filters go with the page
    opened = by_sql(session, states=["reported", "registered", "dispatched", "in_progress"])
    assert len(opened) == 2
    assert listed(client, state="open", page="2") == opened[1:]
    only = html.fromstring(client.get("/reports", params={"state": "open"}).text)
    assert only.xpath("//a[@rel='next']/@href") == ["/reports?street=&state=open&category=&page=2"]
    monkeypatch.setattr(reports, "LIST_LIMIT", 2)
    second = html.fromstring(client.get("/reports", params={"page": "2"}).text)
    assert second.xpath("//p[@id='reports-pager']/a[@rel='prev']/@href") == [
        "/reports?street=&state=&category=&page=1"
    ]
    assert not second.xpath("//a[@rel='next']")
    assert "第 2 页" in second.xpath("string(//p[@id='reports-count'])")
    # one page of everything: no pager
    monkeypatch.setattr(reports, "LIST_LIMIT", 200)
    assert not html.fromstring(client.get("/reports").text).xpath("//p[@id='reports-pager']")
