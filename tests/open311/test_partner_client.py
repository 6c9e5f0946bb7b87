"""A Perl partner client written as FixMyStreet's Open311 client talks (LWP, XML::Simple with
FixMyStreet's parsing options, W3CDTF dates: partner_client.pl) against the real server over
HTTP: services and definitions, a report with a photo by URL, the staff's steps fetched as its
cron fetches them, a citizen's update posted, an error document read. Needs Debian's perl with
libxml-simple-perl and libdatetime-format-w3cdtf-perl (make test-packages installs them)."""

import json
import subprocess
import time
from pathlib import Path

import pytest

from civicgrid.cases import service as case_service
from civicgrid.config import get_settings
from civicgrid.media import service as media_service
from civicgrid.open311 import service as o311
from tests.conftest import live_server
from tests.factories import POINT_A, world
from tests.open311.test_photos_by_url import image_server
from tests.open311.test_updates import finish

CLIENT = Path(__file__).with_name("partner_client.pl")


def perl(root: str, key: str, *args: str) -> dict:
    done = subprocess.run(
        ["perl", str(CLIENT), root, key, *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@pytest.fixture()
def live(committed, monkeypatch):
    with committed() as session:
        world(session)
        _, key = o311.add_key(session, "FixMyStreet")
        session.commit()
    with image_server() as (images, seen):
        monkeypatch.setenv("CIVICGRID_OPEN311_MEDIA_FETCH_HOSTS", "127.0.0.1")
        monkeypatch.setenv("CIVICGRID_OPEN311_MEDIA_FETCH_PRIVATE", "true")
        get_settings.cache_clear()
        with live_server() as base:
            yield f"{base}/open311/v2/", key, images, seen


def test_a_fixmystreet_like_perl_client_end_to_end(live, committed):
    root, key, images, seen = live
    services = perl(root, key, "services")
    assert services["count"] > 100 and services["attribute"] == "cover_state"
    assert services["values"] == ["missing", "broken", "displaced"]

    sent = perl(root, key, "send", "06010", str(POINT_A[1]), str(POINT_A[0]), f"{images}/photo.jpg")
    assert sent["status"] == 201 and sent["errors"] == [], sent
    code = sent["service_request_id"]
    for _ in range(100):  # the photo is fetched after the answer
        if seen:
            break
        time.sleep(0.05)
    with committed() as session:
        case = case_service.get_case(session, code)
        for _ in range(100):
            if media_service.photos_of(session, case.id):
                break
            time.sleep(0.05)
            session.expire_all()
        assert [p.stage for p in media_service.photos_of(session, case.id)] == ["report"]
        report = case_service.events_of(session, case)[0]
        assert report.payload["attributes"] == {"fixmystreet_id": ["1"]}
        finish(session, code, public_note="已清理")
        session.commit()

    found = [u for u in perl(root, key, "updates")["updates"] if u["service_request_id"] == code]
    assert [u["status"] for u in found] == [
        "INVESTIGATING",
        "ACTION_SCHEDULED",
        "IN_PROGRESS",
        "IN_PROGRESS",
        "FIXED",
    ]
    assert all(u["in_window"] for u in found)
    assert found[-1]["description"] == "已办结; 已清理" and found[3]["media_url"]

    first = perl(root, key, "comment", code, "9001", "REOPEN", "still there")
    assert first["status"] == 200 and first["update_id"], first
    again = perl(root, key, "comment", code, "9001", "REOPEN", "still there")
    assert again["update_id"] == first["update_id"]
    with committed() as session:
        assert case_service.get_case(session, code).queue_reason == "complaint"

    refused = perl(root, "o311_forged", "send", "06010", "45.7", "126.7", f"{images}/photo.jpg")
    assert refused["status"] == 403
    assert refused["errors"] == ["403: a valid api_key is required"]
