"""Instance settings: one class, read from the environment (prefix ``MAILLON_``)."""

from __future__ import annotations

import tempfile
from functools import lru_cache
from ipaddress import IPv4Network, IPv6Network, ip_network
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

_DEV_SECRET = "dev-only-change-me-this-is-not-a-secret"  # noqa: S105  (refused in production, see below)


def _both(name: str) -> AliasChoices:
    """Read ``MAILLON_<NAME>`` and, as the wider ecosystem does, plain ``<NAME>``."""
    return AliasChoices(f"MAILLON_{name}", name)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="MAILLON_", env_file=".env", extra="ignore", populate_by_name=True
    )

    environment: Literal["development", "test", "production"] = "development"

    # Connections. Unset: the embedded PostgreSQL / Redis are started (services/core/embedded.py).
    database_url: str | None = Field(default=None, validation_alias=_both("DATABASE_URL"))
    redis_url: str | None = Field(default=None, validation_alias=_both("REDIS_URL"))
    database_pool_size: int = Field(default=10, ge=1, le=200)
    # No overflow connections by default (decision 0034): a request waits for one of the pool's.
    database_max_overflow: int = Field(default=0, ge=0, le=200)
    database_connect_timeout: float = Field(default=5.0, gt=0)
    # Longest statement, set on every connection (PostgreSQL's statement_timeout): the API's,
    # and the workers' and relay's (which sweep whole days at once); commands have none.
    # 0: no limit. The driver gives up a few seconds later on its own (decision 0056).
    database_statement_timeout_seconds: float = Field(default=30.0, ge=0, le=3600)
    worker_statement_timeout_seconds: float = Field(default=300.0, ge=0, le=86400)
    # Longest wait for a row or table lock (lock_timeout), every connection; 0: no limit.
    database_lock_timeout_seconds: float = Field(default=10.0, ge=0, le=3600)
    # Longest wait for a free connection of the pool before a 503.
    database_pool_timeout_seconds: float = Field(default=5.0, gt=0, le=300)
    # An API process asks PostgreSQL ``SELECT 1`` this often on a connection of its own; no
    # answer within the timeout: PostgreSQL is taken as down, requests answer 503 at once and
    # those waiting on it are cut off, until it answers again (decision 0056). 0: no probe.
    database_probe_seconds: float = Field(default=0.5, ge=0, le=60)
    database_probe_timeout_seconds: float = Field(default=1.0, gt=0, le=60)
    # Allocations between two collections of Python's youngest generation in a service process,
    # its start-up heap frozen (decision 0032); 0: Python's defaults.
    gc_threshold: int = Field(default=20_000, ge=0, le=10_000_000)

    # Where the embedded PostgreSQL and Redis keep their data (reused across runs).
    state_dir: Path = Path(".maillon")
    # Reference data directory (QPV, ROME, communes) loaded by ``maillon up`` when not loaded yet.
    data_dir: Path | None = None

    secret_key: SecretStr = SecretStr(_DEV_SECRET)
    access_token_minutes: int = Field(default=15, ge=1, le=120)
    refresh_token_days: int = Field(default=30, ge=1, le=365)
    # How long an API process remembers who a user or API key is (decision 0029); 0: never.
    auth_cache_seconds: float = Field(default=5.0, ge=0, le=300)

    # HTTP
    api_host: str = "127.0.0.1"
    api_port: int = Field(default=8000, ge=1, le=65535)
    cors_origins: list[str] = Field(default_factory=list)
    idempotency_ttl_hours: int = Field(default=24, ge=1, le=24 * 7)
    # How often an API process checks for a newly imported reference dataset (QPV polygons,
    # communes) instead of checking on every request; 0: on every request.
    referential_recheck_seconds: float = Field(default=5.0, ge=0, le=300)
    page_size_default: int = Field(default=50, ge=1)
    page_size_max: int = Field(default=200, ge=1)
    # Requests per minute a client address may send to the public offers (/v1/public/offers,
    # decision 0062) before 429; IPv6 clients count per /64. Behind a proxy, the address is the
    # one it forwards (uvicorn's FORWARDED_ALLOW_IPS must name the proxy).
    public_rate_limit_per_minute: int = Field(default=120, ge=1, le=100_000)
    # Swagger UI at /docs and the schema at /openapi.json (assets served locally, never a CDN).
    docs_enabled: bool = True

    # Logs
    log_level: str = "INFO"
    log_json: bool = True

    # Outbox relay and workers
    relay_batch_size: int = Field(default=200, ge=1, le=10_000)
    relay_poll_interval: float = Field(default=0.05, gt=0)
    # How often an idle worker looks for jobs in Redis (arq's poll_delay; its default, 0.5 s,
    # would add half a second to each hop of offer → matches → alert, quality.md P3).
    worker_poll_delay: float = Field(default=0.05, gt=0, le=5)
    outbox_retention_days: int = Field(default=30, ge=1)
    # End-to-end delivery (decision 0057): an event published this many seconds ago that a
    # consumer has not handled is enqueued again (Redis may have lost it); the relay looks every
    # `outbox_reconcile_interval_seconds`, and after `outbox_max_publications` publications an
    # event still unhandled is recorded as failed for that consumer.
    outbox_reconcile_after_seconds: float = Field(default=60.0, gt=0, le=86_400)
    outbox_reconcile_interval_seconds: float = Field(default=10.0, gt=0, le=3600)
    outbox_max_publications: int = Field(default=5, ge=1, le=100)
    # Candidates without activity are anonymised after this many months (product.md §9; an
    # organisation may choose 1–36), their organisation warned this many days ahead.
    retention_months: int = Field(default=24, ge=1, le=36)
    retention_warning_days: int = Field(default=30, ge=1, le=90)
    # Liveness files of the workers and the relay (checked by `maillon health …`).
    heartbeat_dir: Path = Path(tempfile.gettempdir())
    # How often a worker touches its file, serving or waiting for Redis (fresh: under 60 s).
    heartbeat_seconds: float = Field(default=5.0, gt=0, le=30)
    job_max_tries: int = Field(default=5, ge=1, le=50)
    # How long one job may run; a job cut short by a killed worker is taken again after this
    # (+ 10 s), when arq's in-progress mark expires.
    job_timeout_seconds: int = Field(default=300, ge=1, le=3600)
    job_retry_base_seconds: float = Field(default=2.0, gt=0)
    job_retry_max_seconds: float = Field(default=600.0, gt=0)

    # Files (CVs, scanned forms): see docs/decisions/0012-file-storage.md and 0060 (S3). Several
    # API replicas need "s3": a local directory is seen by one machine only.
    storage_backend: Literal["local", "s3"] = "local"
    storage_dir: Path = Path(".maillon/files")
    s3_bucket: str | None = None
    # Unset: AWS S3 itself; otherwise the store's URL (MinIO, Ceph, Scaleway, OVH…).
    s3_endpoint_url: str | None = None
    s3_region: str | None = None
    # Unset: the client's usual chain (environment, pod identity, instance profile).
    s3_access_key_id: str | None = None
    s3_secret_access_key: SecretStr | None = None
    # Server-side encryption asked for every object: "AES256" (SSE-S3), "aws:kms", or "" to
    # leave the bucket's default (a store without encryption refuses the header).
    s3_sse: Literal["AES256", "aws:kms", ""] = "AES256"
    # Objects are named <prefix>/<key> when set (a bucket shared with other data).
    s3_prefix: str = Field(default="", max_length=200, pattern=r"^[A-Za-z0-9._/-]*$")
    upload_max_bytes: int = Field(default=10 * 1024 * 1024, ge=1)

    # Address geocoding (BAN): see docs/decisions/0013-geocoding-and-qpv-residence.md.
    geocoder_url: str = "https://data.geopf.fr/geocodage/search"
    geocoder_timeout_seconds: float = Field(default=5.0, gt=0)
    geocoder_connect_timeout_seconds: float = Field(default=2.0, gt=0)
    geocoder_min_score: float = Field(default=0.8, ge=0, le=1)
    geocoder_concurrency: int = Field(default=8, ge=1, le=64)
    geocoder_tries: int = Field(default=2, ge=1, le=5)
    # The geocoding queue (decision 0015): addresses are geocoded by the matching worker, never
    # in the request. False leaves them waiting (status from the commune) without any call.
    geocoder_enabled: bool = True
    geocoding_batch_size: int = Field(default=200, ge=1, le=1000)
    geocoding_lease_seconds: int = Field(default=300, ge=30)
    geocoding_retry_base_seconds: int = Field(default=300, ge=1)
    geocoding_retry_max_seconds: int = Field(default=6 * 3600, ge=1)

    # The 30-day callback window and its alerts (product.md §6, decision 0020). An organisation
    # may override the alert days and office hours (table callback_settings).
    callback_window_days: int = Field(default=30, ge=1, le=365)
    callback_reminder_day: int = Field(default=14, ge=1, le=365)
    callback_urgent_day: int = Field(default=25, ge=1, le=365)
    callback_follow_up_working_days: int = Field(default=2, ge=1, le=30)
    callback_office_start_hour: int = Field(default=9, ge=0, le=23)
    callback_office_end_hour: int = Field(default=18, ge=1, le=24)
    # The sweep (every 10 minutes) raises due alerts in batches of this many cases.
    callback_sweep_batch_size: int = Field(default=1000, ge=1, le=50_000)

    # Notifications (decision 0022): e-mail over SMTP, SMS through an HTTP provider.
    smtp_host: str = "localhost"
    smtp_port: int = Field(default=587, ge=1, le=65535)
    # "starttls": upgrade a plain connection (port 587); "tls": implicit TLS (465); "none": local.
    smtp_security: Literal["starttls", "tls", "none"] = "starttls"
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_from: str = "Maillon <notifications@maillon.invalid>"
    smtp_timeout_seconds: float = Field(default=30.0, gt=0)
    # CA bundle (PEM) to trust for a relay with a private certificate; unset: the system's.
    smtp_ca_file: Path | None = None
    sms_base_url: str | None = None  # unset: SMS are not sent (the rows fail, visibly)
    sms_api_key: SecretStr | None = None
    sms_sender: str = "Maillon"
    sms_max_segments: int = Field(default=2, ge=1, le=6)
    sms_timeout_seconds: float = Field(default=10.0, gt=0)
    # Shared secret of the provider's delivery-status callbacks (HMAC-SHA256 of the body).
    sms_callback_secret: SecretStr | None = None
    notification_batch_size: int = Field(default=50, ge=1, le=1000)
    notification_lease_seconds: int = Field(default=120, ge=1)
    notification_retry_base_seconds: int = Field(default=60, ge=1)
    notification_retry_max_seconds: int = Field(default=3600, ge=1)
    notification_retry_hours: int = Field(default=24, ge=1, le=24 * 7)
    # Seconds between two delivery sweeps of the notifications worker (divides 60).
    notification_sweep_seconds: int = Field(default=10, ge=1, le=60)
    # Local hour (Europe/Paris) of the daily digest.
    notification_digest_hour: int = Field(default=8, ge=0, le=23)
    # Base of the links in messages (the web front-end), e.g. https://maillon.example.org
    notification_link_base_url: str = "http://localhost:8000"
    # Webhooks (decision 0023).
    webhook_timeout_seconds: float = Field(default=10.0, gt=0)
    webhook_disable_after_hours: int = Field(default=24, ge=1, le=24 * 7)
    # Networks webhooks may reach although internal (decision 0042), comma-separated CIDRs,
    # e.g. "127.0.0.0/8,::1/128" for a receiver on the same machine; empty: public addresses only.
    webhook_allowed_networks: str = ""
    # Finished notifications and webhook deliveries are deleted after this many days.
    notification_retention_days: int = Field(default=90, ge=1)

    # Matching (product.md §5, decision 0016): the points of each criterion; a match's score is
    # their sum (100 at most with the defaults, on an NPNRU or QPV-priority contract).
    matching_top_n: int = Field(default=100, ge=1, le=1000)  # matches kept per offer
    matching_weight_sector: float = Field(default=35.0, ge=0)  # a wanted sector (or ROME wish)
    matching_weight_sector_experience: float = Field(default=20.0, ge=0)  # a worked sector only
    matching_weight_qpv: float = Field(default=10.0, ge=0)  # QPV resident
    # QPV resident on an NPNRU contract or one whose qpv_priority is preferred or required.
    matching_weight_qpv_priority: float = Field(default=20.0, ge=0)
    matching_weight_availability: float = Field(default=15.0, ge=0)  # available by the start
    matching_availability_decay_days: int = Field(default=90, ge=1, le=730)  # late → 0 points
    matching_weight_hours: float = Field(default=5.0, ge=0)  # weekly hours compatible
    matching_weight_distance: float = Field(default=15.0, ge=0)  # at home → full, at radius → 0
    matching_weight_eligibility: float = Field(default=10.0, ge=0)  # validated, unexpired

    @model_validator(mode="after")
    def _refuse_unsafe_production(self) -> Settings:
        if self.environment == "production":
            if (
                self.secret_key.get_secret_value() == _DEV_SECRET
                or len(self.secret_key.get_secret_value()) < 32
            ):
                raise ValueError(
                    "MAILLON_SECRET_KEY doit être défini (32 caractères au moins) en production"
                )
            if not self.database_url or not self.redis_url:
                raise ValueError("DATABASE_URL et REDIS_URL sont obligatoires en production")
        return self

    @field_validator("webhook_allowed_networks")
    @classmethod
    def _networks(cls, value: str) -> str:
        try:
            _parse_networks(value)
        except ValueError as exc:
            raise ValueError(
                "MAILLON_WEBHOOK_ALLOWED_NETWORKS : des réseaux CIDR séparés par des virgules, "
                "par exemple 127.0.0.0/8,::1/128"
            ) from exc
        return value

    @property
    def webhook_networks(self) -> tuple[IPv4Network | IPv6Network, ...]:
        return _parse_networks(self.webhook_allowed_networks)

    @property
    def async_database_url(self) -> str:
        """The configured URL with the asyncpg driver, whatever scheme was given."""
        if self.database_url is None:
            raise RuntimeError("database_url is not set (embedded PostgreSQL not started)")
        return to_asyncpg_url(self.database_url)


def _parse_networks(value: str) -> tuple[IPv4Network | IPv6Network, ...]:
    return tuple(ip_network(part.strip()) for part in value.split(",") if part.strip())


def to_asyncpg_url(url: str) -> str:
    for prefix in (
        "postgresql+asyncpg://",
        "postgresql://",
        "postgres://",
        "postgresql+psycopg://",
    ):
        if url.startswith(prefix):
            return "postgresql+asyncpg://" + url[len(prefix) :]
    raise ValueError("DATABASE_URL doit être une URL postgresql://")


@lru_cache
def get_settings() -> Settings:
    return Settings()
