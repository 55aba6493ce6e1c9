"""Settings, read from the environment (BACKORDER_*) when asked for, never at import."""

from __future__ import annotations

from pydantic import field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="BACKORDER_", env_file=".env", extra="ignore")

    database_url: str = "sqlite:///backorder.db"
    host: str = "127.0.0.1"
    port: int = 8000
    shop_timezone: str = "UTC"
    # How often `serve` looks for preorders whose release time has passed (seconds).
    release_check_seconds: float = 30.0

    # -- notifications (issue 8) ------------------------------------------------------------
    # The outbox dispatcher also runs inside `serve` (a background thread) when true.
    dispatch_in_serve: bool = True
    dispatch_poll_seconds: float = 1.0  # idle wait between rounds
    dispatch_batch: int = 20  # deliveries claimed per round
    dispatch_max_attempts: int = 8  # then the delivery is dead-lettered
    dispatch_backoff_seconds: float = 30.0  # first retry delay; doubles per attempt
    dispatch_backoff_max_seconds: float = 3600.0
    # A claimed delivery is hidden from other dispatchers this long; longer than any send.
    dispatch_lease_seconds: float = 120.0
    # E-mail to customers goes out only when an SMTP host is set.
    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_starttls: bool = False
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_from: str = "backorder@localhost"
    smtp_timeout_seconds: float = 10.0
    webhook_timeout_seconds: float = 10.0
    # Development: write every event (and the customer message, if any) to the log.
    notify_log: bool = False
    # Merchant templates, looked up before the packaged ones: <dir>/<locale>/<kind>.txt|.html
    template_dir: str | None = None
    show_queue_position: bool = False  # tell waiting customers their place in the queue
    shop_name: str = "Our shop"

    @model_validator(mode="after")
    def _lease_outlasts_a_send(self) -> Settings:
        # A send that outlives its lease could be claimed and sent again by another dispatcher.
        longest = max(self.smtp_timeout_seconds, self.webhook_timeout_seconds)
        if self.dispatch_lease_seconds <= longest:
            raise ValueError(
                f"dispatch_lease_seconds ({self.dispatch_lease_seconds}) must exceed the longest "
                f"send timeout ({longest})"
            )
        return self

    @field_validator("shop_timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}; use an IANA name such as Europe/Istanbul") from None
        return value

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, value: str) -> str:
        if not value.startswith(("sqlite:///", "postgresql")):
            raise ValueError("must be sqlite:///PATH or postgresql+psycopg://...")
        if value.startswith("postgresql://"):
            value = "postgresql+psycopg://" + value.removeprefix("postgresql://")
        return value
