"""Where photo files live: a local directory by default, or an S3-compatible object store."""

from __future__ import annotations

import os
import tempfile
from abc import ABC, abstractmethod
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlsplit


class Storage(ABC):
    @abstractmethod
    def put(self, key: str, data: bytes) -> None: ...

    @abstractmethod
    def get(self, key: str) -> bytes:
        """The stored bytes; FileNotFoundError when there are none."""

    @abstractmethod
    def delete(self, key: str) -> None:
        """Remove the key; nothing happens if it is not there."""

    @abstractmethod
    def exists(self, key: str) -> bool: ...

    @abstractmethod
    def keys(self) -> Iterator[tuple[str, float]]:
        """Every stored key with its modification time (seconds since the epoch)."""

    @abstractmethod
    def accel_path(self, key: str) -> str:
        """Where nginx finds the key, below the internal location of CIVICGRID_ACCEL_REDIRECT
        (deploy/nginx/civicgrid.conf): `local/<key>` for a file of the media directory,
        `s3/<bucket>/<key>?<signature>` for an object, signed for a few minutes, that nginx
        fetches from the store itself. FileNotFoundError is not raised: nginx answers 404."""


class LocalStorage(Storage):
    """Files under a directory; writes are atomic (temporary file, fsync, rename)."""

    TEMP_PREFIX = ".tmp-"

    def __init__(self, root: str | Path):
        self.root = Path(root)

    def _path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if self.root.resolve() not in path.parents:
            raise ValueError(f"bad storage key {key!r}")
        return path

    def put(self, key: str, data: bytes) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=self.TEMP_PREFIX)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def get(self, key: str) -> bytes:
        return self._path(key).read_bytes()

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def exists(self, key: str) -> bool:
        return self._path(key).exists()

    def accel_path(self, key: str) -> str:
        return "local/" + self._path(key).relative_to(self.root.resolve()).as_posix()

    def keys(self) -> Iterator[tuple[str, float]]:
        # temporary files of an interrupted write are listed too, so that a sweep removes them
        if not self.root.is_dir():
            return
        for path in self.root.rglob("*"):
            if path.is_file():
                yield path.relative_to(self.root).as_posix(), path.stat().st_mtime


class S3Storage(Storage):
    """Objects in a bucket of an S3-compatible store (MinIO, Ceph, AWS …), under a prefix."""

    def __init__(
        self,
        bucket: str,
        *,
        endpoint_url: str | None = None,
        prefix: str = "",
        region: str = "us-east-1",
        access_key: str | None = None,
        secret_key: str | None = None,
    ):
        import boto3
        from botocore.config import Config

        self.bucket = bucket
        self.prefix = prefix
        self.client = boto3.client(
            "s3",
            endpoint_url=endpoint_url,
            region_name=region,
            aws_access_key_id=access_key,
            aws_secret_access_key=secret_key,
            # path-style addresses (endpoint/bucket/key) on an own store: the host nginx
            # proxies a photo's request to is the endpoint's, whatever the bucket
            config=Config(
                retries={"max_attempts": 3, "mode": "standard"},
                signature_version="s3v4",  # signed addresses too (every store takes v4)
                s3={"addressing_style": "path"} if endpoint_url else None,
            ),
        )

    def put(self, key: str, data: bytes) -> None:
        self.client.put_object(
            Bucket=self.bucket, Key=self.prefix + key, Body=data, ContentType="image/jpeg"
        )

    def get(self, key: str) -> bytes:
        try:
            answer = self.client.get_object(Bucket=self.bucket, Key=self.prefix + key)
        except self.client.exceptions.NoSuchKey:
            raise FileNotFoundError(key) from None
        return answer["Body"].read()

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self.prefix + key)

    def exists(self, key: str) -> bool:
        from botocore.exceptions import ClientError

        try:
            self.client.head_object(Bucket=self.bucket, Key=self.prefix + key)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return False
            raise
        return True

    # how long a signed address given to nginx stays valid: nginx uses it at once
    SIGNED_SECONDS = 300

    def accel_path(self, key: str) -> str:
        url = self.client.generate_presigned_url(
            "get_object",
            Params={"Bucket": self.bucket, "Key": self.prefix + key},
            ExpiresIn=self.SIGNED_SECONDS,
        )
        parts = urlsplit(url)
        return f"s3{parts.path}?{parts.query}"

    def keys(self) -> Iterator[tuple[str, float]]:
        pages = self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=self.prefix
        )
        for page in pages:
            for item in page.get("Contents", ()):
                yield item["Key"][len(self.prefix) :], item["LastModified"].timestamp()


@lru_cache(maxsize=8)
def _s3(bucket, endpoint_url, prefix, region, access_key, secret_key) -> S3Storage:
    # one client per configuration: making a boto3 client costs tens of milliseconds
    return S3Storage(
        bucket,
        endpoint_url=endpoint_url,
        prefix=prefix,
        region=region,
        access_key=access_key,
        secret_key=secret_key,
    )


def for_settings(settings) -> Storage:
    if settings.media_store == "s3":
        return _s3(
            settings.s3_bucket,
            settings.s3_endpoint_url,
            settings.s3_prefix,
            settings.s3_region,
            settings.s3_access_key,
            settings.s3_secret_key,
        )
    return LocalStorage(settings.media_dir)
