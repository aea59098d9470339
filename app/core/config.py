"""One Settings object for the whole service, read from ONBOARDER_* environment variables."""

from __future__ import annotations

import os
from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import Annotated

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


class Mode(StrEnum):
    # embedded: one process, SQLite by default, generates its own encryption key and migrates
    # itself at start. production: nothing is generated, everything must be configured.
    EMBEDDED = "embedded"
    PRODUCTION = "production"


class LogFormat(StrEnum):
    TEXT = "text"
    JSON = "json"


def _default_data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "onboarder"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ONBOARDER_", extra="ignore")

    mode: Mode = Mode.EMBEDDED
    data_dir: Path = Field(default_factory=_default_data_dir)
    database_url: str = ""
    # Fernet keys, newest first; secrets are encrypted with the first and decrypted with any.
    encryption_keys: Annotated[list[SecretStr], NoDecode] = Field(default_factory=list)
    log_format: LogFormat = LogFormat.TEXT
    log_level: str = "INFO"
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    # None: migrate at start in embedded mode only; production runs `onboarder migrate`.
    auto_migrate: bool | None = None
    # The identity customers trust in their roles. Default: whoever the platform's own AWS
    # credentials are (sts:GetCallerIdentity), which is wrong behind some proxies.
    platform_principal_arn: str | None = None
    # Most AWS requests one connection test or discovery keeps in flight at once.
    aws_max_concurrency: int = Field(default=64, ge=1, le=512)
    # Bounded AWS waits. A request a person waits on (a connection test, one discovery
    # request, one onboarding) ends with aws_timeout at this deadline, whatever AWS does.
    aws_interactive_deadline_seconds: float = Field(default=25.0, gt=0, le=600)
    # The SDK's wait for each answer within such a request (3 attempts), so that one silent
    # attempt leaves time to retry before the deadline.
    aws_interactive_read_timeout_seconds: float = Field(default=10.0, gt=0, le=120)
    # Runs keep the SDK's patient limits (30 s, 5 attempts) but give up on an account or
    # region (reaching it, listing it, or inspecting one of its APIs) after this, record
    # aws_timeout for it and go on with the rest.
    aws_run_region_deadline_seconds: float = Field(default=300.0, gt=0)
    # How long a discovery's answer is reused for the next pages and the same question.
    discovery_cache_seconds: int = Field(default=60, ge=0)
    # The largest OpenAPI export of an API that onboarding accepts.
    max_definition_bytes: int = Field(default=10 * 1024 * 1024, ge=1024)
    # Definition versions kept per stage (the current one always among them); older ones go.
    definition_versions_kept: int = Field(default=20, ge=1, le=1000)
    # Worker threads for the HTTP API's sync endpoints and dependencies, and the database
    # connections each process may open: a connection for every worker thread, plus the
    # embedded scheduler's and a few to spare, unless db_pool_size says otherwise.
    http_threads: int = Field(default=40, ge=1, le=1024)
    db_pool_size: int | None = Field(default=None, ge=1, le=1024)
    # How long a request waits for a database connection before it is a 503 database_busy.
    db_pool_timeout_seconds: float = Field(default=5.0, gt=0, le=60)
    # A database that does not accept a connection within this is unavailable (PostgreSQL;
    # SQLite waits this long for a lock), and no statement may run longer than the second.
    db_connect_timeout_seconds: float = Field(default=5.0, gt=0, le=120)
    db_statement_timeout_seconds: float = Field(default=30.0, gt=0, le=3600)
    # Keys a tenant may hold (not revoked) through POST /api-keys; the CLI is not bound.
    max_api_keys_per_tenant: int = Field(default=50, ge=1, le=10_000)
    # Lets an API key's last_used_at lag by this much instead of writing on every request.
    api_key_touch_interval_seconds: int = Field(default=60, ge=0)
    # None: `onboarder serve` runs the auto-onboard scheduler in-process in embedded mode only;
    # production runs `onboarder scheduler` processes beside stateless API processes.
    embedded_scheduler: bool | None = None
    # How often a scheduler looks for due schedules, queued runs and dead runs; a schedule
    # saved through any process takes effect within this.
    scheduler_poll_seconds: float = Field(default=10.0, gt=0, le=60)
    # Runs one scheduler process executes at once.
    scheduler_max_runs: int = Field(default=2, ge=1, le=64)
    # A stopping scheduler (SIGTERM) claims nothing more, gives its runs this long to end, then
    # fails the rest as run_interrupted; it exits within this plus 5 seconds.
    scheduler_stop_grace_seconds: float = Field(default=10.0, ge=0, le=300)
    # A running run says it is alive this often; one silent for run_timeout_seconds is failed.
    run_heartbeat_seconds: float = Field(default=30.0, gt=0)
    run_timeout_seconds: float = Field(default=300.0, gt=0)
    # Webhook deliveries: an attempt that gets no 2xx answer within this is failed (and tried
    # again later).
    webhook_timeout_seconds: float = Field(default=15.0, gt=0, le=60)
    # Attempts one scheduler process makes at once, and at most this many to one endpoint (a
    # slow receiver holds no more threads than that).
    webhook_delivery_threads: int = Field(default=16, ge=1, le=256)
    webhook_per_endpoint_in_flight: int = Field(default=4, ge=1, le=64)
    # How often a scheduler looks for due deliveries when it has nothing under way.
    webhook_poll_seconds: float = Field(default=1.0, gt=0, le=60)
    # Where AWS reaches this service from the internet (the ingest URL an EventBridge API
    # destination posts to), e.g. https://onboarder.example.com; None: the URL a request to
    # the service came in on.
    public_url: str | None = None
    # Real-time updates: an API's events are synced together once none came for
    # ingest_debounce_seconds (a deploy is a burst of calls), and at the latest
    # ingest_max_delay_seconds after the first of them.
    ingest_debounce_seconds: float = Field(default=15.0, ge=0, le=600)
    ingest_max_delay_seconds: float = Field(default=120.0, gt=0, le=3600)
    # How often a scheduler looks for debounced triggers; APIs synced at once per process.
    ingest_poll_seconds: float = Field(default=2.0, gt=0, le=60)
    ingest_threads: int = Field(default=8, ge=1, le=64)
    # Triggers done or dropped are kept this long (the connection's real-time status).
    ingest_retention_days: int = Field(default=7, ge=1, le=365)
    # `onboarder scheduler` serves its Prometheus metrics (webhook deliveries) on this port.
    scheduler_metrics_port: int | None = Field(default=None, ge=1, le=65535)

    @field_validator("encryption_keys", mode="before")
    @classmethod
    def _split_keys(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @model_validator(mode="after")
    def _defaults(self) -> Settings:
        if not self.database_url:
            self.database_url = f"sqlite:///{self.data_dir / 'onboarder.db'}"
        if self.auto_migrate is None:
            self.auto_migrate = self.mode is Mode.EMBEDDED
        if self.embedded_scheduler is None:
            self.embedded_scheduler = self.mode is Mode.EMBEDDED
        if self.run_timeout_seconds < 2 * self.run_heartbeat_seconds:
            raise ValueError(
                "ONBOARDER_RUN_TIMEOUT_SECONDS must be at least twice "
                "ONBOARDER_RUN_HEARTBEAT_SECONDS, or live runs would be taken for dead"
            )
        return self

    @field_validator("public_url")
    @classmethod
    def _public_url(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        value = value.strip().rstrip("/")
        if not value.startswith(("https://", "http://")):
            raise ValueError(
                "ONBOARDER_PUBLIC_URL must be an http(s) URL, e.g. https://onboarder.example.com"
            )
        return value

    @property
    def pool_size(self) -> int:
        """Database connections per process: every worker thread holds at most one at a time,
        each scheduler run one, each webhook delivery and ingest thread one, and the
        scheduler's poll, heartbeat, delivery claims and /readyz one each."""
        return self.db_pool_size or (
            self.http_threads
            + self.scheduler_max_runs
            + self.webhook_delivery_threads
            + self.ingest_threads
            + 4
        )

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def encryption_key_file(self) -> Path:
        return self.data_dir / "encryption.key"


@lru_cache
def get_settings() -> Settings:
    return Settings()
