"""Links are built on CIVICGRID_PUBLIC_BASE_URL, never on a Host header a client chose; in
production the server answers only the hosts it is (issue 12, item 20)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from civicgrid.app import create_app
from civicgrid.config import Settings
from tests.open311.conftest import a_case

V2 = "/open311/v2"
FORGED = {"Host": "evil.example"}
PRODUCTION_SECRET = "p" * 48


def urls(client, code: str, headers=None) -> list[str]:
    """Every URL an Open311 answer builds: discovery (both formats), media (list and one)."""
    found = [client.get("/open311/discovery.json", headers=headers).json()["endpoints"][0]["url"]]
    xml = client.get("/open311/discovery.xml", headers=headers).text
    found.append(xml.split("<url>")[1].split("</url>")[0])
    found.append(client.get(f"{V2}/requests.json", headers=headers).json()[0]["media_url"])
    found.append(client.get(f"{V2}/requests/{code}.json", headers=headers).json()[0]["media_url"])
    return found


def test_urls_are_built_on_the_public_base_url_whatever_the_host_header(
    client, session, district, env
):
    # Given a public base URL, and a case with a photo
    env(public_base_url="https://civic.example.org/")
    case = a_case(session, photos=1)
    # When a client sends a forged Host header
    built = urls(client, case.code, headers=FORGED)
    # Then every URL starts with the public base URL
    assert len(built) == 4
    for url in built:
        assert url.startswith("https://civic.example.org/open311/"), url
        assert "evil" not in url


def test_without_a_public_base_url_development_builds_on_the_request(client, session, district):
    case = a_case(session, photos=1)
    for url in urls(client, case.code):
        assert url.startswith("http://testserver/open311/"), url


def test_production_answers_only_the_allowed_hosts(session, env):
    # Given production with two allowed hosts
    env(
        mode="production", secret_key=PRODUCTION_SECRET, allowed_hosts="civic.example.org, *.gov.cn"
    )
    app = create_app()
    # When requests come for them, and for another host
    with TestClient(app, base_url="http://civic.example.org") as client:
        ok = client.get("/open311/discovery.json")
        sub = client.get("/healthz", headers={"Host": "xf.hrb.gov.cn:8443"})
        forged = client.get("/open311/discovery.json", headers=FORGED)
        bare_ip = client.get("/healthz", headers={"Host": "127.0.0.1"})
    # Then only the allowed ones are answered
    assert ok.status_code == 200 and sub.status_code == 200
    assert forged.status_code == 400 and bare_ip.status_code == 400


def test_production_defaults_to_the_host_of_the_public_base_url(session, env):
    env(
        mode="production", secret_key=PRODUCTION_SECRET, public_base_url="https://civic.example.org"
    )
    with TestClient(create_app(), base_url="https://civic.example.org") as client:
        assert client.get("/healthz").status_code == 200
        assert client.get("/healthz", headers=FORGED).status_code == 400


def test_production_with_no_host_list_refuses_to_start(session, env):
    env(mode="production", secret_key=PRODUCTION_SECRET)
    with pytest.raises(ValueError, match="CIVICGRID_ALLOWED_HOSTS"):
        create_app()


@pytest.mark.parametrize("mode", ["development", "test"])
def test_development_and_test_answer_any_host(session, env, mode):
    env(mode=mode)
    with TestClient(create_app()) as client:
        assert client.get("/healthz", headers=FORGED).status_code == 200


@pytest.mark.parametrize(
    "values, message",
    [
        ({"allowed_hosts": "https://civic.example.org"}, "not a host name"),
        ({"allowed_hosts": "civic.example.org:8000"}, "not a host name"),
        ({"allowed_hosts": "civic.example.org/x"}, "not a host name"),
        ({"public_base_url": "civic.example.org"}, "http"),
        ({"public_base_url": "ftp://civic.example.org"}, "http"),
    ],
)
def test_settings_refuse_what_is_not_a_host_or_a_base_url(values, message):
    with pytest.raises(ValidationError, match=message):
        Settings(**values)


def test_serve_in_production_with_no_host_list_exits_saying_what_to_set(tmp_path):
    # Given production settings with neither allowed hosts nor a public base URL
    env = {k: v for k, v in os.environ.items() if not k.startswith("CIVICGRID_")}
    env.update(
        CIVICGRID_MODE="production",
        CIVICGRID_SECRET_KEY=PRODUCTION_SECRET,
        CIVICGRID_DATABASE_URL=f"sqlite:///{tmp_path}/none.db",
    )
    # When the server is started with several workers (a server that starts would time out)
    done = subprocess.run(
        [str(Path(sys.executable).parent / "civicgrid"), "serve", "--port", "0", "--workers", "2"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    # Then it exits at once with the message, once
    assert done.returncode == 1
    message = " ".join((done.stdout + done.stderr).split())
    assert message.count("production mode needs CIVICGRID_ALLOWED_HOSTS") == 1, message
