"""Backups that restore: an archive taken while citizens report through the HTTP path, put back
into a fresh database (a new file on SQLite, a new database on PostgreSQL), holds every case
acknowledged before it began, each case, event and photo equal to the original."""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
import threading
import time
import uuid
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select, text
from sqlalchemy.engine import make_url
from typer.testing import CliRunner

from civicgrid.cli import app as cli_app
from civicgrid.config import Settings, get_settings
from civicgrid.kit import db
from civicgrid.kit.storage import LocalStorage
from civicgrid.ops import backup as backups
from tests.conftest import DB_URL, IS_PG, SCHEMA, TEST_SECRET, live_server
from tests.factories import POINT_A, POINT_B, world
from tests.images import jpeg

# the tables intake writes and nothing rewrites afterwards (no scheduler runs here)
COMPARED = ("cases", "case_events", "case_contacts", "tracking_secrets", "photos")


@pytest.fixture()
def source(committed, tmp_path, monkeypatch):
    """The suite's database with real commits, a photo directory of the test's own and no
    rate limit on reports (the load comes from one address)."""
    monkeypatch.setenv("CIVICGRID_MEDIA_DIR", str(tmp_path / "media"))
    monkeypatch.setenv("CIVICGRID_REPORTS_PER_HOUR_PER_ADDRESS", "1000000")
    monkeypatch.setenv("CIVICGRID_REPORTS_PER_HOUR_PER_PHONE", "1000000")
    get_settings.cache_clear()
    with committed() as s:
        world(s)
        s.commit()
    return get_settings()


@contextmanager
def fresh_target(tmp_path: Path):
    """Settings naming an empty database (SQLite: a new file; PostgreSQL: a new database made
    here and dropped after, holding the same schema name) and an empty photo directory."""
    media = str(tmp_path / "restored-media")
    if not IS_PG:
        yield Settings(
            database_url=f"sqlite:///{tmp_path}/restored.db",
            media_dir=media,
            mode="test",
            secret_key=TEST_SECRET,
        )
        return
    name = f"cg_restore_{uuid.uuid4().hex[:10]}"
    admin = db.make_engine(Settings(database_url=DB_URL, mode="test"))
    try:
        with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
        url = make_url(DB_URL).set(database=name).render_as_string(hide_password=False)
        yield Settings(
            database_url=url,
            database_schema=SCHEMA,
            media_dir=media,
            mode="test",
            secret_key=TEST_SECRET,
        )
    finally:
        with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


def rows(engine, table: str) -> dict[tuple, tuple]:
    """Every row of the table, by primary key."""
    t = db.Base.metadata.tables[table]
    key = list(t.primary_key.columns)
    with engine.connect() as conn:
        return {
            tuple(r._mapping[c] for c in key): tuple(r)
            for r in conn.execute(select(t).order_by(*key))
        }


class Load:
    """Citizens reporting with a photo through the real HTTP path, from several threads, until
    stopped; what was acknowledged (201) and when."""

    def __init__(self, base: str, threads: int = 4):
        self.base = base
        self.acked: list[tuple[float, str]] = []
        self.failures: list[str] = []
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self.run, args=(i,)) for i in range(threads)]

    def run(self, n: int) -> None:
        point = POINT_A if n % 2 else POINT_B
        with httpx.Client(base_url=self.base, timeout=30) as client:
            i = 0
            while not self.stop.is_set():
                i += 1
                photo = jpeg(320, 240, color=(n * 40 % 256, i % 256, 99))
                r = client.post(
                    "/api/v1/citizen/reports",
                    data={
                        "category": "06010",
                        "lon": point[0],
                        "lat": point[1],
                        "description": f"thread {n} report {i}",
                        "phone": f"1380000{n:02d}{i % 100:02d}",
                    },
                    files=[("photos", ("p.jpg", photo, "image/jpeg"))],
                )
                with self.lock:
                    if r.status_code == 201:
                        self.acked.append((time.monotonic(), r.json()["code"]))
                    else:
                        self.failures.append(f"{r.status_code} {r.text[:200]}")

    def __enter__(self):
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        for t in self.threads:
            t.join(60)

    def wait_for(self, n: int, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while len(self.acked) < n and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(self.acked) >= n, self.failures[:3]


def test_a_backup_under_intake_load_restores_every_acknowledged_case_and_photo(source, tmp_path):
    with live_server() as base, Load(base) as load:
        load.wait_for(30)
        began = time.monotonic()
        report = backups.backup(source, tmp_path / "backups")
        ended = time.monotonic()
        n_during = sum(1 for t, _ in load.acked if began <= t <= ended)
        load.wait_for(len(load.acked) + 10)  # the server goes on taking reports
    assert not load.failures, load.failures[:3]
    before = {code for t, code in load.acked if t < began}
    assert report.path.parent == tmp_path / "backups" and report.path.suffix == ".tar"
    assert not report.missing_photos
    with tarfile.open(report.path) as tar:
        manifest = json.loads(tar.extractfile("manifest.json").read())
    assert manifest["schema_revision"] == report.revision
    assert manifest["counts"]["cases"] >= len(before)
    assert len(manifest["photos"]) == 2 * manifest["counts"]["photos"]  # photo and thumbnail

    source_engine = db.get_engine()
    with fresh_target(tmp_path) as target:
        restored = backups.restore(target, report.path)
        assert restored.ok, (restored.count_mismatches, restored.drifted, restored.photo_problems)
        assert restored.revision_to == restored.revision_from == report.revision
        assert restored.photos_checked == manifest["counts"]["photos"]
        engine = db.make_engine(target)
        try:
            with engine.connect() as conn:
                codes = set(conn.scalars(text("SELECT code FROM cases")))
            # every case acknowledged before the backup began is in it; no case is half there
            assert before <= codes
            assert len(codes) == manifest["counts"]["cases"]
            for table in COMPARED:
                got, want = rows(engine, table), rows(source_engine, table)
                assert len(got) == manifest["counts"][table]
                assert {i: want.get(i) for i in got} == got, table
            # every photo and thumbnail: the same bytes as in the original store
            original = LocalStorage(source.media_dir)
            copy = LocalStorage(target.media_dir)
            for photo in rows(engine, "photos").values():
                row = dict(zip(db.Base.metadata.tables["photos"].c.keys(), photo, strict=True))
                data = copy.get(row["key"])
                assert data == original.get(row["key"])
                assert hashlib.sha256(data).hexdigest() == row["sha256"]
                assert copy.get(row["thumb_key"]) == original.get(row["thumb_key"])
        finally:
            engine.dispose()

        # a second restore into the database that now holds data is refused, unless forced
        with pytest.raises(backups.BackupError, match="--force"):
            backups.restore(target, report.path)
        again = backups.restore(target, report.path, force=True)
        assert again.ok and again.counts["cases"] == manifest["counts"]["cases"]
    print(f"backup under load: {report.seconds:.2f} s, {n_during} reports acknowledged meanwhile")


def test_the_commands_back_up_refuse_and_restore(source, tmp_path, monkeypatch):
    runner = CliRunner()
    with live_server() as base, Load(base, threads=1) as load:
        load.wait_for(3)
    archive = tmp_path / "nightly.tar"
    result = runner.invoke(cli_app, ["backup", str(archive)])
    assert result.exit_code == 0, result.output
    assert "backup written" in result.output and archive.is_file()
    result = runner.invoke(cli_app, ["backup", str(archive)])
    assert result.exit_code == 1 and "exists already" in result.output
    # the source database is not empty: restoring over it is refused
    result = runner.invoke(cli_app, ["restore", str(archive)])
    assert result.exit_code == 1 and "--force" in result.output
    with fresh_target(tmp_path) as target:
        monkeypatch.setenv("CIVICGRID_DATABASE_URL", target.database_url)
        monkeypatch.setenv("CIVICGRID_MEDIA_DIR", target.media_dir)
        get_settings.cache_clear()
        result = runner.invoke(cli_app, ["restore", str(archive)])
        assert result.exit_code == 0, result.output
        assert "every case matches its events" in result.output


def test_a_damaged_archive_is_refused_before_anything_is_written(source, tmp_path):
    with live_server() as base, Load(base, threads=1) as load:
        load.wait_for(2)
    report = backups.backup(source, tmp_path / "a.tar")
    damaged = tmp_path / "damaged.tar"
    with tarfile.open(report.path) as src, tarfile.open(damaged, "w") as dst:
        for member in src.getmembers():
            data = src.extractfile(member).read()
            if member.name.startswith("photos/"):
                data = data[:-1] + bytes([data[-1] ^ 1])
            dst.addfile(member, io.BytesIO(data))
    with fresh_target(tmp_path) as target:
        with pytest.raises(backups.BackupError, match="checksum"):
            backups.restore(target, damaged)
        engine = db.make_engine(target)
        try:
            assert backups.is_empty(engine, target.database_schema)
        finally:
            engine.dispose()
    not_an_archive = tmp_path / "x.tar"
    with tarfile.open(not_an_archive, "w"):
        pass
    with pytest.raises(backups.BackupError, match="manifest"):
        backups.restore(source, not_an_archive)


def test_an_s3_store_is_listed_or_copied(committed, s3, tmp_path, monkeypatch):
    monkeypatch.setenv("CIVICGRID_REPORTS_PER_HOUR_PER_ADDRESS", "1000000")
    get_settings.cache_clear()
    with committed() as s:
        world(s)
        s.commit()
    with live_server() as base, Load(base, threads=2) as load:
        load.wait_for(6)
    settings = get_settings()
    listed = backups.backup(settings, tmp_path / "listed.tar")
    copied = backups.backup(settings, tmp_path / "copied.tar", copy_objects=True)
    assert not listed.photos_copied and copied.photos_copied
    with tarfile.open(listed.path) as tar:
        assert not [n for n in tar.getnames() if n.startswith("photos/")]
    with tarfile.open(copied.path) as tar:
        assert len([n for n in tar.getnames() if n.startswith("photos/")]) == copied.photos > 0

    def in_bucket(target: Settings, bucket: str) -> Settings:
        return target.model_copy(
            update={
                k: v for k, v in settings.model_dump().items() if k.startswith(("s3_", "media_"))
            }
            | {"s3_bucket": bucket}
        )

    # copied: restored into an empty bucket, every object is put back
    bucket = f"restored-{uuid.uuid4().hex[:8]}"
    s3.create_bucket(Bucket=bucket)
    with fresh_target(tmp_path / "a") as target:
        restored = backups.restore(in_bucket(target, bucket), copied.path)
    assert restored.ok and restored.photos_restored == copied.photos
    assert {o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]} == {
        "xf/" + e["key"] for e in json.loads(_manifest(copied.path))["photos"]
    }
    # listed: the objects stay where they are; the photo check finds them in the same bucket
    # and reports each photo and thumbnail missing from an empty one
    with fresh_target(tmp_path / "b") as target:
        assert backups.restore(in_bucket(target, settings.s3_bucket), listed.path).ok
    empty = f"empty-{uuid.uuid4().hex[:8]}"
    s3.create_bucket(Bucket=empty)
    with fresh_target(tmp_path / "c") as target:
        report = backups.restore(in_bucket(target, empty), listed.path)
    assert not report.ok and len(report.photo_problems) == 2 * report.counts["photos"]


def _manifest(path: Path) -> bytes:
    with tarfile.open(path) as tar:
        return tar.extractfile("manifest.json").read()
