"""Live events: published after commit (not on rollback), through the process or Redis, and
streamed to screens as server-sent events. Redis is the suite's own (the `redis_url` fixture
starts one on a free port): no test here talks to a Redis it did not start."""

import asyncio
import json
import threading
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text

from civicgrid.kit import events
from tests import conftest
from tests.conftest import live_server
from tests.factories import PASSWORD, POINT_A, world


async def first(source, timeout: float = 5.0):
    return await asyncio.wait_for(anext(source), timeout)


def test_in_process_delivers_from_another_thread():
    hub = events.InProcess()

    async def scenario():
        source = hub.subscribe()
        task = asyncio.ensure_future(first(source))
        await asyncio.sleep(0.05)
        threading.Thread(target=hub.publish, args=({"code": "XF1"},)).start()
        assert await task == {"code": "XF1"}
        await source.aclose()

    asyncio.run(scenario())


def test_the_suites_redis_is_its_own_and_keeps_nothing(redis_url):
    import redis

    # Given the Redis the suite started
    client = redis.Redis.from_url(redis_url)
    # When asked for its settings
    config = client.config_get("*")
    client.close()
    # Then it is not the machine's (6379), listens on loopback only, and writes nothing to disk
    assert int(config["port"]) not in (0, 6379)
    assert config["bind"] == "127.0.0.1"
    assert config["save"] == "" and config["appendonly"] == "no"
    assert Path(config["dir"]).name.startswith("civicgrid-redis-")


def test_a_missing_redis_server_fails_with_how_to_install_it(monkeypatch):
    # Given a machine without redis-server
    monkeypatch.setattr(conftest.shutil, "which", lambda *args, **kwargs: None)
    # When the suite's Redis is asked for, Then the test fails (not skips), saying what to do
    with pytest.raises(pytest.fail.Exception, match="apt-get install -y redis-server"):
        conftest.redis_server_binary()


def test_redis_pubsub_reaches_another_process_subscriber(redis_url):
    # Given two separate Redis clients, as two server processes would hold
    sender, receiver = events.RedisPubSub(redis_url), events.RedisPubSub(redis_url)

    async def scenario():
        source = receiver.subscribe()
        task = asyncio.ensure_future(first(source))
        await asyncio.sleep(0.3)  # let the subscription land
        # When one publishes
        sender.publish({"code": "XF2", "state": "dispatched"})
        # Then the other's subscriber receives it
        assert await task == {"code": "XF2", "state": "dispatched"}
        await source.aclose()

    asyncio.run(scenario())


def test_changes_are_queued_until_commit_and_dropped_on_rollback(session):
    sent = []
    hub = events.broadcaster()
    original = hub.publish
    hub.publish = sent.append
    try:
        session.execute(text("SELECT 1"))  # as in a service: inside a transaction
        events.queue_change(session, {"code": "A"})
        session.rollback()
        assert sent == []
        session.execute(text("SELECT 1"))
        events.queue_change(session, {"code": "B"})
        session.commit()
        assert sent == [{"code": "B"}]
    finally:
        hub.publish = original


@pytest.mark.parametrize("through_redis", [False, True], ids=["in-process", "redis"])
def test_the_stream_tells_a_screen_when_a_case_comes_in(
    committed, monkeypatch, request, through_redis
):
    if through_redis:  # only this case starts the suite's Redis
        monkeypatch.setenv("CIVICGRID_REDIS_URL", request.getfixturevalue("redis_url"))
    with committed() as session:
        world(session)
        session.commit()
    with live_server() as base, httpx.Client(base_url=base, timeout=10) as client:
        client.post("/api/v1/auth/login", json={"username": "disp", "password": PASSWORD})
        assert client.get("/api/v1/command/summary").json()["today"]["open"] == 0
        received = []

        def listen():
            with client.stream("GET", "/api/v1/command/stream") as stream:
                for line in stream.iter_lines():
                    if line.startswith("data: "):
                        received.append(json.loads(line[6:]))
                        return

        listener = threading.Thread(target=listen, daemon=True)
        listener.start()
        time.sleep(0.8)
        r = httpx.post(
            f"{base}/api/v1/citizen/reports",
            data={"category": "06010", "lon": str(POINT_A[0]), "lat": str(POINT_A[1])},
        )
        assert r.status_code == 201
        listener.join(10)
        assert received and received[0]["code"] == r.json()["code"]
        assert received[0]["type"] == "case"
        summary = client.get("/api/v1/command/summary").json()
        assert summary["today"]["reported"] == 1 and summary["today"]["open"] == 1
        assert summary["latest"][0]["code"] == r.json()["code"]
