"""Settings, read from environment variables prefixed ``CIVICGRID_``, and the secret key."""

from __future__ import annotations

import ipaddress
import os
import re
import secrets
import time
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# A secret key signs session cookies: shorter than this, it could be guessed offline.
SECRET_KEY_MIN_BYTES = 32


_NEED = r"(photo|words|place|phone)"
_NEEDS = rf"^({_NEED}(_or_{_NEED})*(,{_NEED}(_or_{_NEED})*)*)?$"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CIVICGRID_", extra="ignore")

    mode: Literal["development", "production", "test"] = "development"
    database_url: str = "sqlite:///var/civicgrid.db"
    # PostgreSQL only: put every table in this schema (tests use a fresh one per run).
    database_schema: str | None = None
    # Signs the session cookies. Unset: a random key generated once into <var_dir>/secret_key
    # (see secret_key()). Several servers behind one address must all be given the same key.
    secret_key: str | None = None
    # Files the server makes for itself (the generated secret key).
    var_dir: str = "var"
    timezone: str = "Asia/Shanghai"
    # A browser session (a user_sessions row) ends this long after sign-in, or at sign-out.
    session_max_age_seconds: int = 12 * 3600
    # Bearer tokens (the handler app, integrations) expire this many days after they are made.
    token_max_age_days: int = 90
    # This many failed sign-ins from one address to one account within login_lock_minutes lock
    # that address out of that account (and only that) for login_lock_minutes.
    login_max_failures: int = 5
    login_lock_minutes: int = 15
    # An address that fails this often within login_lock_minutes, whatever the accounts
    # (password spraying), is refused for every account.
    login_max_failures_per_address: int = 20
    # Failures on one account from all addresses together slow its sign-ins down instead:
    # 0.25 s after the first, doubling with each further one, at most this many seconds.
    login_delay_max_seconds: float = 5.0
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
    # nginx sends the photos (X-Accel-Redirect): the prefix of the site's internal locations,
    # e.g. /_media/ (deploy/nginx/civicgrid.conf). Empty: the app sends them itself (`make run`
    # without nginx).
    accel_redirect: str = ""
    # Photo files no photo row refers to (left by a killed process) are removed by the hourly
    # `media-sweep` job once older than this: longer than the longest request, so that a file
    # another process is writing (its report not yet committed) is never taken.
    media_sweep_grace_seconds: int = Field(default=3600, ge=0)
    # Run the periodic jobs (kit.scheduler) in this process. `civicgrid serve` turns it on; with
    # several processes or machines each runs it, and a lease per job lets one run it at a time.
    run_scheduler: bool = False
    # How often the scheduler looks for due jobs.
    scheduler_tick_seconds: float = Field(default=30.0, gt=0, le=3600)
    photo_max_bytes: int = 10 * 1024 * 1024
    # A notice's attachment (PDF, Office file, image) and how many one notice may carry.
    document_max_bytes: int = Field(default=20 * 1024 * 1024, gt=0)
    notice_max_attachments: int = Field(default=10, ge=1, le=100)
    # A warning's CAP 1.2 sender (no spaces, commas, < or &).
    notice_cap_sender: str = Field(default="civicgrid@xiangfang", pattern=r"^[^\s,<&]+$")
    # Decoding costs by the pixel: a photo may have at most this many, a report's photos together
    # this many (six 6000x6000 PNGs of 105 KB each cost 5.9 s of CPU and 345 MB before these).
    photo_max_pixels: int = 24_000_000
    report_max_pixels: int = 48_000_000
    # The largest GeoJSON an administrator may upload (the demo's 35,000 grids are ~40 MB).
    geo_import_max_bytes: int = 200 * 1024 * 1024
    # Reverse proxies whose X-Forwarded-For and X-Forwarded-Proto are believed: addresses or
    # networks, comma-separated. None by default: the connecting address is the client's.
    trusted_proxies: str = ""
    # In production, /metrics and the API's documents (/docs, /redoc, /openapi.json) answer only
    # these addresses or networks, or a caller with `Authorization: Bearer <ops_token>`.
    ops_allowed_addresses: str = "127.0.0.1,::1"
    ops_token: str | None = None
    reports_per_hour_per_address: int = 30
    reports_per_hour_per_phone: int = 10
    duplicate_radius_m: float = 50.0
    duplicate_days: int = 7
    # What a citizen's report must have (the phone page and its API; staff and Open311 have
    # their own rules): comma-separated needs, each one thing or alternatives joined by "_or_"
    # of photo, words (a description), place (a point on the map, a photo's GPS or an
    # address), phone. Empty: only a category.
    report_requires: str = Field(default="photo_or_words,place", pattern=_NEEDS)
    # The address the public reaches this server at (https://civic.example.org): the Open311
    # discovery and media URLs are built on it, never on the request's Host header.
    public_base_url: str | None = None
    # Host names this server answers to (the Host header), comma-separated; "*.example.org"
    # for its subdomains, "*" for any. Unset: any in development and test; in production the
    # host of public_base_url, and with neither set the server refuses to start.
    allowed_hosts: str | None = None
    # What anonymous Open311 reads show (README: "Open311: what the public sees"): cases of
    # these sources only (comma-separated); hotline, staff and supervisor cases are internal.
    open311_public_sources: str = "citizen,open311"
    # Report photos of those cases: all (as FixMyStreet), after_review (only photos a
    # dispatcher has marked public), none.
    public_photos: Literal["all", "after_review", "none"] = "all"
    # Photos by URL (an Open311 `media_url`): fetched into the photo store, after the answer,
    # only from these hosts (comma-separated; "*.example.org" for subdomains; never "*": this
    # is not an open fetcher). Empty: none is fetched; the URL is kept and shown as given.
    open311_media_fetch_hosts: str = ""
    # Also from addresses in private, loopback or link-local networks (a partner on the
    # district's own network); off, such an address is refused whatever the host's name.
    open311_media_fetch_private: bool = False
    open311_media_fetch_timeout_seconds: float = Field(default=10.0, gt=0, le=60)
    # An Open311 attribute the service does not define: kept in the case's payload (default),
    # or refused with 400 (strict).
    open311_strict_attributes: bool = False
    # Evidence (live actions only): report_done needs an after-photo, except for cases whose
    # category's major class (the code's first two digits, e.g. "14" for consultations) is
    # listed here, comma-separated; verify_pass and verify_fail always need a note.
    evidence_photo_exempt_classes: str = ""
    # A tile URL template for the maps ({z}/{x}/{y}, XYZ in EPSG:3857: Tianditu with its key,
    # AMap, a district's own server); none and no tile_local: outlines on a plain background.
    tile_url: str | None = None
    # A local tile source served by this app at /tiles/{z}/{x}/{y} (closed networks): a folder
    # of z/x/y.png (or .jpg, .webp) tiles, a .pmtiles or a .mbtiles file. Set, it is the maps'
    # tile_url unless tile_url names another.
    tile_local: str | None = None
    tile_max_zoom: int = Field(default=18, ge=1, le=22)
    # What {s} in tile_url stands for, one character each (Tianditu: 01234567).
    tile_subdomains: str = Field(default="abc", min_length=1, max_length=16)
    # Retention: the reporter's name, phone, e-mail and tracking secret of a case are erased
    # this many days after the case was closed (the case stays); 0 keeps them.
    personal_data_retention_days: int = Field(default=3 * 365, ge=0, le=36500)
    # The datum of those tiles: fixes are WGS-84, and pages shift them for GCJ-02 tiles (AMap,
    # Tencent) so that a track lies on its road. cgcs2000 (Tianditu) is WGS-84 to well under a
    # metre. bd09 is refused: Baidu's tiles use a grid of their own, not EPSG:3857.
    tile_datum: Literal["wgs84", "cgcs2000", "gcj02", "bd09"] = "wgs84"
    # Vehicle tracks (vehicles/). JT/T 808: an unknown terminal's 0x0100 is refused (result 4)
    # unless this is on; then it is registered with a vehicle of its plate (type "other") in
    # gps_auto_register_unit.
    gps_auto_register: bool = False
    gps_auto_register_unit: str | None = None
    # A gateway connection with nothing received for this long is closed.
    gps_idle_seconds: float = Field(default=300.0, gt=0, le=86400)
    # Filters before storing (Traccar's): invalid fixes, (0, 0), duplicate times, fixes more
    # than gps_future_seconds ahead of the server's clock, and jumps (an implied speed from
    # the last kept fix above gps_max_speed_kmh).
    gps_filter_invalid: bool = True
    gps_future_seconds: int = Field(default=300, ge=0)
    gps_max_speed_kmh: float = Field(default=200.0, gt=0)
    # PostgreSQL: whole day partitions of fixes older than this are dropped.
    gps_retention_days: int = Field(default=400, ge=1)
    # Trips and stops (shared/reference/trips.md), Traccar's defaults.
    trip_min_distance_m: float = Field(default=200.0, gt=0)
    trip_min_duration_s: float = Field(default=180.0, gt=0)
    trip_stop_gap_s: float = Field(default=3600.0, gt=0)
    # Sanitation coverage (shared/reference/coverage.md, where every number is a setting): a
    # segment is two fixes at most coverage_segment_max_gap_s apart; a road is covered within
    # coverage_road_buffer_m of working segments (also a line geofence's default half-width);
    # a collection point is visited by a stay of coverage_visit_min_s or more within
    # coverage_visit_radius_m; a vehicle is idle after coverage_idle_min_s within
    # coverage_idle_radius_m; a missed point opens a case of coverage_missed_category.
    coverage_segment_max_gap_s: float = Field(default=60.0, gt=0)
    coverage_road_buffer_m: float = Field(default=20.0, gt=0, le=1000)
    coverage_visit_radius_m: float = Field(default=30.0, gt=0, le=1000)
    coverage_visit_min_s: float = Field(default=60.0, ge=0)
    coverage_idle_radius_m: float = Field(default=20.0, gt=0, le=1000)
    coverage_idle_min_s: float = Field(default=1800.0, gt=0)
    coverage_missed_category: str = Field(default="06042", pattern=r"^\d{4,8}$")
    # Snow season (shared/reference/snow.md, every number a setting): a section is cleared when
    # ploughs' and loaders' working segments cover snow_clear_share of it (within
    # coverage_road_buffer_m); a trip is a hauler's stay of snow_trip_min_stay_s or more in a
    # field, its section the last one within coverage_road_buffer_m in the snow_trip_lookback_s
    # before; a gate ticket matches a trip of its plate entering within snow_ticket_match_s;
    # a field warns at snow_field_warn_percents of its capacity; an overdue task and a 污雪 trip
    # open a case of snow_case_category; citizens' road-snow reports are snow_report_category.
    snow_clear_share: float = Field(default=0.9, gt=0, le=1)
    snow_trip_min_stay_s: float = Field(default=120.0, ge=0)
    snow_trip_lookback_s: float = Field(default=7200.0, gt=0)
    snow_ticket_match_s: float = Field(default=600.0, ge=0)
    snow_field_warn_percents: str = Field(default="80,95", pattern=r"^\d{1,3}(,\d{1,3})*$")
    snow_case_category: str = Field(default="10001", pattern=r"^\d{4,8}$")
    snow_report_category: str = Field(default="10001", pattern=r"^\d{4,8}$")
    # Work logs (worklogs/): the roles whose people write a log every day (the leader's page of
    # who has not submitted lists them), and the longest entry (characters).
    worklog_roles: str = Field(default="handler,supervisor", pattern=r"^[a-z,]+$")
    worklog_entry_max_chars: int = Field(default=2000, ge=100, le=20000)
    # Spot checks (以克论净): the most dust (g/m²) a road of each grade may keep; a grade not
    # listed uses "default" (Shijiazhuang: 5 inside the 2nd ring, 8 outside, 20 on sidewalks;
    # Zhengzhou: 10). The share of the spot-check score in the monthly assessment: 0 keeps
    # kpis.md's composite unchanged.
    spotcheck_dust_limits: dict[str, float] = Field(
        default_factory=lambda: {"inner": 5.0, "outer": 8.0, "sidewalk": 20.0, "default": 10.0}
    )
    spotcheck_assessment_weight: float = Field(default=0.0, ge=0, le=1)
    # Assessment by subject (reference/assessment.md; stats/assessment.py): the time limits in
    # working minutes on the working calendar (registration after the report, dispatch after the
    # latest accept or return, the supervisor's check after the report_done), each composite's
    # weights (summing to 1) and the bands that score a count: [upper bound, score] pairs in
    # order, the last with bound null giving the score above every bound.
    assessment_limit_registration_minutes: int = Field(default=60, gt=0, le=100_000)
    assessment_limit_dispatch_minutes: int = Field(default=30, gt=0, le=100_000)
    assessment_limit_check_minutes: int = Field(default=120, gt=0, le=100_000)
    assessment_weights: dict[str, dict[str, float]] = Field(
        default_factory=lambda: {
            "region": {"public_report": 0.10, "registered": 0.20, "closure": 0.30, "on_time": 0.40},
            "department": {
                "registered": 0.10,
                "handle": 0.30,
                "on_time_handle": 0.30,
                "rework": 0.30,
            },
            "supervisor": {"valid": 0.50, "missed": 0.25, "check": 0.25},
            "operator": {"accepted": 0.25, "accept_right": 0.40, "accept_on_time": 0.35},
            "dispatcher": {"dispatch": 0.20, "dispatch_on_time": 0.40, "dispatch_right": 0.40},
        }
    )
    assessment_bands: dict[str, list[tuple[float | None, float]]] = Field(
        default_factory=lambda: {
            "region": [(0, 100), (2, 90), (4, 75), (6, 60), (8, 40), (None, 0)],
            "department": [(50, 100), (100, 90), (200, 75), (500, 60), (1000, 40), (None, 0)],
            "operator": [(100, 40), (300, 60), (500, 75), (1200, 90), (None, 100)],
            "dispatcher": [(100, 40), (300, 60), (500, 75), (1200, 90), (None, 100)],
        }
    )
    # The city's 12345 platform (hotline/): the shared secret of both directions' HMAC signatures
    # (while it is empty the webhook refuses every order with 401), how old a signed request may be,
    # where status goes (empty: the outbox keeps it), the pull API of platforms that have no
    # webhook (empty: no polling), and the field mapping file (empty: the generic JSON one).
    hotline_secret: str = ""
    hotline_signature_window_seconds: int = Field(default=300, ge=10, le=3600)
    hotline_status_url: str = ""
    hotline_poll_url: str = ""
    hotline_poll_seconds: int = Field(default=60, ge=5, le=86400)
    hotline_mapping_path: str = ""
    # An order's attachments (URLs) are fetched as the case's report photos from these hosts
    # only (comma-separated, `*.example.org` for subdomains; empty: kept as URLs, not fetched);
    # private addresses only when hotline_attachment_private (a platform on the closed network).
    hotline_attachment_hosts: str = ""
    hotline_attachment_private: bool = False
    # The outbox's sender: each message is tried up to max_attempts times, waiting
    # backoff * 2^(n-1) seconds (at most backoff_max) after the n-th failure, then dead-lettered.
    hotline_outbox_seconds: int = Field(default=30, ge=1, le=3600)
    hotline_timeout_seconds: float = Field(default=10.0, gt=0, le=120)
    hotline_max_attempts: int = Field(default=8, ge=1, le=100)
    hotline_backoff_seconds: float = Field(default=30.0, ge=0, le=86400)
    hotline_backoff_max_seconds: float = Field(default=3600.0, ge=0, le=7 * 86400)
    # Web Push to the handler app (kit/webpush.py): this server's VAPID private key (P-256,
    # base64url; unset: generated once into <var_dir>/vapid_private_key, so several nodes set
    # the same one) and the contact it names to push services (unset: public_base_url).
    vapid_private_key: str | None = None
    vapid_subject: str | None = None
    # Notifications (kit/notify.py): each channel writes to the log until its gateway is set.
    notify_sms_url: str = ""
    notify_sms_sign: str = ""
    notify_wecom_url: str = ""
    notify_smtp_host: str = ""
    notify_smtp_port: int = Field(default=25, ge=1, le=65535)
    notify_smtp_sender: str = "civicgrid@localhost"
    notify_smtp_user: str = ""
    notify_smtp_password: str = ""
    notify_smtp_starttls: bool = False
    notify_timeout_seconds: float = Field(default=10.0, gt=0, le=120)

    @model_validator(mode="after")
    def _refuse_weak_secret(self) -> Settings:
        # The tests sign with a short fixed key; every other mode gets a real one or none.
        if self.mode != "test" and self.secret_key is not None:
            size = len(self.secret_key.encode())
            if size < SECRET_KEY_MIN_BYTES:
                raise ValueError(
                    f"CIVICGRID_SECRET_KEY 太短 ({size} 字节), "
                    f"至少需要 {SECRET_KEY_MIN_BYTES} 字节; "
                    "可用 python -c 'import secrets; print(secrets.token_urlsafe(48))' 生成, "
                    "或不设置它以使用自动生成的 var/secret_key / "
                    f"CIVICGRID_SECRET_KEY is too short ({size} bytes): it needs at least "
                    f"{SECRET_KEY_MIN_BYTES}; make one with python -c 'import secrets; "
                    "print(secrets.token_urlsafe(48))', or unset it to use the generated "
                    "var/secret_key"
                )
        for name in ("trusted_proxies", "ops_allowed_addresses"):
            for item in getattr(self, name).split(","):
                try:
                    ipaddress.ip_network(item.strip())
                except ValueError:
                    if item.strip():
                        raise ValueError(
                            f"CIVICGRID_{name.upper()}: {item.strip()!r} is not an address or "
                            "network (e.g. 10.0.0.5 or 10.0.0.0/24)"
                        ) from None
        if self.accel_redirect and not (
            self.accel_redirect.startswith("/") and self.accel_redirect.endswith("/")
        ):
            raise ValueError(
                "CIVICGRID_ACCEL_REDIRECT must be a path that starts and ends with / (such as "
                f"/_media/), not {self.accel_redirect!r}"
            )
        if self.media_store == "s3" and not self.s3_bucket:
            raise ValueError("CIVICGRID_S3_BUCKET must be set when CIVICGRID_MEDIA_STORE is s3")
        return self

    @model_validator(mode="after")
    def _check_tiles(self) -> Settings:
        if self.tile_datum == "bd09":
            raise ValueError(
                "CIVICGRID_TILE_DATUM=bd09 不支持: 百度地图的瓦片不是 EPSG:3857 的 XYZ 网格, "
                "请用天地图 (cgcs2000)、高德 (gcj02) 或本地瓦片 / CIVICGRID_TILE_DATUM=bd09 is "
                "not supported: Baidu's tiles are not an EPSG:3857 XYZ grid; use Tianditu "
                "(cgcs2000), AMap (gcj02) or local tiles"
            )
        if self.tile_local and not self.tile_url:
            self.tile_url = "/tiles/{z}/{x}/{y}"
        return self

    def map_datum(self) -> str:
        """The datum the maps draw on: wgs84 (also for CGCS2000 tiles) or gcj02."""
        return "gcj02" if self.tile_datum == "gcj02" else "wgs84"

    @model_validator(mode="after")
    def _check_assessment(self) -> Settings:
        for subject, weights in self.assessment_weights.items():
            if abs(sum(weights.values()) - 1) > 1e-9 or any(w < 0 for w in weights.values()):
                raise ValueError(
                    f"CIVICGRID_ASSESSMENT_WEIGHTS: the weights of {subject} must be at least 0 "
                    f"and sum to 1, not {sum(weights.values())}"
                )
        for name, bands in self.assessment_bands.items():
            bounds = [b for b, _ in bands]
            if (
                not bands
                or bounds[-1] is not None
                or None in bounds[:-1]
                or bounds[:-1] != sorted(bounds[:-1])
            ):
                raise ValueError(
                    f"CIVICGRID_ASSESSMENT_BANDS: the bands of {name} must be [bound, score] pairs "
                    "with rising bounds and a last pair [null, score]"
                )
        return self

    @model_validator(mode="after")
    def _check_public_access(self) -> Settings:
        # (the public sources are checked against the workflow's by open311.service.PublicPolicy:
        # settings know no domain)
        if self.public_base_url is not None:
            parts = urlsplit(self.public_base_url)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise ValueError(
                    "CIVICGRID_PUBLIC_BASE_URL must be an http(s) URL such as "
                    f"https://civic.example.org, not {self.public_base_url!r}"
                )
        for host in self._listed_hosts():
            if not _HOST_PATTERN.fullmatch(host):
                raise ValueError(
                    f"CIVICGRID_ALLOWED_HOSTS: {host!r} is not a host name "
                    "(civic.example.org, *.example.org or *; no scheme, port or path)"
                )
        for host in self.media_fetch_hosts():
            if host == "*" or not _HOST_PATTERN.fullmatch(host):
                raise ValueError(
                    f"CIVICGRID_OPEN311_MEDIA_FETCH_HOSTS: {host!r} is not a host name "
                    "(photos.example.org or *.example.org; never *: not an open fetcher)"
                )
        return self

    def media_fetch_hosts(self) -> tuple[str, ...]:
        """The hosts Open311 photos by URL are fetched from."""
        items = self.open311_media_fetch_hosts.split(",")
        return tuple(h.strip().lower() for h in items if h.strip())

    def report_needs(self) -> list[tuple[str, ...]]:
        """`report_requires` read: each need as its alternatives (("photo", "words"), ...)."""
        return [tuple(n.split("_or_")) for n in self.report_requires.split(",") if n]

    def public_sources(self) -> frozenset[str]:
        """The case sources anonymous Open311 reads show."""
        return frozenset(s.strip() for s in self.open311_public_sources.split(",") if s.strip())

    def photo_exempt_classes(self) -> frozenset[str]:
        """The category major classes whose report_done needs no after-photo."""
        items = self.evidence_photo_exempt_classes.split(",")
        return frozenset(c.strip() for c in items if c.strip())

    def _listed_hosts(self) -> list[str]:
        return [h.strip().lower() for h in (self.allowed_hosts or "").split(",") if h.strip()]

    def trusted_hosts(self) -> list[str]:
        """The Host header values the server answers to (["*"]: any). ValueError in production
        when neither allowed_hosts nor public_base_url says which: a server answering to any
        Host is one that builds links and cookies for whoever asks."""
        listed = self._listed_hosts()
        if listed:
            return listed
        if self.mode != "production":
            return ["*"]
        if self.public_base_url:
            return [urlsplit(self.public_base_url).hostname]
        raise ValueError(
            "生产模式须设置 CIVICGRID_ALLOWED_HOSTS (本服务的主机名, 逗号分隔) 或 "
            "CIVICGRID_PUBLIC_BASE_URL / production mode needs CIVICGRID_ALLOWED_HOSTS (this "
            "server's host names, comma-separated) or CIVICGRID_PUBLIC_BASE_URL"
        )


# A host name, a "*." pattern for its subdomains, or "*" (Starlette's TrustedHostMiddleware).
_HOST_PATTERN = re.compile(r"\*|(\*\.)?[a-z0-9]([a-z0-9.-]*[a-z0-9])?")


@lru_cache
def get_settings() -> Settings:
    return Settings()


# --- the secret key ----------------------------------------------------------------------------


@dataclass(frozen=True)
class SecretKey:
    """The key that signs session cookies and where it came from: "environment"
    (CIVICGRID_SECRET_KEY), "file" (an existing <var_dir>/secret_key) or "generated" (written
    into <var_dir>/secret_key by this call), or "none" (no key yet and create=False)."""

    key: str | None
    source: Literal["environment", "file", "generated", "none"]
    path: Path | None


class SecretKeyError(RuntimeError):
    """The key file exists but cannot serve as a key."""


# Keys read from or written to a file, by path: read once per process.
_from_file: dict[Path, str] = {}
# How long a process that lost the race to create the key file waits for the winner's key.
KEY_FILE_WAIT_SECONDS = 5.0


def secret_key_path(settings: Settings) -> Path:
    return Path(settings.var_dir) / "secret_key"


def secret_key(settings: Settings, *, create: bool = True) -> SecretKey:
    """The secret key: CIVICGRID_SECRET_KEY when set; else the key in <var_dir>/secret_key;
    else (when `create`) a new random key of 64 characters written there with mode 0600.
    Processes starting together end with one key: the file is created exclusively (O_EXCL)
    and the losers read the winner's. Raises SecretKeyError for an unreadable or too short
    file."""
    if settings.secret_key is not None:
        return SecretKey(settings.secret_key, "environment", None)
    # Asked for on every request: no file system call once the key is known.
    path = secret_key_path(settings).absolute()
    if path in _from_file:
        return SecretKey(_from_file[path], "file", path)
    if path.exists():
        key, source = _read_key_file(path), "file"
    elif create:
        key, made = _create_key_file(path)
        source = "generated" if made else "file"
    else:
        return SecretKey(None, "none", path)
    _from_file[path] = key
    return SecretKey(key, source, path)


def _read_key_file(path: Path) -> str:
    # A racing creator writes its key right after creating the file: wait for it briefly.
    deadline = time.monotonic() + KEY_FILE_WAIT_SECONDS
    while True:
        try:
            key = path.read_text(encoding="ascii").strip()
        except (OSError, UnicodeDecodeError) as exc:
            raise SecretKeyError(
                f"无法读取密钥文件 {path}: {exc} / cannot read the secret key file {path}: {exc}"
            ) from exc
        if len(key.encode()) >= SECRET_KEY_MIN_BYTES:
            return key
        if time.monotonic() > deadline:
            raise SecretKeyError(
                f"密钥文件 {path} 太短 (至少 {SECRET_KEY_MIN_BYTES} 字节); 删除它以重新生成 / "
                f"the secret key file {path} is too short (at least {SECRET_KEY_MIN_BYTES} "
                "bytes); delete it to have a new one generated"
            )
        time.sleep(0.02)


def _create_key_file(path: Path) -> tuple[str, bool]:
    """(key, True) when this call created the file, (the existing key, False) when another
    process created it first."""
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)  # 48 random bytes, 64 characters
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return _read_key_file(path), False
    with os.fdopen(fd, "w", encoding="ascii") as f:
        f.write(key + "\n")
        f.flush()
        os.fsync(f.fileno())
    return key, True
