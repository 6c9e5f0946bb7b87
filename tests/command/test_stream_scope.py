"""The live stream tells each screen only of the cases its viewer may see."""

from __future__ import annotations

import json
import threading

import httpx

from tests.conftest import live_server
from tests.factories import PASSWORD, POINT_A, POINT_B, world


def _listen(base: str, username: str, want: int, received: list) -> threading.Event:
    """Watch the stream as `username` until `want` cases were heard of; the event is set once
    the stream is open."""
    ready = threading.Event()

    def run():
        with httpx.Client(base_url=base, timeout=30) as client:
            client.post("/api/v1/auth/login", json={"username": username, "password": PASSWORD})
            with client.stream("GET", "/api/v1/command/stream") as stream:
                for line in stream.iter_lines():
                    if line.startswith("retry:"):
                        ready.set()
                    if line.startswith("data: "):
                        code = json.loads(line[6:])["code"]
                        if code not in received:  # a report, its acceptance, its dispatch …
                            received.append(code)
                        if len(received) >= want:
                            return

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    ready.thread = thread
    return ready


def test_a_street_screen_hears_only_its_street_and_the_district_hears_all(committed):
    # Given the small district, committed for a real server
    with committed() as session:
        world(session)
        session.commit()
    with live_server() as base:
        street_b, district = [], []
        # When street B's handler and the dispatcher watch the stream
        watching = [_listen(base, "hb", 1, street_b), _listen(base, "disp", 3, district)]
        assert all(w.wait(60) for w in watching)

        def report(point):
            data = {"category": "06010"}
            if point:
                data.update(lon=str(point[0]), lat=str(point[1]))
            r = httpx.post(f"{base}/api/v1/citizen/reports", data=data, timeout=30)
            assert r.status_code == 201
            return r.json()["code"]

        # and a case comes in in street A, one with no place, then one in street B
        in_a, unplaced, in_b = report(POINT_A), report(None), report(POINT_B)
        for w in watching:
            w.thread.join(40)
    # Then street B's screen heard of its own case only (its first message is street B's)
    assert street_b == [in_b]
    # and the district's dispatcher heard of all three, the unplaced one included
    assert set(district) == {in_a, unplaced, in_b}
