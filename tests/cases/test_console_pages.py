"""The console page: its lists page by cursor (下一页, back to 第一页) with the total shown,
and its search runs over every case the user may see, whatever tab it is made from."""

import re

from sqlalchemy import select

from civicgrid.cases import pages
from civicgrid.cases.models import Case
from tests.factories import POINT_A, POINT_B, login, world

LINK = re.compile(r'href="/console/cases/([^"]+)"')
NEXT = re.compile(r'<a href="(/console\?[^"]+)" rel="next">')


def _report(client, point, phone=""):
    data = {"category": "06010", "lon": point[0], "lat": point[1]}
    if phone:
        data["phone"] = phone
    r = client.post("/api/v1/citizen/reports", data=data)
    assert r.status_code == 201, r.text
    return r.json()["code"]


def test_next_page_links_walk_the_whole_list_and_the_total_is_shown(client, session, monkeypatch):
    # Given seven cases and pages of three
    world(session)
    codes = {_report(client, POINT_A if i % 2 else POINT_B) for i in range(7)}
    monkeypatch.setattr(pages, "PAGE_SIZE", 3)
    login(client, "disp")
    for sort in ("deadline", "reported", "light"):
        # When the dispatcher follows 下一页 from the first page to the last
        url, seen, pages_seen = f"/console?queue=all&sort={sort}", [], 0
        while url:
            page = client.get(url.replace("&amp;", "&"))
            assert page.status_code == 200
            assert "共计 7" in page.text
            seen += LINK.findall(page.text)
            pages_seen += 1
            if pages_seen > 1:  # and from any later page back to the first
                assert 'rel="first">第一页' in page.text
            url = (m := NEXT.search(page.text)) and m.group(1)
        # Then every case was listed once, on three pages
        assert sorted(seen) == sorted(codes) and pages_seen == 3


def test_a_search_from_the_dispatch_tab_finds_a_closed_case(client, session):
    world(session)
    code = _report(client, POINT_A)
    session.execute(
        Case.__table__.update().where(Case.code == code).values(state="closed", deadline=None)
    )
    session.flush()
    login(client, "disp")
    page = client.get("/console", params={"queue": "to_dispatch"}).text
    assert f"/console/cases/{code}" not in page
    page = client.get("/console", params={"queue": "to_dispatch", "q": code}).text
    assert LINK.findall(page) == [code]
    assert "共计 1" in page


def test_the_phone_is_searched_for_contact_roles_only(client, session):
    world(session)
    code = _report(client, POINT_A, phone="13912345678")
    assert session.scalar(select(Case.code).where(Case.code == code))
    login(client, "disp")
    assert LINK.findall(client.get("/console", params={"q": "1234567"}).text) == [code]
    login(client, "ha")
    assert LINK.findall(client.get("/console", params={"q": "1234567"}).text) == []
