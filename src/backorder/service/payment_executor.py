"""Carry out payment intents after their command committed; renew holds; end grace periods.

`run_payment_intents` claims due intents (a lease, so two runners never run one intent at
once), calls the gateway outside any transaction, then records the outcome in a short
transaction of its own (payment_records). A crash between the call and the record leaves
the intent pending: the next run calls again with the same idempotency key, and the gateway
answers with the first outcome instead of moving money twice.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping
from datetime import datetime

from ..domain import payments as money
from . import payment_records as records
from . import payments
from .payment_records import record
from .payment_views import IntentRow, PaymentSettings, Snapshot, load_snapshot
from .ports import GatewayResult, GatewayUnavailable, PaymentGateway, UnitOfWork
from .runner import retried

MAX_ROUNDS = 20  # an order's next intent becomes due once the one before it is done


def run_payments(
    uow: UnitOfWork,
    gateways: Mapping[str, PaymentGateway],
    now: datetime,
    settings: PaymentSettings | None = None,
) -> dict:
    """One round of the runner: the sweep (renewals, grace periods), then every due intent."""
    swept = sweep_payments(uow, now, settings)
    return {"sweep": swept, "intents": run_payment_intents(uow, gateways, now, settings)}


def run_payment_intents(
    uow: UnitOfWork,
    gateways: Mapping[str, PaymentGateway],
    now: datetime,
    settings: PaymentSettings | None = None,
    limit: int = 100,
) -> dict[str, int]:
    """Execute every due intent; returns how many ended in each outcome."""
    settings = settings or PaymentSettings()
    outcomes: Counter[str] = Counter()
    for _ in range(MAX_ROUNDS):
        claimed = _claim(uow, now, settings, limit)
        if not claimed:
            break
        for intent_id in claimed:
            outcomes[_execute(uow, gateways, intent_id, now, settings)] += 1
    return dict(outcomes)


@retried
def _claim(uow: UnitOfWork, now: datetime, settings: PaymentSettings, limit: int) -> list[int]:
    with uow:
        store = uow.store
        due = store.due_payment_intents(now, limit)
        claimed = [i for i in due if store.lease_payment_intent(i, now, now + settings.lease)]
        uow.commit()
        return claimed


def _execute(
    uow: UnitOfWork,
    gateways: Mapping[str, PaymentGateway],
    intent_id: int,
    now: datetime,
    settings: PaymentSettings,
) -> str:
    intent = _read(uow, lambda store: store.get_payment_intent(intent_id))
    gateway = gateways.get(intent.gateway)
    if gateway is None:
        return _finish(uow, intent, "failed", now, f"gateway {intent.gateway!r} not configured")
    try:
        return _RUNNERS[intent.kind](uow, gateway, intent, now, settings)
    except GatewayUnavailable as error:
        return _postpone(uow, intent, str(error), now, settings)


def _authorize(uow, gateway: PaymentGateway, intent: IntentRow, now, settings) -> str:
    result = gateway.authorize(
        amount=intent.amount_minor,
        currency=intent.currency,
        method=intent.method,
        key=intent.idempotency_key,
        reference=_reference(intent),
    )
    record(uow, intent, "authorize", intent.idempotency_key, result, now, settings)
    return result.status


def _capture(uow, gateway: PaymentGateway, intent: IntentRow, now, settings) -> str:
    if intent.amount_minor == 0:
        return _finish(uow, intent, "done", now)
    snap = _read(uow, lambda store: load_snapshot(store, intent.order_id))
    auth = money.usable_authorization(snap.auths(), intent.amount_minor, now, settings.renew_margin)
    if intent.status == "waiting" and intent.target_ref:  # asked before: ask the same again
        authorization = intent.target_ref
    elif auth is not None:
        authorization = auth.reference
    elif snap.required:
        return _block(uow, intent, "waiting for the customer's payment", now)
    else:
        authorization = _reauthorize(uow, gateway, intent, snap, now, settings)
        if authorization is None:
            return _block(uow, intent, "re-authorization did not succeed", now)
    result = gateway.capture(
        authorization=authorization,
        amount=intent.amount_minor,
        currency=intent.currency,
        key=intent.idempotency_key,
    )
    record(
        uow, intent, "capture", intent.idempotency_key, result, now, settings, parent=authorization
    )
    return result.status


def _reauthorize(uow, gateway, intent: IntentRow, snap: Snapshot, now, settings) -> str | None:
    """No authorization covers the capture, or it lapses soon: authorize what is still owed
    (its own key, derived from the capture's and the intent's generation)."""
    key = f"{intent.idempotency_key}/reauth-{intent.generation}"
    amount = max(intent.amount_minor, snap.need())
    result = gateway.authorize(
        amount=amount,
        currency=intent.currency,
        method=snap.payment.method,
        key=key,
        reference=_reference(intent),
    )
    record(uow, intent, "authorize", key, result, now, settings, reason="reauthorization")
    return result.reference if result.status == "succeeded" else None


def _void(uow, gateway: PaymentGateway, intent: IntentRow, now, settings) -> str:
    if intent.order_id is None:  # a refused order's checkout authorization
        result = gateway.void(
            authorization=intent.target_ref, amount=intent.amount_minor, key=intent.idempotency_key
        )
        record(
            uow,
            intent,
            "void",
            intent.idempotency_key,
            result,
            now,
            settings,
            parent=intent.target_ref,
        )
        return result.status
    snap = _read(uow, lambda store: load_snapshot(store, intent.order_id))
    for auth in money.open_authorizations(snap.auths(), now):
        if intent.target_ref not in (None, auth.reference):
            continue
        key = f"{intent.idempotency_key}/{auth.reference}"
        result = gateway.void(authorization=auth.reference, amount=auth.remaining, key=key)
        record(uow, intent, "void", key, result, now, settings, parent=auth.reference)
    return _finish(uow, intent, "done", now)


def _refund(uow, gateway: PaymentGateway, intent: IntentRow, now, settings) -> str:
    snap = _read(uow, lambda store: load_snapshot(store, intent.order_id))
    done = _read(uow, lambda store: store.payment_operations_of_intent(intent.id))
    left = intent.amount_minor - sum(op.amount_minor for op in done if op.status == "succeeded")
    parts = money.split_amount(left, money.refundable_captures(snap.ops()))
    for capture, part in parts:
        key = f"{intent.idempotency_key}/{capture}"
        result = gateway.refund(capture=capture, amount=part, currency=intent.currency, key=key)
        record(uow, intent, "refund", key, result, now, settings, parent=capture)
        if result.status == "declined":
            return _finish(uow, intent, "failed", now, result.reason or "refund declined")
    if sum(part for _, part in parts) < left:
        if snap.has_unsettled("capture"):  # the capture to refund is not done yet
            return _postpone(uow, intent, "waiting for the capture to refund", now, settings)
        return _finish(uow, intent, "failed", now, "less was captured than this refund asks")
    return _finish(uow, intent, "done", now)


_RUNNERS: dict[str, Callable[..., str]] = {
    "authorize": _authorize,
    "capture": _capture,
    "void": _void,
    "refund": _refund,
}


# -- the sweep: renew authorizations before they lapse, end grace periods -----------------------


def sweep_payments(
    uow: UnitOfWork, now: datetime, settings: PaymentSettings | None = None
) -> dict[str, int]:
    """Write renewal intents for authorizations that lapse within the margin while money is
    still owed, and send the units of lines whose grace period ended back to the queue."""
    settings = settings or PaymentSettings()
    horizon = now + settings.renew_margin
    candidates = _read(uow, lambda store: store.payment_orders_to_renew(horizon))
    renewed = sum(_renew(uow, order_id, now, settings) for order_id in candidates)
    ended = _read(uow, lambda store: store.payment_grace_expired(now))
    released = sum(_release_after_grace(uow, order_id, now) for order_id in ended)
    return {"renewals": renewed, "released": released}


def _renewal_amount(snap: Snapshot | None, now: datetime, settings: PaymentSettings) -> int:
    if snap is None or snap.required or not snap.auths():
        return 0
    if snap.has_unsettled("authorize") or any(i.status == "blocked" for i in snap.intents):
        return 0
    need = snap.need()
    return need if money.needs_renewal(snap.auths(), need, now, settings.renew_margin) else 0


@retried
def _renew(uow: UnitOfWork, order_id: int, now: datetime, settings: PaymentSettings) -> int:
    if not _renewal_amount(_read(uow, lambda s: load_snapshot(s, order_id)), now, settings):
        return 0
    with uow:
        store = payments.lock_order(uow.store, order_id)
        snap = load_snapshot(store, order_id)
        amount = _renewal_amount(snap, now, settings)
        if amount:
            payments.write_intent(store, snap, "authorize", "renewal", amount, now)
        uow.commit()
        return 1 if amount else 0


@retried
def _release_after_grace(uow: UnitOfWork, order_id: int, now: datetime) -> int:
    with uow:
        store = payments.lock_order(uow.store, order_id)
        snap = load_snapshot(store, order_id)
        p = snap.payment
        if p.required_since is None or p.released_at is not None or p.grace_until > now:
            return 0
        store.update_order_payment(order_id, {"released_at": now})
        held = money.paid_units_held(snap.lines(), snap.position())
        released = []
        for line in snap.order.lines:
            units = line.allocated - held.get(line.id, 0)
            if units > 0:
                payments.release_units(store, line, units, to_queue=True)
                released.append({"line_id": line.id, "sku": line.sku, "released": units})
        payments.hand_on(
            store, [r["sku"] for r in released], "payment_grace", order_id, now, uow.shop_timezone
        )
        store.insert_events([records.event("payment_units_released", snap, now, lines=released)])
        uow.commit()
        return 1


# -- intent bookkeeping ------------------------------------------------------------------------


@retried
def _finish(uow, intent: IntentRow, status: str, now: datetime, error: str | None = None) -> str:
    with uow:
        fresh = uow.store.get_payment_intent(intent.id)
        if fresh.status in ("pending", "waiting"):
            uow.store.update_payment_intent(
                intent.id,
                {"status": status, "lease_until": None, "last_error": error, "updated_at": now},
            )
        uow.commit()
    return status


@retried
def _block(uow, intent: IntentRow, why: str, now: datetime) -> str:
    with uow:
        if uow.store.get_payment_intent(intent.id).status in ("pending", "waiting"):
            uow.store.update_payment_intent(
                intent.id,
                {"status": "blocked", "lease_until": None, "last_error": why, "updated_at": now},
            )
        uow.commit()
    return "blocked"


@retried
def _postpone(uow, intent: IntentRow, error: str, now: datetime, settings) -> str:
    """The gateway did not answer: try again later, with the same key, until it gives up."""
    attempts = intent.attempts + 1
    if attempts >= settings.max_attempts:
        return _give_up(uow, intent, f"gave up after {attempts} attempts: {error}", now, settings)
    delay = settings.retry_after * 2 ** (attempts - 1)
    with uow:
        if uow.store.get_payment_intent(intent.id).status in ("pending", "waiting"):
            uow.store.update_payment_intent(
                intent.id,
                {
                    "attempts": attempts,
                    "next_attempt_at": now + delay,
                    "lease_until": None,
                    "last_error": error[:1000],
                    "updated_at": now,
                },
            )
        uow.commit()
    return "retry"


@retried
def _give_up(uow, intent: IntentRow, error: str, now: datetime, settings) -> str:
    """A person must look: the intent fails and the customer or operator is told."""
    with uow:
        store = uow.store
        if intent.order_id is not None:
            payments.lock_order(store, intent.order_id)
        if store.get_payment_intent(intent.id).status in ("pending", "waiting"):
            store.update_payment_intent(
                intent.id,
                {
                    "status": "failed",
                    "lease_until": None,
                    "last_error": error[:1000],
                    "updated_at": now,
                },
            )
            if intent.order_id is not None:
                snap = load_snapshot(store, intent.order_id)
                refused = GatewayResult("declined", reason=error[:300])
                records.failed(store, snap, intent.kind, refused, now, settings)
        uow.commit()
    return "failed"


def _read(uow: UnitOfWork, fn):
    with uow.reader() as r:
        return fn(r.store)


def _reference(intent: IntentRow) -> str:
    return f"order-{intent.order_id}"
