"""Photo stores: the local directory and an S3-compatible store behind a setting, and the
sweep that removes files a killed process left without their report."""

import io
import socket
import time
import uuid

import pytest
from PIL import Image
from sqlalchemy import select

from civicgrid.config import get_settings
from civicgrid.kit.ratelimit import _memory
from civicgrid.kit.storage import LocalStorage
from civicgrid.media import service as media_service
from civicgrid.media.models import Photo
from tests.factories import POINT_A, world
from tests.images import jpeg


def report_with_photo(client) -> dict:
    _memory.reset()
    data = {"category": "06010", "lon": POINT_A[0], "lat": POINT_A[1]}
    files = [("photos", ("p.jpg", jpeg(640, 480), "image/jpeg"))]
    r = client.post("/api/v1/citizen/reports", data=data, files=files)
    assert r.status_code == 201, r.text
    return r.json()


def test_the_sweep_removes_only_old_unreferenced_files(client, session, tmp_path, monkeypatch):
    monkeypatch.setenv("CIVICGRID_MEDIA_DIR", str(tmp_path))
    get_settings.cache_clear()  # the store is the settings' (an earlier test may have read them)
    world(session)
    report_with_photo(client)
    kept = {p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file()}
    assert len(kept) == 2  # the photo and its thumbnail
    store = LocalStorage(tmp_path)
    store.put("77/orphan.jpg", jpeg())  # written by a process killed before its commit
    (tmp_path / "77" / ".tmp-half").write_bytes(b"\xff\xd8")  # an interrupted write
    young = media_service.sweep(session, get_settings(), grace_seconds=3600)
    assert young == []
    removed = media_service.sweep(session, get_settings(), grace_seconds=0)
    assert sorted(removed) == ["77/.tmp-half", "77/orphan.jpg"]
    left = {p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file()}
    assert left == kept


@pytest.fixture()
def s3(monkeypatch):
    """An S3-compatible server on a local port (moto's server: the S3 REST protocol over
    HTTP, spoken to by boto3 exactly as to MinIO or AWS) and a fresh bucket (moto keeps its
    buckets for the whole process, so each test has its own)."""
    import boto3
    from moto.server import ThreadedMotoServer

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port)
    server.start()
    url = f"http://127.0.0.1:{port}"
    bucket = f"civicgrid-{uuid.uuid4().hex[:12]}"
    env = {
        "CIVICGRID_MEDIA_STORE": "s3",
        "CIVICGRID_S3_ENDPOINT_URL": url,
        "CIVICGRID_S3_BUCKET": bucket,
        "CIVICGRID_S3_PREFIX": "xf/",
        "CIVICGRID_S3_ACCESS_KEY": "test",
        "CIVICGRID_S3_SECRET_KEY": "test-secret",
    }
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    get_settings.cache_clear()
    client = boto3.client(
        "s3",
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test-secret",
    )
    client.create_bucket(Bucket=bucket)
    client.bucket = bucket
    try:
        yield client
    finally:
        server.stop()


def objects(s3) -> set[str]:
    listed = s3.list_objects_v2(Bucket=s3.bucket).get("Contents", [])
    return {o["Key"] for o in listed}


def test_photos_go_to_the_s3_store_and_come_back(client, session, s3, tmp_path, monkeypatch):
    monkeypatch.setenv("CIVICGRID_MEDIA_DIR", str(tmp_path / "unused"))
    world(session)
    answer = report_with_photo(client)
    photo = session.scalar(select(Photo))
    assert objects(s3) == {"xf/" + photo.key, "xf/" + photo.thumb_key}
    assert not (tmp_path / "unused").exists()  # nothing went to the local directory
    view = client.get(f"/api/v1/citizen/cases/{answer['code']}", params={"s": answer["secret"]})
    url = view.json()["photos"][0]["url"]
    r = client.get(url)
    assert r.status_code == 200
    assert Image.open(io.BytesIO(r.content)).size == (640, 480)


def test_a_rolled_back_photo_leaves_no_object_and_the_sweep_finds_orphans(client, session, s3):
    world(session)
    report_with_photo(client)
    before = objects(s3)
    case_id = session.scalar(select(Photo.case_id))
    image = media_service.check_image(jpeg(), get_settings())
    savepoint = session.begin_nested()
    media_service.attach(
        session, get_settings(), case_id=case_id, event_id=None, stage="report", image=image
    )
    assert len(objects(s3)) == len(before) + 2
    savepoint.rollback()
    assert objects(s3) == before
    s3.put_object(Bucket=s3.bucket, Key="xf/9/left-behind.jpg", Body=jpeg())
    s3.put_object(Bucket=s3.bucket, Key="elsewhere/not-ours.jpg", Body=b"x")
    time.sleep(0.01)
    removed = media_service.sweep(session, get_settings(), grace_seconds=0)
    assert removed == ["9/left-behind.jpg"]
    assert objects(s3) == before | {"elsewhere/not-ours.jpg"}


def test_s3_without_a_bucket_is_refused(monkeypatch):
    from pydantic import ValidationError

    from civicgrid.config import Settings

    monkeypatch.setenv("CIVICGRID_MEDIA_STORE", "s3")
    with pytest.raises(ValidationError, match="S3_BUCKET"):
        Settings()


def test_with_accel_redirect_the_app_names_the_file_and_nginx_sends_it(
    client, session, tmp_path, monkeypatch
):
    # Given nginx in front (CIVICGRID_ACCEL_REDIRECT) and a local store
    monkeypatch.setenv("CIVICGRID_MEDIA_DIR", str(tmp_path))
    monkeypatch.setenv("CIVICGRID_ACCEL_REDIRECT", "/_media/")
    get_settings.cache_clear()
    world(session)
    answer = report_with_photo(client)
    photo = session.scalar(select(Photo))
    url = client.get(
        f"/api/v1/citizen/cases/{answer['code']}", params={"s": answer["secret"]}
    ).json()["photos"][0]["url"]
    # When the tracking link's photo is asked for
    r = client.get(url)
    # Then the app sends no bytes: it names the file under nginx's internal location, with the
    # photo's type and private caching, which nginx keeps
    assert r.status_code == 200 and r.content == b""
    assert r.headers["x-accel-redirect"] == f"/_media/local/{photo.key}"
    assert (tmp_path / photo.key).is_file()
    assert r.headers["content-type"] == "image/jpeg"
    assert r.headers["cache-control"] == "private, max-age=86400"
    # and without the secret there is no redirect, nothing to keep
    denied = client.get(url.replace(answer["secret"], "x" * len(answer["secret"])))
    assert denied.status_code == 404 and "x-accel-redirect" not in denied.headers
    assert denied.headers["cache-control"] == "no-store"


def test_with_accel_redirect_an_s3_photo_is_a_signed_address_for_nginx(
    client, session, s3, monkeypatch
):
    import httpx

    world(session)
    answer = report_with_photo(client)
    photo = session.scalar(select(Photo))
    monkeypatch.setenv("CIVICGRID_ACCEL_REDIRECT", "/_media/")
    get_settings.cache_clear()
    url = client.get(
        f"/api/v1/citizen/cases/{answer['code']}", params={"s": answer["secret"]}
    ).json()["photos"][0]["url"]
    r = client.get(url)
    target = r.headers["x-accel-redirect"]
    path = f"/_media/s3/{s3.bucket}/xf/{photo.key}?"
    assert r.content == b"" and target.startswith(path) and "X-Amz-Signature=" in target
    # what nginx asks the store for (the endpoint + the rest) is the photo, for a while only
    endpoint = s3.meta.endpoint_url
    fetched = httpx.get(endpoint + target.removeprefix("/_media/s3"))
    assert fetched.status_code == 200
    assert Image.open(io.BytesIO(fetched.content)).size == (640, 480)
    assert "X-Amz-Expires=300" in target  # signed for five minutes: nginx uses it at once


def test_an_accel_prefix_is_a_path(monkeypatch):
    from pydantic import ValidationError

    from civicgrid.config import Settings

    monkeypatch.setenv("CIVICGRID_ACCEL_REDIRECT", "_media")
    with pytest.raises(ValidationError, match="ACCEL_REDIRECT"):
        Settings()
