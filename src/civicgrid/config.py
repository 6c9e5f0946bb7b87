"""Settings, read from environment variables prefixed ``CIVICGRID_``."""

from __future__ import annotations

from functools import lru_cache
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_SECRET = "dev-secret-change-me"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CIVICGRID_", extra="ignore")

    mode: Literal["development", "production", "test"] = "development"
    database_url: str = "sqlite:///var/civicgrid.db"
    # PostgreSQL only: put every table in this schema (tests use a fresh one per run).
    database_schema: str | None = None
    secret_key: str = DEV_SECRET
    timezone: str = "Asia/Shanghai"
    session_max_age_seconds: int = 12 * 3600
    # Bearer tokens (the handler app, integrations) expire this many days after they are made.
    token_max_age_days: int = 90
    login_max_failures: int = 5
    login_lock_minutes: int = 15
    # Working time, local clock: morning and afternoon periods of a working day.
    work_periods: str = "08:30-12:00,13:00-17:30"
    auto_dispatch: bool = True
    citizen_reports_need_acceptance: bool = False
    light_yellow_fraction: float = 0.8
    redis_url: str | None = None
    # How long a web request waits for the database's write lock (SQLite: the one writer at a
    # time; PostgreSQL: any row or table lock, as lock_timeout) before it is answered 503 with
    # Retry-After. The command line waits longer (cli.CLI_WRITE_WAIT_SECONDS).
    write_wait_seconds: float = Field(default=10.0, gt=0, le=600)
    case_code_prefix: str = "XF"
    media_dir: str = "var/media"
    # Where photos are kept: "local" (media_dir) or "s3" (any S3-compatible store)
    media_store: Literal["local", "s3"] = "local"
    s3_endpoint_url: str | None = None  # e.g. http://minio.internal:9000; none: AWS
    s3_bucket: str | None = None
    s3_prefix: str = ""
    s3_region: str = "us-east-1"
    s3_access_key: str | None = None
    s3_secret_key: str | None = None
    # Photo files no photo row refers to (left by a killed process) are removed when the server
    # starts, if older than this. With several servers sharing one store, make it longer than
    # the longest request.
    media_sweep_grace_seconds: int = 0
    photo_max_bytes: int = 10 * 1024 * 1024
    photo_max_pixels: int = 40_000_000
    reports_per_hour_per_address: int = 30
    reports_per_hour_per_phone: int = 10
    duplicate_radius_m: float = 50.0
    duplicate_days: int = 7
    public_base_url: str | None = None
    # A tile URL template for the maps ({z}/{x}/{y}); none: outlines on a plain background.
    tile_url: str | None = None

    @model_validator(mode="after")
    def _refuse_default_secret(self) -> Settings:
        if self.mode == "production" and self.secret_key == DEV_SECRET:
            raise ValueError(
                "CIVICGRID_SECRET_KEY must be set outside development mode "
                "(生产模式必须设置 CIVICGRID_SECRET_KEY)"
            )
        if self.media_store == "s3" and not self.s3_bucket:
            raise ValueError("CIVICGRID_S3_BUCKET must be set when CIVICGRID_MEDIA_STORE is s3")
        return self


@lru_cache
def get_settings() -> Settings:
    return Settings()
