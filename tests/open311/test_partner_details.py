"""GeoReport v2 details a partner (FixMyStreet) relies on: nothing it sends is lost."""

import xmltodict

from civicgrid.cases import service as case_service
from tests.open311.test_open311 import post

V2 = "/open311/v2"


def code_of(r) -> str:
    assert r.status_code == 201, r.text
    return r.json()[0]["service_request_id"]


def test_blank_optional_attributes_are_absent_and_unknown_ones_kept(client, session, api_key):
    # FixMyStreet sends every attribute it stores, the optional ones blank, and its own
    code = code_of(
        post(
            client,
            api_key,
            service_code="10001",
            **{"attribute[deicing_salt]": "", "attribute[fixmystreet_id]": "4711"},
        )
    )
    report = case_service.events_of(session, case_service.get_case(session, code))[0]
    assert report.payload["attributes"] == {"fixmystreet_id": ["4711"]}
    # a required one left blank is still missing
    r = post(client, api_key, service_code="01002", **{"attribute[cover_state]": " "})
    assert r.status_code == 400 and "attribute[cover_state] is required" in r.text


def test_strict_mode_refuses_unknown_attributes(client, api_key, env):
    env(open311_strict_attributes="true")
    r = post(client, api_key, service_code="10001", **{"attribute[colour]": "red"})
    assert r.status_code == 400
    assert "attribute[colour] is not an attribute of service 10001" in r.text


def test_a_list_of_ids_is_answered_whole(client, api_key):
    codes = [code_of(post(client, api_key)) for _ in range(3)]
    listed = ",".join(codes)
    found = client.get(
        f"{V2}/requests.json", params={"service_request_id": listed, "page_size": "1"}
    ).json()
    assert sorted(r["service_request_id"] for r in found) == sorted(codes)
    too_many = ",".join(f"XF20260101-{n:06d}" for n in range(1001))
    r = client.get(f"{V2}/requests.xml", params={"service_request_id": too_many})
    assert r.status_code == 400 and "at most 1000" in r.text


def test_discovery_and_unknown_paths(client):
    url = client.get("/open311/discovery.json").json()["endpoints"][0]["url"]
    assert url.endswith("/open311/v2/")
    r = client.get(f"{V2}/nothing.xml")
    assert r.status_code == 404 and r.headers["content-type"].startswith("text/xml")
    assert xmltodict.parse(r.text)["errors"]["error"]["code"] == "404"
    r = client.get(f"{V2}/requests/a/b.json")
    assert r.status_code == 404 and r.json()[0]["code"] == 404
    r = client.delete(f"{V2}/services.xml")
    assert r.status_code == 405 and xmltodict.parse(r.text)["errors"]["error"]["code"] == "405"


def test_the_reporters_email_is_shown_to_those_who_see_the_phone(client, api_key):
    from tests.factories import login

    code = code_of(post(client, api_key, email="ann@example.org", first_name="Ann"))
    login(client, "disp")
    contact = client.get(f"/api/v1/cases/{code}").json()["contact"]
    assert contact["email"] == "ann@example.org" and contact["name"] == "Ann"
    assert "ann@example.org" in client.get(f"/console/cases/{code}").text
    client.post("/api/v1/auth/logout")
    client.cookies.clear()
    login(client, "ha")  # a handler of the street: the phone masked, no e-mail
    contact = client.get(f"/api/v1/cases/{code}").json()["contact"]
    assert contact["email"] == "" and contact["name"] == "A**"
