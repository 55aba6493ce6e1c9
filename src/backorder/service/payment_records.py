"""What the gateway said, recorded: one operation per idempotency key, ever, and what follows
from it (events, payment_required, blocked captures released, holds replaced).

Used by the executor after each gateway call, by the gateway's callbacks, and by the
operator confirming a manual payment. Each recording is one short transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from ..domain import payments as money
from . import payments
from .audit import Audit, write_audit
from .payment_views import IntentRow, PaymentSettings, Snapshot, load_snapshot
from .ports import GatewayEvent, GatewayResult, UnitOfWork
from .runner import retried


@retried
def record(
    uow: UnitOfWork,
    intent: IntentRow,
    kind: str,
    key: str,
    result: GatewayResult,
    now: datetime,
    settings: PaymentSettings,
    *,
    parent: str | None = None,
    reason: str | None = None,
) -> bool:
    """Record one gateway answer in its own transaction; False if it was known already."""
    with uow:
        recorded = record_in(
            uow.store,
            intent,
            kind,
            key,
            result,
            now,
            settings,
            parent=parent,
            source="gateway",
            reason=reason,
            timezone=uow.shop_timezone,
        )
        uow.commit()
        return recorded


def record_in(
    store,
    intent: IntentRow,
    kind: str,
    key: str,
    result: GatewayResult,
    now: datetime,
    settings: PaymentSettings,
    *,
    parent: str | None,
    source: str,
    reason: str | None = None,
    timezone: str = "UTC",
) -> bool:
    """Inside a transaction: the operation (once per key), its consequences, and the intent's
    new status when the key is the intent's own."""
    if intent.order_id is not None:
        payments.lock_order(store, intent.order_id)
    main = key == intent.idempotency_key
    fresh = store.get_payment_intent(intent.id)
    if result.status == "pending":
        if main and fresh.status in ("pending", "waiting"):
            _wait_for_confirmation(store, fresh, result, parent, now, settings)
        return False
    recorded = not store.payment_operation_exists(key)
    if recorded:
        _insert_operation(store, intent, kind, key, result, parent, source, now)
        facts = _Facts(reason or fresh.reason, settings, timezone)
        _consequences(store, fresh, kind, result, now, facts)
    if main and fresh.status not in ("done", "failed"):
        status = "done" if result.status == "succeeded" else "failed"
        store.update_payment_intent(
            intent.id,
            {"status": status, "lease_until": None, "last_error": result.reason, "updated_at": now},
        )
    return recorded


def _wait_for_confirmation(store, intent: IntentRow, result, parent, now, settings) -> None:
    """A callback should bring the outcome; if none comes, ask again (same key) later."""
    polls = intent.attempts + 1
    delay = min(settings.retry_after * 2 ** min(polls - 1, 10), timedelta(hours=1))
    store.update_payment_intent(
        intent.id,
        {
            "status": "waiting",
            "gateway_ref": result.reference,
            "target_ref": parent,
            "attempts": polls,
            "next_attempt_at": now + delay,
            "lease_until": None,
            "updated_at": now,
        },
    )


def _insert_operation(store, intent, kind, key, result: GatewayResult, parent, source, now):
    store.insert_payment_operation(
        {
            "order_id": intent.order_id,
            "intent_id": intent.id,
            "kind": kind,
            "status": "succeeded" if result.status == "succeeded" else "declined",
            "amount_minor": result.amount if result.status == "succeeded" else 0,
            "currency": intent.currency,
            "gateway": intent.gateway,
            "idempotency_key": key,
            "reference": result.reference,
            "parent_ref": parent,
            "expires_at": result.expires_at,
            "detail": (result.reason or "")[:300] or None,
            "source": source,
            "created_at": now,
        }
    )


@dataclass(frozen=True)
class _Facts:
    reason: str  # why the operation was made: placement, renewal, reauthorization, ...
    settings: PaymentSettings
    timezone: str


def _consequences(store, intent: IntentRow, kind, result: GatewayResult, now, facts: _Facts):
    if intent.order_id is None:
        return
    snap = load_snapshot(store, intent.order_id)
    if result.status != "succeeded":
        failed(store, snap, kind, result, now, facts.settings)
    elif kind == "authorize":
        _authorized(store, snap, result, now, facts)
    else:
        noun = {"capture": "captured", "void": "voided", "refund": "refunded"}[kind]
        store.insert_events(
            [
                event(
                    f"payment_{noun}",
                    snap,
                    now,
                    amount=result.amount,
                    reference=result.reference,
                    reason=intent.reason,
                    lines=[list(p) for p in intent.lines],
                )
            ]
        )


def _authorized(store, snap: Snapshot, result: GatewayResult, now, facts: _Facts) -> None:
    order_id = snap.payment.order_id
    store.insert_events(
        [
            event(
                "payment_authorized",
                snap,
                now,
                amount=result.amount,
                reference=result.reference,
                expires_at=result.expires_at,
                reason=facts.reason,
            )
        ]
    )
    if facts.reason != "placement":  # a renewal replaces what the card held before
        for auth in money.open_authorizations(snap.auths(), now):
            if auth.reference != result.reference:
                payments.write_intent(
                    store, snap, "void", "replaced", 0, now, target_ref=auth.reference
                )
    store.unblock_payment_intents(order_id, now)  # captures waiting for an authorization
    if snap.required:
        _payment_fixed(store, snap, now, facts.timezone)
    payments.settle(store, order_id, now)


def _payment_fixed(store, snap: Snapshot, now: datetime, timezone: str) -> None:
    """The customer paid after all. Units that went back to the queue are served again by
    priority; what stock no longer covers waits (backorder allowed) or is cancelled (never
    negative stock)."""
    order_id = snap.payment.order_id
    released = snap.payment.released_at is not None
    store.update_order_payment(
        order_id, {"required_since": None, "grace_until": None, "released_at": None}
    )
    if released:
        skus = [line.sku for line in snap.order.lines if line.backordered]
        payments.hand_on(store, skus, "payment", order_id, now, timezone)
        payments.cancel_waiting_units(store, store.get_order(order_id), now)


def failed(store, snap: Snapshot, kind, result: GatewayResult, now, settings) -> None:
    store.insert_events(
        [event("payment_failed", snap, now, operation=kind, reason=result.reason or "declined")]
    )
    if kind in ("authorize", "capture"):
        require_payment(store, snap, now, settings)


def require_payment(store, snap: Snapshot, now: datetime, settings: PaymentSettings) -> None:
    """The order's open lines are in payment_required; their units are kept for the grace
    period. Said to the customer once per crossing."""
    if snap.required:
        return
    grace_until = now + settings.grace
    store.update_order_payment(
        snap.payment.order_id, {"required_since": now, "grace_until": grace_until}
    )
    open_lines = [x.id for x in snap.order.lines if x.quantities.outstanding]
    store.insert_events(
        [event("payment_required", snap, now, grace_until=grace_until, lines=open_lines)]
    )


# -- callbacks and the operator's confirmation -----------------------------------------------


@retried
def record_callback(
    uow: UnitOfWork,
    gateway: str,
    event: GatewayEvent,
    now: datetime,
    settings: PaymentSettings | None = None,
) -> dict:
    """A verified gateway callback. The same callback again (or the same outcome under
    another event id) changes nothing and tells nobody twice."""
    settings = settings or PaymentSettings()
    marker = f"payment-callback:{gateway}:{event.event_id}"
    with uow:
        store = uow.store
        if (first := store.get_command_result(marker)) is not None:
            return first | {"repeated": True}
        intent = store.payment_intent_by_key(event.key.split("/")[0])
        recorded = False
        if intent is not None and intent.gateway == gateway and event.result.status != "pending":
            recorded = record_in(
                store,
                intent,
                event.kind,
                event.key,
                event.result,
                now,
                settings,
                parent=event.parent,
                source="callback",
                timezone=uow.shop_timezone,
            )
        result = {
            "event_id": event.event_id,
            "known": intent is not None,
            "recorded": recorded,
            "repeated": False,
        }
        store.put_command_result(marker, "payment_callback", result, now)
        uow.commit()
        return result


@retried
def mark_paid(
    uow: UnitOfWork,
    order_id: int,
    now: datetime,
    settings: PaymentSettings | None = None,
    audit: Audit | None = None,
) -> int:
    """The operator saw the money arrive (the manual gateway): waiting captures are done.
    `audit`: who said so, logged with the amount in the same transaction."""
    settings = settings or PaymentSettings()
    with uow:
        store = payments.lock_order(uow.store, order_id)
        payments.require_snapshot(store, order_id)
        waiting = [
            i
            for i in store.payment_intents(order_id)
            if i.status == "waiting" and i.kind == "capture"
        ]
        for intent in waiting:
            paid = GatewayResult("succeeded", intent.gateway_ref, intent.amount_minor)
            record_in(
                store,
                intent,
                "capture",
                intent.idempotency_key,
                paid,
                now,
                settings,
                parent=intent.target_ref,
                source="operator",
                timezone=uow.shop_timezone,
            )
        if waiting:
            _audit_mark_paid(store, audit, order_id, waiting, now)
        uow.commit()
        return len(waiting)


def _audit_mark_paid(
    store, audit: Audit | None, order_id: int, intents: list[IntentRow], now: datetime
) -> None:
    detail = {
        "captures": len(intents),
        "amount_minor": sum(i.amount_minor for i in intents),
        "currency": intents[0].currency,
    }
    write_audit(store, audit, "mark_paid", f"order {order_id}", detail, now)


def event(kind: str, snap: Snapshot, now: datetime, **facts) -> dict:
    order_id = snap.payment.order_id
    payload = {"order_id": order_id, "currency": snap.payment.currency, **facts}
    return {"kind": kind, "order_id": order_id, "sku": None, "created_at": now, "payload": payload}
