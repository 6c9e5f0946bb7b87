"""What anonymous Open311 reads show (issue 12, item 14; README "Open311: what the public
sees"): cases of the public sources only, photos as `public_photos` says, reporters never."""

import xml.etree.ElementTree as ET

import pytest
from sqlalchemy import select

from civicgrid.cases import workflow
from civicgrid.media.models import Photo
from tests.factories import login
from tests.open311.conftest import REPORTER, a_case

V2 = "/open311/v2"
ORIGIN = {"Origin": "http://testserver"}  # a same-site form post, as the console sends


@pytest.fixture()
def every_source(session, district):
    """One case of each source, each with a report photo and the reporter's contact."""
    return {source: a_case(session, source, photos=1) for source in workflow.SOURCES}


def listed(client, fmt="json") -> set[str]:
    r = client.get(f"{V2}/requests.{fmt}", params={"page_size": 1000})
    assert r.status_code == 200
    if fmt == "xml":
        return {e.text for e in ET.fromstring(r.content).iter("service_request_id")}
    return {x["service_request_id"] for x in r.json()}


def photos_of(session, case) -> list[Photo]:
    return list(session.scalars(select(Photo).where(Photo.case_id == case.id).order_by(Photo.id)))


def photo_of(session, case) -> Photo:
    [photo] = photos_of(session, case)
    return photo


def test_by_default_only_citizen_and_open311_cases_are_public(client, session, every_source):
    # Given a case of every source
    public = {every_source["citizen"].code, every_source["open311"].code}
    internal = {c.code for s, c in every_source.items() if s not in ("citizen", "open311")}
    assert internal, "some source is internal by default"

    # When the list is read anonymously, in both formats
    # Then it holds the citizen and Open311 cases only
    assert listed(client) == public
    assert listed(client, "xml") == public
    # and asking for the internal ones by id finds nothing
    r = client.get(f"{V2}/requests.json", params={"service_request_id": ",".join(internal)})
    assert r.status_code == 200 and r.json() == []


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_an_internal_case_is_404_like_a_missing_one(client, session, every_source, fmt):
    hotline = every_source["hotline"]
    for path in (f"requests/{{}}.{fmt}", f"tokens/{{}}.{fmt}"):
        # When an internal case and a code that does not exist are asked for
        inside = client.get(f"{V2}/" + path.format(hotline.code))
        missing = client.get(f"{V2}/" + path.format("XF20991231-999999"))
        # Then both are the same 404, so that an internal code cannot be told from no code
        assert inside.status_code == missing.status_code == 404
        assert inside.text.replace(hotline.code, "?") == missing.text.replace(
            "XF20991231-999999", "?"
        )
    # and its photo is not served either
    photo = photo_of(session, hotline)
    assert client.get(f"{V2}/media/{hotline.code}/{photo.id}.jpg").status_code == 404


def test_the_public_sources_are_a_setting(client, session, every_source, env):
    # Given only citizen and hotline cases public
    env(open311_public_sources="citizen,hotline")
    # Then those are listed and readable, the Open311 one no longer
    assert listed(client) == {every_source["citizen"].code, every_source["hotline"].code}
    assert client.get(f"{V2}/requests/{every_source['hotline'].code}.json").status_code == 200
    assert client.get(f"{V2}/requests/{every_source['open311'].code}.json").status_code == 404
    # and with none public, nothing is
    env(open311_public_sources="")
    assert listed(client) == set()


def test_an_unknown_source_in_the_setting_is_refused(monkeypatch):
    from civicgrid.app import create_app

    monkeypatch.setenv("CIVICGRID_OPEN311_PUBLIC_SOURCES", "citizen,citzen")
    with pytest.raises(ValueError, match="citzen is not a source"):
        create_app()


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_no_reporter_data_in_any_anonymous_answer(client, session, every_source, env, fmt):
    # Given every source public, so that every case is read
    env(open311_public_sources=",".join(workflow.SOURCES))
    answers = [client.get(f"{V2}/requests.{fmt}", params={"page_size": 1000})]
    for case in every_source.values():
        answers.append(client.get(f"{V2}/requests/{case.code}.{fmt}"))
        answers.append(client.get(f"{V2}/tokens/{case.code}.{fmt}"))
    # Then no answer carries the reporter's name, phone (whole or in part) or e-mail
    for r in answers:
        assert r.status_code == 200
        for private in (*REPORTER.values(), REPORTER["phone"][-4:], "wxm"):
            assert private not in r.text, (private, r.url)


def test_photos_all_shows_every_report_photo_of_a_public_case(client, session, every_source):
    citizen = every_source["citizen"]
    photo = photo_of(session, citizen)
    req = client.get(f"{V2}/requests/{citizen.code}.json").json()[0]
    assert req["media_url"].endswith(f"/open311/v2/media/{citizen.code}/{photo.id}.jpg")
    r = client.get(req["media_url"])
    assert r.status_code == 200 and r.headers["content-type"] == "image/jpeg"


def test_photos_none_shows_no_photo(client, session, every_source, env):
    env(public_photos="none")
    citizen = every_source["citizen"]
    photo = photo_of(session, citizen)
    assert client.get(f"{V2}/requests/{citizen.code}.json").json()[0]["media_url"] is None
    assert all(x["media_url"] is None for x in client.get(f"{V2}/requests.json").json())
    assert client.get(f"{V2}/media/{citizen.code}/{photo.id}.jpg").status_code == 404


def test_after_review_shows_a_photo_once_a_dispatcher_marked_it(client, session, district, env):
    # Given photos shown after review, and a citizen's case with two photos
    env(public_photos="after_review")
    case = a_case(session, "citizen", photos=2)
    first, second = photos_of(session, case)
    read = lambda: client.get(f"{V2}/requests/{case.code}.json").json()[0]  # noqa: E731
    media = lambda p: client.get(f"{V2}/media/{case.code}/{p.id}.jpg").status_code  # noqa: E731

    # Then before review no photo is shown
    assert read()["media_url"] is None
    assert media(first) == media(second) == 404

    # When the dispatcher marks the second photo public
    login(client, "disp")
    r = client.post(f"/api/v1/cases/{case.code}/photos/{second.id}/public", headers=ORIGIN, json={})
    assert r.status_code == 200, r.text
    assert r.json()["public"] is True and r.json()["public_by"] == "disp"
    assert r.json()["public_at"].endswith("+08:00")
    client.cookies.clear()

    # Then the second photo is shown (and served), the first still not
    assert read()["media_url"].endswith(f"/{second.id}.jpg")
    assert media(second) == 200 and media(first) == 404
    listed_case = client.get(f"{V2}/requests.json").json()[0]
    assert listed_case["media_url"].endswith(f"/{second.id}.jpg")

    # When it is withdrawn
    login(client, "disp")
    r = client.post(
        f"/api/v1/cases/{case.code}/photos/{second.id}/public",
        headers=ORIGIN,
        json={"public": False},
    )
    assert r.status_code == 200 and r.json()["public"] is False
    client.cookies.clear()
    # Then it is hidden again
    assert read()["media_url"] is None and media(second) == 404


def test_a_photo_of_an_internal_case_is_never_shown_even_when_marked(
    client, session, district, env
):
    env(public_photos="after_review")
    hotline = a_case(session, "hotline", photos=1)
    photo = photo_of(session, hotline)
    photo.public = True
    session.flush()
    assert client.get(f"{V2}/media/{hotline.code}/{photo.id}.jpg").status_code == 404


# ---- marking a photo public: who may --------------------------------------------------------


def mark(client, case, photo_id, **body):
    return client.post(
        f"/api/v1/cases/{case.code}/photos/{photo_id}/public", headers=ORIGIN, json=body
    )


def test_anonymous_gets_401_and_other_roles_403(client, session, district):
    case = a_case(session, "citizen", photos=1)
    photo = photo_of(session, case)
    assert mark(client, case, photo.id).status_code == 401
    for username in ("ha", "sup", "oper", "lead"):
        login(client, username)
        assert mark(client, case, photo.id).status_code == 403, username
        client.cookies.clear()
    session.refresh(photo)
    assert photo.public is False and photo.public_by is None


@pytest.mark.parametrize("username", ["disp", "boss"])
def test_a_dispatcher_or_admin_marks_a_photo_recording_who_and_when(
    client, session, district, username
):
    # Given a case with a photo
    case = a_case(session, "citizen", photos=1)
    photo = photo_of(session, case)
    # When a dispatcher (or an admin) marks it public
    login(client, username)
    r = mark(client, case, photo.id)
    # Then the photo row says it is, by whom and when
    assert r.status_code == 200, r.text
    session.refresh(photo)
    assert photo.public is True and photo.public_by == username and photo.public_at is not None
    # and marking it again keeps the first review
    first_at = photo.public_at
    assert mark(client, case, photo.id).status_code == 200
    session.refresh(photo)
    assert photo.public_at == first_at


def test_another_cases_photo_is_404(client, session, district):
    # Given two cases with a photo each
    case, other = a_case(session, "citizen", photos=1), a_case(session, "citizen", photos=1)
    other_photo = photo_of(session, other)
    # When the dispatcher marks the other case's photo through the first case
    login(client, "disp")
    r = mark(client, case, other_photo.id)
    # Then it is 404 and nothing changes
    assert r.status_code == 404, r.text
    assert mark(client, case, 2**31 - 1).status_code == 404
    session.refresh(other_photo)
    assert other_photo.public is False
