"""The language switch (/lang/{zh|en}) sets the cookie and returns to the page it was clicked
on, only ever a page of this site."""

import pytest

from civicgrid.config import get_settings


def back(client, referer: str | None) -> str:
    headers = {"Referer": referer} if referer is not None else {}
    r = client.get("/lang/en", headers=headers, follow_redirects=False)
    assert r.status_code == 303 and r.cookies["lang"] == "en"
    return r.headers["location"]


def test_it_returns_to_the_page_of_this_site_it_was_clicked_on(client):
    assert back(client, "http://testserver/reports?street=230110001&page=2") == (
        "/reports?street=230110001&page=2"
    )
    assert back(client, "http://TESTSERVER/app/") == "/app/"
    assert back(client, "http://testserver") == "/"
    assert back(client, None) == "/"


@pytest.mark.parametrize(
    "referer",
    [
        "https://evil.example/phish",
        "http://testserver.evil.example/x",
        "http://evil.example/http://testserver/",
        "//evil.example/x",
        "http://testserver//evil.example/x",
        "http://testserver/\\evil.example",
        "javascript:alert(1)",
        "not a url at all",
    ],
)
def test_never_to_another_site(client, referer):
    assert back(client, referer) == "/"


def test_the_public_address_counts_as_this_site(client, monkeypatch):
    monkeypatch.setenv("CIVICGRID_PUBLIC_BASE_URL", "https://civic.example.org")
    get_settings.cache_clear()
    try:
        assert back(client, "https://civic.example.org/snow") == "/snow"
    finally:
        get_settings.cache_clear()


@pytest.mark.parametrize(
    ("next_", "target"),
    [
        ("/reports?page=2", "/reports?page=2"),
        ("//evil.example/x", "/console"),
        ("/\\evil.example", "/console"),
        ("https://evil.example/", "/console"),
    ],
)
def test_signing_in_goes_on_only_to_a_page_of_this_site(client, session, next_, target):
    """The sign-in's `next` follows the same rule (kit.text.site_path)."""
    from tests.factories import PASSWORD, world

    world(session)
    r = client.post(
        "/console/login",
        data={"username": "disp", "password": PASSWORD, "next": next_},
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"] == target
