"""Open311's own inputs (issue 12, items 7, 9 and 22): every form field held to kit.text's rule
and to its cap, every date and number parameter bounded; each refusal the spec's error
document with 400, never a 500, and nothing written."""

import xml.etree.ElementTree as ET

import pytest
from sqlalchemy import func, select

from civicgrid.cases.models import Case
from civicgrid.open311.api import FIELD_MAX, LIST_MAX, NAME_MAX, PAGE_MAX, PAGE_SIZE_MAX
from tests.open311.test_open311 import V2, post

TEXT_FIELDS = [
    "description",
    "address_string",
    "first_name",
    "last_name",
    "email",
    "phone",
    "device_id",
    "account_id",
    "media_url",
    "address_id",
]


def cases_in(session) -> int:
    return session.scalar(select(func.count(Case.id)))


def refused(r, *needles: str) -> str:
    """The description of a GeoReport 400 error document (JSON or XML)."""
    assert r.status_code == 400, r.text
    if r.headers["content-type"].startswith("text/xml"):
        error = ET.fromstring(r.content).find("error")
        assert error.findtext("code") == "400"
        text = error.findtext("description")
    else:
        [error] = r.json()
        assert error["code"] == 400
        text = error["description"]
    for needle in needles:
        assert needle in text, text
    return text


@pytest.mark.parametrize("fmt", ["json", "xml"])
@pytest.mark.parametrize("char", ["\x00", "\x0b", "\x1b", "\x7f", "\x85", "\ufffd"])
def test_a_control_character_in_any_field_is_refused(client, session, api_key, fmt, char):
    # Given no report yet
    before = cases_in(session)
    for field in [*TEXT_FIELDS, "attribute[deicing_salt]"]:
        # When a field carries the character (undecodable bytes arrive as U+FFFD)
        r = post(client, api_key, fmt=fmt, service_code="10001", **{field: f"ab{char}cd"})
        # Then the answer is 400 naming the field and the character
        refused(r, field, f"U+{ord(char):04X}")
    # and nothing was written
    assert cases_in(session) == before


def test_undecodable_bytes_in_a_form_are_refused(client, session, api_key):
    # Given a url-encoded body whose description is not UTF-8
    body = (
        f"api_key={api_key}&service_code=06010&lat=45.7029325&long=126.6988839"
        "&description=%FF%FEbad"
    )
    # When it is posted
    r = client.post(
        f"{V2}/requests.json",
        content=body,
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    # Then it is refused, naming the field
    refused(r, "description", "U+FFFD")


def test_a_line_break_is_kept_in_the_description_only(client, api_key):
    # Given a description of two lines, and an address of two
    # When each is posted
    ok = post(client, api_key, description="井盖\r\n缺失\t两处")
    bad = post(client, api_key, address_string="香坊大街\n12号")
    # Then the description is taken, the address refused
    assert ok.status_code == 201, ok.text
    refused(bad, "address_string", "U+000A")


@pytest.mark.parametrize("field", sorted(set(TEXT_FIELDS) - {"phone", "media_url", "email"}))
def test_each_field_takes_its_cap_and_no_more(client, session, api_key, field):
    cap = FIELD_MAX[field]
    # Given a value exactly at the field's cap
    at_cap = post(client, api_key, **{field: "字" * cap})
    # Then it is taken
    assert at_cap.status_code == 201, (field, at_cap.text)
    # When it is one character longer
    before = cases_in(session)
    over = post(client, api_key, **{field: "字" * (cap + 1)})
    # Then it is refused, naming the field and the cap, and nothing is written
    refused(over, field, str(cap))
    assert cases_in(session) == before


def test_the_caps_of_email_media_url_and_phone(client, api_key):
    # email and media_url at their caps are taken, one more is refused
    email = "a" * (FIELD_MAX["email"] - len("@example.org")) + "@example.org"
    url = "https://example.org/" + "p" * (FIELD_MAX["media_url"] - len("https://example.org/"))
    assert post(client, api_key, email=email, media_url=url).status_code == 201
    refused(post(client, api_key, email="a" + email), "email", str(FIELD_MAX["email"]))
    refused(post(client, api_key, media_url=url + "p"), "media_url", str(FIELD_MAX["media_url"]))
    # a phone longer than its cap is refused before its format is looked at
    refused(post(client, api_key, phone="1" * 41), "phone", str(FIELD_MAX["phone"]))


def test_first_and_last_name_together_are_capped(client, api_key):
    # Given two names each within the cap, together over it
    half = "名" * (NAME_MAX // 2)
    # Then together they are refused, naming both
    refused(post(client, api_key, first_name=half, last_name=half), "first_name + last_name")
    assert post(client, api_key, first_name=half, last_name=half[1:]).status_code == 201


def test_media_url_must_be_a_web_address(client, api_key):
    for url in ("javascript:alert(1)", "file:///etc/passwd", "//example.org/p.jpg"):
        refused(post(client, api_key, media_url=url), "media_url")
    assert post(client, api_key, media_url="HTTPS://example.org/p.jpg").status_code == 201


def test_an_attribute_value_is_capped(client, api_key):
    r = post(client, api_key, service_code="10001", **{"attribute[deicing_salt]": "y" * 101})
    refused(r, "attribute[deicing_salt]", "100")


# ---- GET requests: dates, pages, lists --------------------------------------------------


def get(client, fmt="json", **params):
    return client.get(f"{V2}/requests.{fmt}", params=params)


@pytest.mark.parametrize("fmt", ["json", "xml"])
@pytest.mark.parametrize("name", ["start_date", "end_date", "updated_after"])
@pytest.mark.parametrize(
    "value",
    ["0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z", "1999-12-31", "2100-01-01T00:00:00+08:00"],
)
def test_a_date_outside_the_years_2000_to_2099_is_400_naming_the_range(
    client, api_key, fmt, name, value
):
    refused(get(client, fmt, **{name: value}), name, "2000", "2099")


def test_dates_at_the_edges_of_the_range_are_taken(client, api_key):
    assert get(client, start_date="2099-10-10", end_date="2099-12-31T23:59:59Z").status_code == 200
    assert get(client, updated_after="2000-01-01T00:00:00+08:00").status_code == 200
    refused(get(client, start_date="next week"), "start_date", "ISO 8601")


@pytest.mark.parametrize("fmt", ["json", "xml"])
@pytest.mark.parametrize(
    "params",
    [
        {"page": str(10**20)},
        {"page": str(PAGE_MAX + 1)},
        {"page": "0"},
        {"page": "-1"},
        {"page": "1e3"},
        {"page": "2.0"},
        {"page": "1_0"},
        {"page": "٣"},  # an Arabic-Indic three: a digit to Python, not to the spec
        {"page": "9" * 5000},
        {"page_size": "0"},
        {"page_size": str(PAGE_SIZE_MAX + 1)},
        {"page_size": str(10**20)},
    ],
    ids=lambda p: f"{next(iter(p))}={next(iter(p.values()))[:24]}",
)
def test_page_and_page_size_outside_their_range_are_400(client, api_key, fmt, params):
    name = next(iter(params))
    most = PAGE_MAX if name == "page" else PAGE_SIZE_MAX
    refused(get(client, fmt, **params), name, f"1 to {most}")


def test_the_largest_page_and_page_size_are_answered(client, api_key):
    post(client, api_key)
    r = get(client, page=str(PAGE_MAX), page_size=str(PAGE_SIZE_MAX))
    assert r.status_code == 200 and r.json() == []
    assert len(get(client, page="1", page_size=str(PAGE_SIZE_MAX)).json()) == 1


@pytest.mark.parametrize("name", ["service_request_id", "service_code"])
def test_at_most_1000_items_in_a_list(client, api_key, name):
    code = post(client, api_key).json()[0]["service_request_id"]
    # Given a list of exactly LIST_MAX items, one of them a real request
    items = [code if name == "service_request_id" else "06010"] + [
        f"X{n}" for n in range(LIST_MAX - 1)
    ]
    # Then it is answered
    r = get(client, **{name: ",".join(items)})
    assert r.status_code == 200 and [x["service_request_id"] for x in r.json()] == [code]
    # and one more item is 400, saying the limit
    refused(get(client, **{name: ",".join([*items, "X"])}), name, str(LIST_MAX))


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_a_control_character_in_a_query_or_path_is_400(client, api_key, fmt):
    refused(get(client, fmt, service_request_id="XF\x00-1"), "service_request_id", "U+0000")
    refused(get(client, fmt, service_code="06010,\x0b"), "service_code", "U+000B")
    refused(
        client.get(f"{V2}/requests/XF%00.{fmt}"), "path", "U+0000"
    )  # kit.guard, before any route
    refused(client.get(f"{V2}/tokens/XF%0B.{fmt}"), "path", "U+000B")
    r = client.get(f"{V2}/media/XF%00/1.jpg")
    assert r.status_code == 400 and r.json()[0]["code"] == 400
