"""The outbox dispatcher's steps: plan deliveries from new events, claim due ones, record results.

Planning runs in one transaction: it turns undispatched events into delivery rows (one per
event, channel and recipient, each with a stable idempotency key) and marks the events
dispatched. Sending happens outside any transaction: `claim_due` commits a lease on a few
deliveries, the caller sends them through the channel senders, and `record_sent` /
`record_failure` store each result in a transaction of its own. A dispatcher killed
mid-send loses nothing: the lease runs out and the delivery is sent again, with the same key.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from .message_facts import customer_of, gather_facts
from .ports import ChannelSender, DeliveryFailed, MessageRenderer, Store, UnitOfWork
from .runner import retried
from .views import CustomerView, EventView

# Kinds a customer hears about (when a template for the kind exists).
CUSTOMER_KINDS = frozenset(
    {
        "order_backordered",
        "promise_delayed",
        "promise_improved",
        "order_ready_to_ship",
        "units_allocated",
        "shipment_shipped",
        "line_cancelled",
        "order_cancelled",
        "back_in_stock",
        "auto_cancel_warning",
        "feedback_requested",
        "delay_consent_requested",
        "payment_required",
        "payment_failed",
    }
)
CUSTOMER_CHANNELS = ("email",)  # what a customer can opt out of
DUE_STATUSES = ("pending", "failed")


@dataclass(frozen=True)
class RenderedMessage:
    subject: str
    text: str
    html: str | None = None


@dataclass(frozen=True)
class Delivery:
    """One row of the delivery log: an event for one recipient on one channel."""

    id: int
    event_id: int
    order_id: int | None
    kind: str
    channel: str
    recipient: str
    idempotency_key: str
    status: str
    attempts: int
    next_attempt_at: datetime
    last_error: str | None
    subject: str | None
    body: str
    body_html: str | None
    created_at: datetime
    sent_at: datetime | None
    customer_id: int | None = None
    endpoint_id: int | None = None
    claimed_by: str | None = None  # the dispatcher holding the lease, while it sends
    secret: str | None = None  # the webhook endpoint's signing secret, on claimed rows only


@dataclass(frozen=True)
class WebhookEndpoint:
    id: int
    url: str
    secret: str
    event_kinds: tuple[str, ...]  # empty: every kind
    description: str | None
    active: bool
    created_at: datetime

    def wants(self, kind: str) -> bool:
        return self.active and (not self.event_kinds or kind in self.event_kinds)


@dataclass(frozen=True)
class DispatchPolicy:
    """How the dispatcher behaves; built from the settings by the entrypoint."""

    max_attempts: int = 8
    backoff_seconds: float = 30.0
    backoff_max_seconds: float = 3600.0
    lease_seconds: float = 120.0
    batch: int = 20
    email: bool = False  # an SMTP server is configured
    log: bool = False
    show_queue_position: bool = False
    shop_name: str = "Our shop"
    # A customer is not told today about what happened long ago (imported history).
    customer_max_age: timedelta = timedelta(hours=72)


@dataclass(frozen=True)
class RoundResult:
    planned_events: int = 0
    sent: int = 0
    failed: int = 0
    dead: int = 0

    @property
    def idle(self) -> bool:
        return not (self.planned_events or self.sent or self.failed or self.dead)


def backoff(attempts: int, policy: DispatchPolicy) -> timedelta:
    """Delay before the next try after `attempts` failed ones: base, 2×base, 4×base, ... capped."""
    seconds = policy.backoff_seconds * 2 ** max(0, attempts - 1)
    return timedelta(seconds=min(seconds, policy.backoff_max_seconds))


# -- planning -------------------------------------------------------------------------------


@retried
def plan_deliveries(
    uow: UnitOfWork,
    renderer: MessageRenderer,
    policy: DispatchPolicy,
    now: datetime,
    limit: int = 100,
) -> int:
    """Fan new events out into deliveries and mark them dispatched; returns the events planned."""
    with uow:
        store = uow.store
        events = store.undispatched_events(limit)
        if not events:
            return 0
        endpoints = store.active_webhooks()
        rows = []
        for event in events:
            rows += _webhook_rows(event, endpoints, now)
            rows += _customer_rows(store, event, renderer, policy, uow.shop_timezone, now)
        store.insert_deliveries(rows)
        store.mark_dispatched([event.id for event in events], now)
        uow.commit()
        return len(events)


def _webhook_rows(event: EventView, endpoints, now: datetime) -> list[dict]:
    rows = []
    for endpoint in endpoints:
        if endpoint.wants(event.kind):
            key = f"evt{event.id}-webhook-ep{endpoint.id}"
            rows.append(
                _row(
                    event,
                    "webhook",
                    endpoint.url,
                    key,
                    now,
                    endpoint_id=endpoint.id,
                    body=webhook_body(event, key),
                )
            )
    return rows


def webhook_body(event: EventView, key: str) -> str:
    """The JSON a merchant receives: the event as stored, under a stable delivery id."""
    return json.dumps(
        {
            "id": key,
            "event_id": event.id,
            "kind": event.kind,
            "order_id": event.order_id,
            "sku": event.sku,
            "created_at": event.created_at.isoformat(),
            "data": event.payload,
        },
        sort_keys=True,
        ensure_ascii=False,
        default=str,
    )


def _customer_rows(
    store: Store,
    event: EventView,
    renderer: MessageRenderer,
    policy: DispatchPolicy,
    timezone: str,
    now: datetime,
) -> list[dict]:
    recent = now - event.created_at <= policy.customer_max_age
    wanted = event.kind in CUSTOMER_KINDS and recent and (policy.email or policy.log)
    customer = customer_of(store, event) if wanted else None
    message, error = None, None
    if customer is not None:
        message, error = _message(store, event, customer, renderer, policy, timezone)
    rows = []
    mailable = policy.email and (message or error) and customer.email
    if mailable and "email" not in store.opted_out_channels(customer.id):
        key = f"evt{event.id}-email-c{customer.id}"
        rows.append(
            _message_row(
                event, "email", customer.email, key, message, error, now, customer_id=customer.id
            )
        )
    if policy.log:
        rows.append(_log_row(event, customer, message, now))
    return rows


def _log_row(
    event: EventView,
    customer: CustomerView | None,
    message: RenderedMessage | None,
    now: datetime,
) -> dict:
    """Development: the customer's message if there is one, else the event as merchants get it."""
    if message is None:
        message = RenderedMessage(event.kind, webhook_body(event, f"evt{event.id}-log"))
        customer = None
    recipient = (customer.email or f"customer {customer.id}") if customer else "merchant"
    customer_id = customer.id if customer else None
    return _message_row(
        event, "log", recipient, f"evt{event.id}-log", message, None, now, customer_id=customer_id
    )


def _message(
    store: Store,
    event: EventView,
    customer: CustomerView,
    renderer: MessageRenderer,
    policy: DispatchPolicy,
    timezone: str,
) -> tuple[RenderedMessage | None, str | None]:
    """A malformed payload or a broken (merchant) template dead-letters its one delivery
    instead of stalling the outbox; database errors still abort the planning transaction."""
    try:
        facts = gather_facts(store, event, customer, policy, timezone)
    except (LookupError, TypeError, ValueError) as error:
        return None, f"facts could not be read: {type(error).__name__}: {error}"
    try:
        return renderer.render(event.kind, customer.locale, facts), None
    except Exception as error:  # noqa: BLE001 - any template error is reported on the row
        return None, f"message could not be built: {type(error).__name__}: {error}"


def _message_row(
    event: EventView,
    channel: str,
    recipient: str,
    key: str,
    message: RenderedMessage | None,
    error: str | None,
    now: datetime,
    **extra,
) -> dict:
    if message is None:
        return _row(
            event, channel, recipient, key, now, body="", status="dead", last_error=error, **extra
        )
    return _row(
        event,
        channel,
        recipient,
        key,
        now,
        subject=message.subject[:500],
        body=message.text,
        body_html=message.html,
        **extra,
    )


def _row(event: EventView, channel: str, recipient: str, key: str, now: datetime, **values) -> dict:
    row = {
        "event_id": event.id,
        "order_id": event.order_id,
        "kind": event.kind,
        "channel": channel,
        "recipient": recipient,
        "idempotency_key": key,
        "status": "pending",
        "attempts": 0,
        "next_attempt_at": now,
        "created_at": now,
        "customer_id": None,
        "endpoint_id": None,
        "subject": None,
        "body_html": None,
        "last_error": None,
    }
    row.update(values)
    return row


def has_work(uow: UnitOfWork, now: datetime) -> bool:
    """A read-only look first, so an idle dispatcher never takes SQLite's write lock."""
    with uow.reader() as reader:
        return reader.store.has_undispatched_events() or reader.store.has_due_deliveries(now)


# -- sending --------------------------------------------------------------------------------


@retried
def claim_due(
    uow: UnitOfWork, policy: DispatchPolicy, now: datetime, worker: str
) -> list[Delivery]:
    """Lease due deliveries to this worker (SKIP LOCKED on PostgreSQL) and commit the lease."""
    with uow:
        lease_until = now + timedelta(seconds=policy.lease_seconds)
        claimed = uow.store.claim_deliveries(now, policy.batch, lease_until, worker)
        uow.commit()
        return claimed


@retried
def record_sent(uow: UnitOfWork, delivery: Delivery, now: datetime) -> None:
    with uow:
        uow.store.mark_delivery_sent(delivery.id, now)
        uow.commit()


@retried
def record_failure(
    uow: UnitOfWork,
    delivery: Delivery,
    worker: str,
    failure: DeliveryFailed,
    policy: DispatchPolicy,
    now: datetime,
) -> str:
    """Schedule the next try with backoff, or dead-letter after the last one; returns the status."""
    dead = failure.permanent or delivery.attempts >= policy.max_attempts
    status = "dead" if dead else "failed"
    next_at = now + backoff(delivery.attempts, policy)
    with uow:
        uow.store.mark_delivery_failed(delivery.id, worker, status, failure.reason[:2000], next_at)
        uow.commit()
    return status


def send_claimed(
    uow: UnitOfWork,
    claimed: list[Delivery],
    senders: Mapping[str, ChannelSender],
    policy: DispatchPolicy,
    clock: Callable[[], datetime],
    worker: str,
    still_leased: Callable[[], bool] = lambda: True,
) -> RoundResult:
    """Send one at a time, recording each result at once: a kill repeats at most one message."""
    counts = {"sent": 0, "failed": 0, "dead": 0}
    for delivery in claimed:
        if not still_leased():  # the rest would be claimed by another dispatcher meanwhile
            break
        sender = senders.get(delivery.channel)
        try:
            if sender is None:
                raise DeliveryFailed(f"no sender for channel {delivery.channel!r}")
            sender.send(delivery)
        except Exception as error:  # noqa: BLE001 - whatever went wrong is the row's last_error
            failure = (
                error
                if isinstance(error, DeliveryFailed)
                else DeliveryFailed(f"{type(error).__name__}: {error}")
            )
            counts[record_failure(uow, delivery, worker, failure, policy, clock())] += 1
            continue
        record_sent(uow, delivery, clock())
        counts["sent"] += 1
    return RoundResult(0, counts["sent"], counts["failed"], counts["dead"])
