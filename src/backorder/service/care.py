"""The shop's customer-care settings as the service sees them (issue 8, part B).

The settings reach the service through the store (`store.care_policy()`), because the hooks
that need them run deep inside other commands' transactions (a receipt creates holds, a
moved promise asks for consent) where only the store is at hand.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Literal

ConsentDefault = Literal["keep_waiting", "cancel_line"]


@dataclass(frozen=True)
class CarePolicy:
    hold_hours: float = 24.0  # how long a back-in-stock hold keeps its unit
    max_wait_days: int | None = None  # shop-wide; a product's own max_wait_days wins
    auto_cancel_warning_days: int = 3  # the warning goes out this long before the cancel
    consent_deadline_days: int = 7  # time the customer has to answer a delay
    consent_default: ConsentDefault = "keep_waiting"  # what silence means at the deadline
    consent_undated_days: int | None = 14  # no date ever given: ask this long after the order
    public_url: str = "http://127.0.0.1:8000"  # where the links in messages point
    secret_key: str | None = field(default=None, repr=False)  # None: a key kept in the database

    @property
    def hold_for(self) -> timedelta:
        return timedelta(hours=self.hold_hours)

    def link(self, path: str) -> str:
        return f"{self.public_url.rstrip('/')}/{path.lstrip('/')}"


def policy_from(settings) -> CarePolicy:
    """Build the policy from the application settings (config.Settings)."""
    secret = settings.secret_key.get_secret_value() if settings.secret_key else None
    return CarePolicy(
        hold_hours=settings.waitlist_hold_hours,
        max_wait_days=settings.max_wait_days,
        auto_cancel_warning_days=settings.auto_cancel_warning_days,
        consent_deadline_days=settings.delay_consent_deadline_days,
        consent_default=settings.delay_consent_default,
        consent_undated_days=settings.delay_consent_undated_days,
        public_url=settings.public_url,
        secret_key=secret,
    )


# -- read models -------------------------------------------------------------------------------


@dataclass(frozen=True)
class HoldView:
    id: int
    subscription_id: int
    customer_id: int
    sku: str
    warehouse: str
    qty: int
    status: str  # active, claimed, expired, released
    created_at: datetime
    expires_at: datetime
    closed_at: datetime | None = None
    order_id: int | None = None


@dataclass(frozen=True)
class SubscriptionView:
    id: int
    sku: str
    customer_id: int
    status: str  # waiting, held, ordered, expired, cancelled
    subscribed_at: datetime
    closed_at: datetime | None = None
    hold: HoldView | None = None  # the active or latest hold


@dataclass(frozen=True)
class ConsentView:
    id: int
    order_id: int
    line_id: int
    sku: str
    first_promised_date: date | None
    reference_date: date | None
    promised_date: date | None
    status: str  # open, answered, superseded, moot
    answer: str | None
    answered_by: str | None
    nonce: str
    created_at: datetime
    deadline: datetime
    answered_at: datetime | None


@dataclass(frozen=True)
class FeedbackView:
    id: int
    order_id: int
    customer_id: int
    nonce: str
    order_status: str
    requested_at: datetime
    waiting_days: int
    promise_changes: int
    promise_delays: int
    rating: int | None
    comment: str | None
    answered_at: datetime | None
