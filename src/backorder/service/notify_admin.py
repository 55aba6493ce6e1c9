"""Managing notifications: webhook endpoints, customer opt-outs, the delivery log, timelines."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

from ..domain.errors import InvalidInput, NotFound
from . import validation as v
from .notifications import CUSTOMER_CHANNELS, Delivery, WebhookEndpoint
from .ports import UnitOfWork
from .runner import retried

DELIVERY_STATUSES = ("pending", "sent", "failed", "dead")


@dataclass(frozen=True)
class TimelineEntry:
    """One line of an order's story: an event, or a message sent (or tried) about it."""

    at: datetime
    entry: str  # "event" or "message"
    kind: str
    event_id: int
    summary: str
    details: dict


# -- webhook endpoints ----------------------------------------------------------------------


@retried
def add_webhook(
    uow: UnitOfWork,
    url: str,
    now: datetime,
    event_kinds: list[str] | tuple[str, ...] = (),
    secret: str | None = None,
    description: str | None = None,
) -> WebhookEndpoint:
    """Register an endpoint; no kinds means every kind. A secret is generated when none is given."""
    values = _webhook_values(url, event_kinds, secret, description)
    with uow:
        endpoint_id = uow.store.insert_webhook(dict(values, active=True, created_at=now))
        uow.commit()
        return uow.store.get_webhook(endpoint_id)


def _webhook_values(url, event_kinds, secret, description) -> dict:
    v.text(url, "url", 2000)
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise InvalidInput("url", "must be an http:// or https:// URL")
    kinds = tuple(dict.fromkeys(event_kinds))
    for index, kind in enumerate(kinds):
        v.text(kind, f"event_kinds[{index}]", 50)
    if secret is not None and len(secret) < 16:
        raise InvalidInput("secret", "must be at least 16 characters")
    if description is not None:
        v.text(description, "description", 300)
    return {
        "url": url,
        "event_kinds": kinds,
        "description": description,
        "secret": secret or secrets.token_hex(32),
    }


def webhooks(uow: UnitOfWork) -> list[WebhookEndpoint]:
    with uow.reader() as reader:
        return reader.store.list_webhooks()


@retried
def remove_webhook(uow: UnitOfWork, endpoint_id: int, now: datetime) -> WebhookEndpoint:
    """Deactivate an endpoint (its delivery log stays); nothing more is sent to it."""
    with uow:
        if uow.store.get_webhook(endpoint_id) is None:
            raise NotFound(f"unknown webhook endpoint {endpoint_id}", field="endpoint_id")
        uow.store.deactivate_webhook(endpoint_id, now)
        uow.commit()
        return uow.store.get_webhook(endpoint_id)


# -- opt-outs -------------------------------------------------------------------------------


@retried
def set_opt_out(
    uow: UnitOfWork, customer_id: int, channel: str, opted_out: bool, now: datetime
) -> list[str]:
    """Opt a customer out of (or back into) a channel; returns the channels now opted out."""
    if channel not in CUSTOMER_CHANNELS:
        raise InvalidInput("channel", f"must be one of: {', '.join(CUSTOMER_CHANNELS)}")
    with uow:
        store = uow.store
        _require_customer(store, customer_id)
        if opted_out:
            store.add_opt_out(customer_id, channel, now)
        else:
            store.remove_opt_out(customer_id, channel)
        uow.commit()
        return sorted(store.opted_out_channels(customer_id))


def opt_outs(uow: UnitOfWork, customer_id: int) -> list[str]:
    with uow.reader() as reader:
        _require_customer(reader.store, customer_id)
        return sorted(reader.store.opted_out_channels(customer_id))


def _require_customer(store, customer_id: int) -> None:
    if store.get_customer(customer_id) is None:
        raise NotFound(f"unknown customer {customer_id}", field="customer_id")


# -- the delivery log -----------------------------------------------------------------------


def deliveries(
    uow: UnitOfWork, status: str | None = None, order_id: int | None = None, limit: int = 100
) -> list[Delivery]:
    if status is not None and status not in DELIVERY_STATUSES:
        raise InvalidInput("status", f"must be one of: {', '.join(DELIVERY_STATUSES)}")
    with uow.reader() as reader:
        return reader.store.list_deliveries(status, order_id, limit)


def delivery(uow: UnitOfWork, delivery_id: int) -> Delivery:
    with uow.reader() as reader:
        found = reader.store.get_delivery(delivery_id)
    if found is None:
        raise NotFound(f"unknown delivery {delivery_id}", field="delivery_id")
    return found


@retried
def retry_delivery(uow: UnitOfWork, delivery_id: int, now: datetime) -> Delivery:
    """Give a dead (or failing) delivery a fresh set of tries, due now; a sent one stays sent."""
    with uow:
        if uow.store.get_delivery(delivery_id) is None:
            raise NotFound(f"unknown delivery {delivery_id}", field="delivery_id")
        uow.store.requeue_delivery(delivery_id, now)
        uow.commit()
        return uow.store.get_delivery(delivery_id)


def timeline(uow: UnitOfWork, order_id: int) -> list[TimelineEntry]:
    """Every event of an order and every message about it, in time order."""
    with uow.reader() as reader:
        store = reader.store
        if store.get_order(order_id) is None:
            raise NotFound(f"unknown order {order_id}", field="order_id")
        events = store.events(order_id=order_id, limit=100_000)
        messages = store.list_deliveries(event_ids=[e.id for e in events], limit=None)
    entries = [_event_entry(e) for e in events] + [_message_entry(d) for d in messages]
    return sorted(entries, key=lambda x: (x.at, x.entry != "event", x.event_id))


def _event_entry(event) -> TimelineEntry:
    return TimelineEntry(event.created_at, "event", event.kind, event.id, event.kind, event.payload)


def _message_entry(d: Delivery) -> TimelineEntry:
    what = d.subject or d.kind
    summary = f"{d.channel} to {d.recipient}: {what} ({d.status})"
    details = {
        "delivery_id": d.id,
        "channel": d.channel,
        "recipient": d.recipient,
        "status": d.status,
        "attempts": d.attempts,
        "subject": d.subject,
        "idempotency_key": d.idempotency_key,
        "last_error": d.last_error,
        "planned_at": d.created_at,
        "sent_at": d.sent_at,
    }
    return TimelineEntry(d.sent_at or d.created_at, "message", d.kind, d.event_id, summary, details)
