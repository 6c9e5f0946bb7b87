"""The operations tests' fixtures: the S3-compatible server of the photo store tests."""

from tests.media.test_stores import s3  # noqa: F401 - a fixture, used by name
