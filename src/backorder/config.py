"""Settings, read from the environment (BACKORDER_*) when asked for, never at import."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="BACKORDER_", env_file=".env", extra="ignore")

    database_url: str = "sqlite:///backorder.db"
    host: str = "127.0.0.1"
    port: int = 8000
    shop_timezone: str = "UTC"
    # How often `serve` looks for preorders whose release time has passed (seconds).
    release_check_seconds: float = 30.0
    # Every API call needs `Authorization: Bearer <key>` (see `backorder apikey create`).
    api_auth: bool = True

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
    # Older events (imported history, a long outage) reach webhooks but mail no customer.
    notify_max_age_hours: float = 72.0
    shop_name: str = "Our shop"

    # -- customer care (issue 8, part B) ------------------------------------------------------
    waitlist_hold_hours: float = Field(24.0, gt=0, le=24 * 90)  # a back-in-stock hold lasts
    # Longest wait for backordered units, in days from the order; a product's own wins.
    max_wait_days: int | None = Field(None, ge=1, le=3650)  # None: no shop-wide limit
    auto_cancel_warning_days: int = Field(3, ge=0, le=365)  # 0: cancel without a warning
    delay_consent_deadline_days: int = Field(7, ge=1, le=365)
    delay_consent_default: Literal["keep_waiting", "cancel_line"] = "keep_waiting"
    # A line never given a date: ask for consent this many days after the order (None: never).
    delay_consent_undated_days: int | None = Field(14, ge=1, le=3650)
    public_url: str = "http://127.0.0.1:8000"  # the base of links sent to customers
    # Signs feedback and consent links. Unset: a random key is generated into the database on
    # first use (shared by every process on it); a short or placeholder value is refused.
    secret_key: SecretStr | None = None
    jobs_check_seconds: float = Field(60.0, gt=0)  # how often `serve` runs the due jobs

    # -- payments (issue 4) ---------------------------------------------------------------------
    # The shop's default gateway for orders placed with payment details: `manual`, or the name
    # of the HTTP gateway below. Unset, with no URL either: payments are off.
    payment_gateway: str | None = None
    payment_gateway_url: str | None = None  # an HTTP gateway (the sandbox speaks its API)
    payment_http_gateway: str = "sandbox"  # the name orders use for that HTTP gateway
    payment_webhook_secret: str = ""  # HMAC key of the gateway's signed callbacks
    payment_policy: Literal["on_shipment", "on_allocation", "deposit"] = "on_shipment"
    payment_deposit_percent: int = Field(0, ge=0, le=100)  # with the deposit policy
    payment_authorization_days: float = Field(7.0, gt=0)  # when a gateway does not say
    payment_renew_hours: float = Field(24.0, ge=0)  # re-authorize this long before expiry
    payment_grace_hours: float = Field(48.0, ge=0)  # payment_required units are kept this long
    payment_timeout_seconds: float = Field(10.0, gt=0)
    payment_retry_seconds: float = Field(30.0, gt=0)  # first retry of an unanswered call
    payment_max_attempts: int = Field(12, ge=1)
    payment_loop_seconds: float = Field(5.0, gt=0)  # how often `serve` runs intents and renewals

    @field_validator("secret_key")
    @classmethod
    def _strong_secret(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None:
            return None
        raw = value.get_secret_value()
        if len(raw) < 32 or len(set(raw)) < 8 or _looks_like_placeholder(raw):
            raise ValueError(
                'must be at least 32 random characters (e.g. `python -c "import secrets; '
                'print(secrets.token_urlsafe(48))"`), or unset to keep a generated key in '
                "the database"
            )
        return value

    @field_validator("public_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/")

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
            raise ValueError(
                f"unknown time zone {value!r}; use an IANA name such as Europe/Istanbul"
            ) from None
        return value

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, value: str) -> str:
        if not value.startswith(("sqlite:///", "postgresql")):
            raise ValueError("must be sqlite:///PATH or postgresql+psycopg://...")
        if value.startswith("postgresql://"):
            value = "postgresql+psycopg://" + value.removeprefix("postgresql://")
        return value


def _looks_like_placeholder(secret: str) -> bool:
    lowered = secret.lower()
    return any(word in lowered for word in ("change", "secret", "example", "default", "password"))
