"""SIGKILL under load: every report that was answered with a service_request_id is there after a
restart, dispatched and with its photo, and nothing half-written remains (no case without its
events, no photo row without its files, and no file without its photo row once swept).

The real server is started as a user starts it (`civicgrid serve --workers 2`, production mode)
on a database of its own (a file beside the test's on SQLite, a fresh schema on PostgreSQL).
"""

from __future__ import annotations

import io
import os
import random
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
from PIL import Image
from sqlalchemy import func, select, text
from sqlalchemy.orm import sessionmaker

from civicgrid import migrate
from civicgrid.cases import history
from civicgrid.cases.models import Case, CaseEvent
from civicgrid.categories import service as cat_service
from civicgrid.config import Settings
from civicgrid.kit import db
from civicgrid.media.models import Photo
from civicgrid.open311.service import add_key
from tests.conftest import DB_URL, IS_PG
from tests.factories import POINT_A, POINT_B, world
from tests.images import jpeg

CIVICGRID = Path(sys.executable).parent / "civicgrid"
ACKNOWLEDGED_BEFORE_KILL = 80
KILLS = 3


@pytest.fixture()
def server_db(tmp_path):
    """A database of the server's own, with the small district, its rules and an api key."""
    schema = f"crash_{secrets.token_hex(5)}" if IS_PG else None
    url = DB_URL if IS_PG else f"sqlite:///{tmp_path}/crash.db"
    settings = Settings(database_url=url, database_schema=schema, mode="test")
    if schema:
        admin = db.make_engine(Settings(database_url=DB_URL, mode="test"))
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        admin.dispose()
    engine = db.make_engine(settings)
    migrate.upgrade(engine)
    factory = sessionmaker(bind=engine, expire_on_commit=False)
    with factory() as session:
        cat_service.import_categories(session, cat_service.packaged_csv("categories.csv"))
        cat_service.import_limits(session, cat_service.packaged_csv("time-limits.csv"))
        world(session)
        _, key = add_key(session, "crash test")
        session.commit()
    env = {
        **os.environ,
        "CIVICGRID_DATABASE_URL": url,
        "CIVICGRID_MODE": "production",
        "CIVICGRID_SECRET_KEY": secrets.token_hex(32),
        "CIVICGRID_ALLOWED_HOSTS": "127.0.0.1",
        "CIVICGRID_MEDIA_DIR": str(tmp_path / "media"),
        "CIVICGRID_REPORTS_PER_HOUR_PER_ADDRESS": "1000000",
        "CIVICGRID_REPORTS_PER_HOUR_PER_PHONE": "1000000",
    }
    env.pop("CIVICGRID_REDIS_URL", None)
    env.pop("CIVICGRID_DATABASE_SCHEMA", None)
    if schema:
        env["CIVICGRID_DATABASE_SCHEMA"] = schema
    try:
        yield env, key, factory, tmp_path / "media"
    finally:
        engine.dispose()
        if schema:
            admin = db.make_engine(Settings(database_url=DB_URL, mode="test"))
            with admin.begin() as conn:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            admin.dispose()


def start_server(env: dict, log: Path) -> tuple[subprocess.Popen, str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [str(CIVICGRID), "serve", "--port", str(port), "--workers", "2"],
        env=env,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
        start_new_session=True,  # the server and its workers: one process group to kill
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert proc.poll() is None, log.read_text()
        try:
            if httpx.get(base + "/readyz", timeout=2).status_code == 200:
                return proc, base
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"server not ready: {log.read_text()[-2000:]}")


def load(base: str, key: str, acknowledged: dict, stop: threading.Event, seed: int) -> None:
    """Post reports until told to stop; every answered one goes into `acknowledged`."""
    rng = random.Random(seed)
    with httpx.Client(base_url=base, timeout=30) as client:
        while not stop.is_set():
            lon, lat = rng.choice((POINT_A, POINT_B))
            data = {
                "api_key": key,
                "service_code": "06010",
                "lat": str(lat + rng.uniform(-1e-4, 1e-4)),
                "long": str(lon + rng.uniform(-1e-4, 1e-4)),
                "description": f"crash test {seed}",
            }
            photo = rng.random() < 0.35
            files = {"media": ("p.jpg", jpeg(320, 240, (rng.randrange(256), 90, 90)))}
            try:
                r = client.post(
                    "/open311/v2/requests.json", data=data, files=files if photo else None
                )
            except httpx.TransportError:
                continue  # the server is gone (killed) or not back yet
            if r.status_code == 201:
                acknowledged[r.json()[0]["service_request_id"]] = photo
            else:
                raise AssertionError(f"{r.status_code}: {r.text}")


def test_every_acknowledged_report_survives_a_sigkill(server_db, tmp_path):
    env, key, factory, media = server_db
    log = tmp_path / "server.log"
    acknowledged: dict[str, bool] = {}
    # Three kills, each while six clients post: the more kills, the likelier one lands between
    # a photo's files being written and its report being committed.
    for cycle in range(KILLS):
        proc, base = start_server(env, log)
        stop = threading.Event()
        threads = [
            threading.Thread(
                target=load, args=(base, key, acknowledged, stop, cycle * 10 + n), daemon=True
            )
            for n in range(6)
        ]
        try:
            for t in threads:
                t.start()
            want = (cycle + 1) * ACKNOWLEDGED_BEFORE_KILL
            deadline = time.monotonic() + 120
            while len(acknowledged) < want and time.monotonic() < deadline:
                time.sleep(0.02)
            os.killpg(proc.pid, signal.SIGKILL)  # mid-stream: the clients are still posting
            proc.wait(10)
            time.sleep(0.3)
            stop.set()
            for t in threads:
                t.join(40)
        finally:
            stop.set()
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
    answered = dict(acknowledged)
    assert len(answered) >= KILLS * ACKNOWLEDGED_BEFORE_KILL, log.read_text()[-3000:]
    assert any(answered.values()) and not all(answered.values())

    # Files a kill left without their report: the hourly media-sweep takes them once older than
    # its grace; with every server down, the operator may sweep them at once.
    swept = subprocess.run(
        [str(CIVICGRID), "media", "sweep", "--grace-seconds", "0"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert swept.returncode == 0, swept.stdout + swept.stderr
    proc, base = start_server(env, log)
    try:
        with httpx.Client(base_url=base, timeout=30) as client:
            for code, had_photo in answered.items():
                r = client.get(f"/open311/v2/requests/{code}.json")
                assert r.status_code == 200, (code, r.text)
                request = r.json()[0]
                assert request["status"] == "open" and request["agency_responsible"], request
                assert request["expected_datetime"], request  # dispatched, with its deadline
                if had_photo:
                    photo = client.get(request["media_url"])
                    assert photo.status_code == 200, code
                    assert Image.open(io.BytesIO(photo.content)).size == (320, 240)
                else:
                    assert request["media_url"] is None, code
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(20)

    with factory() as session:
        codes = set(session.scalars(select(Case.code)))
        assert set(answered) <= codes  # and maybe a few answered after the kill went out
        # nothing half-written: every case whole, its row the projection of its events
        assert list(history.verify(session)) == []
        events = dict(
            session.execute(
                select(CaseEvent.case_id, func.count()).group_by(CaseEvent.case_id)
            ).all()
        )
        for case in session.scalars(select(Case)):
            assert case.state == "dispatched" and events.get(case.id) == 3, case.code
        stored = {p.relative_to(media).as_posix() for p in media.rglob("*") if p.is_file()}
        referenced = set()
        for photo in session.scalars(select(Photo)):
            referenced.update((photo.key, photo.thumb_key))
        assert stored == referenced
        photo_cases = {c for (c,) in session.execute(select(Case.code).join(Photo))}
        assert {c for c, p in answered.items() if p} <= photo_cases
