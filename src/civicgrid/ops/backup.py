"""Backups that restore: `civicgrid backup DEST` and `civicgrid restore ARCHIVE`.

An archive is one tar file:

- `database.sqlite3` (SQLite: a copy made with SQLite's online backup API, in one step, so that
  it is one consistent snapshot while the server goes on writing) or `database.pgdump`
  (PostgreSQL: `pg_dump --format=custom` of the schema, run on a snapshot exported from a
  REPEATABLE READ transaction, which is also the one the counts and photo keys are read in);
- `photos/<key>`: every photo and thumbnail the snapshot refers to, copied from the store (a
  local directory always; an S3 bucket with `copy_objects`, else only an inventory of the keys);
- `manifest.json`: the format, the schema revision, the row count of every table, the database
  file's checksum, and each photo's key, size and sha256 (or, for an inventory, its key).

The photos are read after the snapshot: a photo file is written before the row that refers to
it is committed, and only unreferenced files are ever swept, so every key of the snapshot is in
the store when it is copied.

A restore checks every checksum first, refuses a database that holds any row (unless `force`),
puts the database and the photos back, migrates to the newest schema, recomputes every case
from its events (as `verify-cases`) and checks every photo row against the store.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import os
import re
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import Session

from civicgrid import __version__, migrate
from civicgrid.cases import history
from civicgrid.config import Settings
from civicgrid.kit import db
from civicgrid.kit.errors import AppError
from civicgrid.kit.storage import LocalStorage, Storage, for_settings
from civicgrid.media import queries as media_queries

FORMAT = "civicgrid-backup"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
SQLITE_FILE = "database.sqlite3"
PG_FILE = "database.pgdump"
PHOTOS = "photos/"
CHUNK = 1 << 20


class BackupError(AppError):
    """A backup or restore that cannot be done, said in both languages (exit 1 at the CLI)."""

    error = "backup_failed"


@dataclass
class BackupReport:
    path: Path
    engine: str
    revision: str | None
    counts: dict[str, int]
    photos: int
    photos_copied: bool
    missing_photos: list[str]
    size: int
    seconds: float


@dataclass
class RestoreReport:
    revision_from: str | None
    revision_to: str | None
    counts: dict[str, int]
    photos_restored: int
    photos_checked: int
    count_mismatches: dict[str, tuple[int, int]] = field(default_factory=dict)
    drifted: list[tuple[str, dict]] = field(default_factory=list)
    photo_problems: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not (self.count_mismatches or self.drifted or self.photo_problems)


# --- helpers -----------------------------------------------------------------------------------


def _engine_kind(settings: Settings) -> str:
    return "sqlite" if settings.database_url.startswith("sqlite") else "postgresql"


def _sqlite_path(settings: Settings) -> Path:
    path = settings.database_url.split("///", 1)[-1]
    if not path or path == ":memory:":
        raise BackupError("内存数据库无法备份", "an in-memory database cannot be backed up")
    return Path(path)


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _pg_schema(settings: Settings) -> str:
    return settings.database_schema or "public"


def _libpq(settings: Settings) -> tuple[str, dict[str, str]]:
    """The database URL as libpq takes it (no driver name), and an environment carrying the
    password (never on a command line, where `ps` shows it)."""
    url = make_url(settings.database_url)
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    plain = url.set(drivername="postgresql", password=None)
    return plain.render_as_string(hide_password=False), env


def _pg_tool(name: str, engine: Engine) -> str:
    """The path of pg_dump or pg_restore, refused when missing or older than the server."""
    found = shutil.which(name) or shutil.which(name, path="/usr/bin:/usr/lib/postgresql/bin")
    if found is None:
        raise BackupError(
            f"找不到 {name}: 请安装 Debian 的 postgresql-client (与服务器同一主版本)",
            f"{name} not found: install Debian's postgresql-client (the server's major version)",
        )
    out = subprocess.run([found, "--version"], capture_output=True, text=True, check=True).stdout
    match = re.search(r"(\d+)(?:\.(\d+))?", out)
    tool_major = int(match.group(1)) if match else 0
    with engine.connect() as conn:
        server_num = int(conn.exec_driver_sql("SHOW server_version_num").scalar())
    if tool_major < server_num // 10000:
        raise BackupError(
            f"{name} ({out.strip()}) 比服务器 ({server_num // 10000}) 旧",
            f"{name} ({out.strip()}) is older than the server (major {server_num // 10000}): "
            "install the postgresql-client of the server's version",
        )
    return found


def _run_tool(args: list[str], env: dict[str, str]) -> None:
    done = subprocess.run(args, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise BackupError(
            f"{Path(args[0]).name} 失败: {done.stderr.strip()[-2000:]}",
            f"{Path(args[0]).name} failed: {done.stderr.strip()[-2000:]}",
        )


def _counts(conn, tables: list[str]) -> dict[str, int]:
    quote = conn.dialect.identifier_preparer.quote
    return {t: int(conn.execute(text(f"SELECT count(*) FROM {quote(t)}")).scalar()) for t in tables}


def _photo_keys(conn) -> list[tuple[str, str | None]]:
    """(key, sha256) of every photo and (thumb key, None) of every thumbnail of the snapshot."""
    if not inspect(conn).has_table("photos"):
        return []
    with Session(bind=conn) as session:
        keys = []
        for key, thumb, digest in media_queries.stored_files(session):
            keys.append((key, digest))
            keys.append((thumb, None))
        if inspect(conn).has_table("media_documents"):  # notices' attachments
            keys.extend(media_queries.stored_documents(session))
        return keys


@dataclass
class _Snapshot:
    engine: str
    revision: str | None
    counts: dict[str, int]
    photo_keys: list[tuple[str, str | None]]
    schema: str | None = None


@contextmanager
def _sqlite_snapshot(settings: Settings, into: Path) -> Iterator[_Snapshot]:
    source = _sqlite_path(settings)
    if not source.exists():
        raise BackupError(f"数据库文件不存在: {source}", f"no database file {source}")
    src = sqlite3.connect(source, timeout=30)
    dst = sqlite3.connect(into)
    try:
        # pages=-1: the whole database in one step, under one read transaction (beside the
        # writers, in WAL mode); stepwise, a write by another connection restarts the copy.
        src.backup(dst, pages=-1)
    finally:
        dst.close()
        src.close()
    # a plain engine on the copy: none of the server's (no writer lock, no checkpointer)
    engine = create_engine(f"sqlite:///{into}")
    try:
        with engine.connect() as conn:
            tables = [t for t in inspect(conn).get_table_names() if not t.startswith("sqlite_")]
            snap = _Snapshot(
                "sqlite",
                migrate.current_revision(conn),
                _counts(conn, tables),
                _photo_keys(conn),
            )
    finally:
        engine.dispose()
    # the copy is read back as it is written into the archive: no WAL beside it
    for extra in ("-wal", "-shm"):
        Path(f"{into}{extra}").unlink(missing_ok=True)
    yield snap


@contextmanager
def _pg_snapshot(settings: Settings, into: Path) -> Iterator[_Snapshot]:
    engine = db.make_engine(settings)
    schema = _pg_schema(settings)
    try:
        pg_dump = _pg_tool("pg_dump", engine)
        with engine.connect().execution_options(isolation_level="REPEATABLE READ") as conn:
            conn.exec_driver_sql("SET TRANSACTION READ ONLY")
            snapshot_id = conn.exec_driver_sql("SELECT pg_export_snapshot()").scalar()
            tables = inspect(conn).get_table_names(schema=schema)
            conn.exec_driver_sql(f'SET LOCAL search_path = "{schema}"')
            snap = _Snapshot(
                "postgresql",
                migrate.current_revision(conn),
                _counts(conn, tables),
                _photo_keys(conn),
                schema=schema,
            )
            url, env = _libpq(settings)
            # the dump sees exactly what this transaction sees (it stays open meanwhile)
            _run_tool(
                [
                    pg_dump,
                    f"--dbname={url}",
                    "--format=custom",
                    f"--schema={schema}",
                    f"--snapshot={snapshot_id}",
                    "--no-owner",
                    f"--file={into}",
                ],
                env,
            )
            conn.rollback()
    finally:
        engine.dispose()
    yield snap


def _add_bytes(tar: tarfile.TarFile, name: str, data: bytes, mtime: float) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mtime = int(mtime)
    info.mode = 0o600
    tar.addfile(info, io.BytesIO(data))


def archive_path(dest: Path, now: dt.datetime) -> Path:
    """DEST itself when it names a .tar file, else a new file named by the time in the
    directory DEST (made if need be)."""
    if dest.suffix == ".tar" and not dest.is_dir():
        return dest
    return dest / f"civicgrid-backup-{now:%Y%m%dT%H%M%SZ}.tar"


# --- backup ------------------------------------------------------------------------------------


def backup(settings: Settings, dest: Path, *, copy_objects: bool = False) -> BackupReport:
    """Write one archive of the database and the photos it refers to (see the module's doc)."""
    started = time.monotonic()
    now = dt.datetime.now(dt.UTC)
    path = archive_path(dest, now)
    if path.exists():
        raise BackupError(f"{path} 已存在", f"{path} exists already: choose another name")
    path.parent.mkdir(parents=True, exist_ok=True)
    kind = _engine_kind(settings)
    store = for_settings(settings)
    copy = isinstance(store, LocalStorage) or copy_objects
    partial = path.with_name(f".{path.name}.partial")
    with tempfile.TemporaryDirectory(prefix="civicgrid-backup-", dir=path.parent) as work:
        db_name = SQLITE_FILE if kind == "sqlite" else PG_FILE
        db_file = Path(work) / db_name
        snapshot = _sqlite_snapshot if kind == "sqlite" else _pg_snapshot
        with snapshot(settings, db_file) as snap:
            pass
        photos, missing = [], []
        try:
            with tarfile.open(partial, "w") as tar:
                tar.add(db_file, arcname=db_name)
                if copy:
                    for key, _digest in snap.photo_keys:
                        try:
                            data = store.get(key)
                        except FileNotFoundError:
                            missing.append(key)
                            continue
                        _add_bytes(tar, PHOTOS + key, data, now.timestamp())
                        photos.append(
                            {
                                "key": key,
                                "size": len(data),
                                "sha256": hashlib.sha256(data).hexdigest(),
                            }
                        )
                else:  # an inventory: one listing of the bucket, no object read
                    listed = dict(store.keys())
                    for key, digest in snap.photo_keys:
                        if key in listed:
                            entry = {"key": key, "modified": listed[key]}
                            if digest:
                                entry["sha256"] = digest
                            photos.append(entry)
                        else:
                            missing.append(key)
                manifest = {
                    "format": FORMAT,
                    "format_version": FORMAT_VERSION,
                    "civicgrid_version": __version__,
                    "created_at": now.isoformat(),
                    "engine": kind,
                    "schema": snap.schema,
                    "schema_revision": snap.revision,
                    "database": {
                        "file": db_name,
                        "size": db_file.stat().st_size,
                        "sha256": _sha256_file(db_file),
                    },
                    "counts": snap.counts,
                    "photo_store": _describe_store(settings, copied=copy),
                    "photos": photos,
                    "missing_photos": missing,
                }
                data = json.dumps(manifest, ensure_ascii=False, indent=1).encode()
                _add_bytes(tar, MANIFEST, data, now.timestamp())
            with open(partial, "rb") as f:
                os.fsync(f.fileno())
            os.replace(partial, path)
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
    return BackupReport(
        path=path,
        engine=kind,
        revision=snap.revision,
        counts=snap.counts,
        photos=len(photos),
        photos_copied=copy,
        missing_photos=missing,
        size=path.stat().st_size,
        seconds=time.monotonic() - started,
    )


def _describe_store(settings: Settings, *, copied: bool) -> dict:
    if settings.media_store == "s3":
        return {
            "kind": "s3",
            "endpoint_url": settings.s3_endpoint_url,
            "bucket": settings.s3_bucket,
            "prefix": settings.s3_prefix,
            "copied": copied,
        }
    return {"kind": "local", "copied": True}


# --- restore -----------------------------------------------------------------------------------


def read_manifest(tar: tarfile.TarFile) -> dict:
    try:
        member = tar.extractfile(MANIFEST)
    except KeyError:
        member = None
    if member is None:
        raise BackupError("归档中没有 manifest.json", "the archive has no manifest.json")
    manifest = json.loads(member.read())
    if manifest.get("format") != FORMAT or manifest.get("format_version") != FORMAT_VERSION:
        raise BackupError(
            "不是 civicgrid 备份或格式版本不支持",
            f"not a civicgrid backup of format version {FORMAT_VERSION}",
        )
    return manifest


def _user_tables(conn, schema: str | None) -> list[str]:
    return [
        t
        for t in inspect(conn).get_table_names(schema=schema)
        if t != "alembic_version" and not t.startswith("sqlite_")
    ]


def is_empty(engine: Engine, schema: str | None) -> bool:
    """True when no table (but Alembic's) of the database holds a row."""
    with engine.connect() as conn:
        quote = conn.dialect.identifier_preparer.quote
        prefix = f"{quote(schema)}." if schema else ""
        for t in _user_tables(conn, schema):
            if conn.execute(text(f"SELECT 1 FROM {prefix}{quote(t)} LIMIT 1")).first():
                return False
    return True


def _check_archive(tar: tarfile.TarFile, manifest: dict, work: Path) -> Path:
    """Extract the database file and check every checksum the manifest lists."""
    name = manifest["database"]["file"]
    if name not in (SQLITE_FILE, PG_FILE):
        raise BackupError("归档的数据库文件名无效", f"bad database file name {name!r}")
    tar.extract(name, work, filter="data")
    db_file = work / name
    if _sha256_file(db_file) != manifest["database"]["sha256"]:
        raise BackupError(
            "数据库文件校验和不符: 归档已损坏", "the database file's checksum differs"
        )
    for entry in manifest["photos"]:
        if "size" not in entry:  # an inventory entry: nothing in the archive
            continue
        member = tar.extractfile(PHOTOS + entry["key"])
        data = member.read() if member else b""
        if hashlib.sha256(data).hexdigest() != entry["sha256"]:
            raise BackupError(
                f"照片 {entry['key']} 校验和不符: 归档已损坏",
                f"the photo {entry['key']}'s checksum differs: the archive is damaged",
            )
    return db_file


def restore(settings: Settings, archive: Path, *, force: bool = False) -> RestoreReport:
    """Put an archive back into the database and photo store the settings name."""
    started = time.monotonic()
    if not archive.is_file():
        raise BackupError(f"找不到归档 {archive}", f"no archive {archive}")
    kind = _engine_kind(settings)
    with (
        tarfile.open(archive, "r") as tar,
        tempfile.TemporaryDirectory(prefix="civicgrid-restore-") as work,
    ):
        manifest = read_manifest(tar)
        if manifest["engine"] != kind:
            raise BackupError(
                f"归档来自 {manifest['engine']}, 目标是 {kind}",
                f"the archive is of {manifest['engine']}, the target database is {kind}",
            )
        if kind == "postgresql" and manifest["schema"] != _pg_schema(settings):
            raise BackupError(
                f"归档的模式 {manifest['schema']} 与目标 {_pg_schema(settings)} 不同",
                f"the archive's schema {manifest['schema']!r} differs from the target's "
                f"{_pg_schema(settings)!r} (CIVICGRID_DATABASE_SCHEMA)",
            )
        db_file = _check_archive(tar, manifest, Path(work))
        engine = db.make_engine(settings)
        try:
            schema = _pg_schema(settings) if kind == "postgresql" else None
            if not force and not is_empty(engine, schema):
                raise BackupError(
                    "目标数据库不是空的; 确认要覆盖时加 --force",
                    "the target database holds data: add --force to overwrite it",
                )
            if kind == "sqlite":
                engine.dispose()
                _restore_sqlite(settings, db_file)
            else:
                _restore_pg(settings, engine, db_file, schema)
            with engine.connect() as conn:
                revision_from = migrate.current_revision(conn)
                counts = _counts(conn, _user_tables(conn, None) + ["alembic_version"])
            mismatches = {
                t: (n, counts.get(t, -1))
                for t, n in manifest["counts"].items()
                if counts.get(t, -1) != n
            }
            store = for_settings(settings)
            restored = 0
            for entry in manifest["photos"]:
                if "size" in entry:
                    member = tar.extractfile(PHOTOS + entry["key"])
                    store.put(entry["key"], member.read())
                    restored += 1
            migrate.upgrade(engine)
            with Session(bind=engine) as session:
                drifted = list(history.verify(session))
                checked, problems = check_photos(session, store)
                revision_to = migrate.current_revision(session.connection())
        finally:
            engine.dispose()
    return RestoreReport(
        revision_from=revision_from,
        revision_to=revision_to,
        counts=counts,
        photos_restored=restored,
        photos_checked=checked,
        count_mismatches=mismatches,
        drifted=drifted,
        photo_problems=problems,
        seconds=time.monotonic() - started,
    )


def _restore_sqlite(settings: Settings, db_file: Path) -> None:
    target = _sqlite_path(settings)
    target.parent.mkdir(parents=True, exist_ok=True)
    src = sqlite3.connect(db_file)
    dst = sqlite3.connect(target, timeout=30)
    try:
        src.backup(dst, pages=-1)  # replaces every page of the target, in one transaction
    finally:
        dst.close()
        src.close()


def _restore_pg(settings: Settings, engine: Engine, dump: Path, schema: str) -> None:
    pg_restore = _pg_tool("pg_restore", engine)
    with engine.begin() as conn:
        # the dump makes its schema (CREATE SCHEMA): what was there goes first, whole
        conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    engine.dispose()
    url, env = _libpq(settings)
    _run_tool(
        [
            pg_restore,
            f"--dbname={url}",
            "--no-owner",
            "--exit-on-error",
            "--single-transaction",
            str(dump),
        ],
        env,
    )


def check_photos(session: Session, store: Storage) -> tuple[int, list[str]]:
    """Every photo row's file and thumbnail in the store, the file's bytes matching the row's
    sha256, and every document's file likewise: (photos and documents checked, problems)."""
    problems, checked = [], 0

    def check(key: str, digest: str, row: str) -> None:
        try:
            data = store.get(key)
        except FileNotFoundError:
            problems.append(f"{key}: missing")
        else:
            if hashlib.sha256(data).hexdigest() != digest:
                problems.append(f"{key}: sha256 differs from the {row} row")

    for key, thumb, digest in media_queries.stored_files(session):
        checked += 1
        check(key, digest, "photo")
        if not store.exists(thumb):
            problems.append(f"{thumb}: thumbnail missing")
    for key, digest in media_queries.stored_documents(session):  # notices' attachments
        checked += 1
        check(key, digest, "document")
    return checked, problems
