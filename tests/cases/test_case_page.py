"""The case page (issue #14 item 4): photos labelled 处置前 / 处置后 / 核查, each step by the
person's name, the rating with its score and comment, every urge."""

from __future__ import annotations

from civicgrid.cases import service as case_service
from civicgrid.citizen import service as citizen_service
from civicgrid.config import Settings
from tests.factories import COMMUNITY_A, POINT_A, STREET_A, login, user, world
from tests.images import jpeg


def photo(color):
    return [("photos", ("p.jpg", jpeg(color=color), "image/jpeg"))]


def test_the_case_page_shows_stages_people_rating_and_urges(client, session):
    # Given a handler and a supervisor known in the directory by their names
    world(session)
    user(session, "wangjg", ["handler"], STREET_A, name="王建国")
    user(session, "lihc", ["supervisor"], COMMUNITY_A, name="李核查")
    r = client.post(
        "/api/v1/citizen/reports",
        data={"category": "06010", "lon": POINT_A[0], "lat": POINT_A[1]},
        files=photo((200, 0, 0)),
    )
    code = r.json()["code"]
    # and a case urged twice, done with an after-photo, verified with a photo, rated
    login(client, "disp")
    for note in ("请尽快处理", "再次督办"):
        assert client.post(f"/api/v1/cases/{code}/urge", json={"note": note}).is_success
    login(client, "wangjg")
    assert client.post(f"/api/v1/cases/{code}/take", json={}).is_success
    r = client.post(
        f"/api/v1/cases/{code}/report-done", data={"note": "已清理"}, files=photo((0, 200, 0))
    )
    assert r.is_success, r.text
    login(client, "lihc")
    r = client.post(
        f"/api/v1/cases/{code}/verify-pass", data={"note": "现场干净"}, files=photo((0, 0, 200))
    )
    assert r.is_success, r.text

    case = case_service.get_case(session, code)
    citizen_service.rate(session, Settings(), case, score=4, comment="处理及时, 谢谢")
    session.flush()
    # When the dispatcher opens the case page
    login(client, "disp")
    page = client.get(f"/console/cases/{code}").text
    # Then the photos are labelled by stage
    for label in ("处置前", "处置后", "核查"):
        assert f"<figcaption>{label}</figcaption>" in page
    # each step names the person, not the account
    assert "王建国" in page and "李核查" in page
    assert "wangjg" not in page and "lihc" not in page
    # the rating with its score and comment, and both urges
    assert "4/5" in page and "处理及时, 谢谢" in page
    assert "督办 (2)" in page and "请尽快处理" in page and "再次督办" in page
