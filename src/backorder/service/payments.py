"""Payments inside the order commands: the hooks they call, and the intents they write.

No money moves here (DESIGN.md §5): each command writes *intents* (rows of payment_intents)
in its own transaction, and `payment_executor.run_payment_intents` carries them out after
the commit. An order placed without payment details has no payment row, and every hook
returns at once for it, so such orders behave exactly as before.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from datetime import datetime

from ..domain import payments as money
from ..domain.errors import DomainError, InvalidInput, NotFound, ShipmentNotAllowed
from ..domain.intake import release_from
from ..domain.model import BackorderPolicy
from ..domain.payments import Policy
from . import allocating
from .payment_views import (
    PaymentIn,
    Snapshot,
    load_snapshot,
)
from .ports import Store, UnitOfWork
from .promising import repromise
from .runner import retried
from .views import LineView, OrderView

# -- hooks called inside the order commands' transactions -------------------------------------


def on_order_placed(store: Store, order_id: int, payment: PaymentIn | None, now: datetime) -> None:
    """Record the payment terms and the intents to authorize (and to charge a deposit, or
    what is allocated, when the policy says so)."""
    if payment is None:
        return
    if not store.payments_enabled():
        raise InvalidInput("payment", "this shop has no payment gateway configured")
    validate_payment(payment)
    order = store.get_order(order_id)
    store.insert_order_payment(
        {
            "order_id": order_id,
            "gateway": payment.gateway,
            "policy": payment.policy.value,
            "deposit_percent": payment.deposit_percent,
            "currency": order.currency,
            "method": payment.method,
            "created_at": now,
        }
    )
    snap = load_snapshot(store, order_id)
    value = money.order_value(snap.lines())
    if payment.authorization is not None:
        _adopt_authorization(store, snap, payment, now)
    else:
        write_intent(store, snap, "authorize", "placement", value, now, method=payment.method)
    if payment.policy is Policy.DEPOSIT:
        deposit = money.deposit_amount(value, payment.deposit_percent)
        write_intent(store, snap, "capture", "deposit", deposit, now, key=_key(order_id, "deposit"))
    elif payment.policy is Policy.ON_ALLOCATION:
        capture_what_is_due(store, order_id, "allocation", now)


def check_shipment_allowed(store: Store, order: OrderView) -> None:
    """Goods do not leave before the payment stands, unless they are paid for already."""
    snap = load_snapshot(store, order.id)
    if snap is None or not (snap.required or not snap.auths()):
        return
    lines, pos = snap.lines(), snap.position()
    if money.capture_due(lines, pos, Policy.ON_ALLOCATION)[0]:
        state = "payment_required" if snap.required else "awaiting_authorization"
        raise ShipmentNotAllowed(
            f"order {order.id} waits for payment ({state})", order_id=order.id, payment=state
        )


def on_shipped(store: Store, order_id: int, shipment_id: int, now: datetime) -> None:
    """Capture exactly the shipped units not yet paid for; void the rest once nothing more
    will ship."""
    key = _key(order_id, "shipment", shipment_id)
    capture_what_is_due(store, order_id, "shipment", now, key=key)
    settle(store, order_id, now)


def paid_units_kept(store: Store, order: OrderView) -> dict[int, int]:
    """Per line, allocated units already paid for: a cancel leaves them promised (B14)."""
    snap = load_snapshot(store, order.id)
    if snap is None:
        return {}
    return money.paid_units_held(snap.lines(), snap.position())


def has_paid_units(store: Store, order_id: int, line_ids: Sequence[int]) -> bool:
    """Whether any of these lines has units paid for and not refunded: what a refund
    (`payment_commands.refund_line`) can still give back."""
    snap = load_snapshot(store, order_id)
    if snap is None:
        return False
    position = snap.position()
    return any(position.covered_units(line_id) > 0 for line_id in line_ids)


def on_order_changed(store: Store, order_id: int, now: datetime) -> None:
    """After a cancel or an edit: refund what was paid for units that will not ship, void
    the authorization's remainder when nothing more will be captured."""
    settle(store, order_id, now)


def servable(store: Store, waiting: list) -> list:
    """Waiting lines that may get stock: not those whose units went back to the queue for
    want of payment, until the payment is fixed."""
    if not waiting or not store.payments_enabled():
        return waiting
    held = store.payment_held_orders({w.order_id for w in waiting})
    return [w for w in waiting if w.order_id not in held] if held else waiting


def on_units_allocated(store: Store, grants: Sequence, now: datetime) -> None:
    """Charge-on-allocation orders pay for units as stock is handed to them."""
    if not grants or not store.payments_enabled():
        return
    order_ids = {g.order_id for g in grants}
    for order_id in store.payment_orders_with_policy(order_ids, Policy.ON_ALLOCATION.value):
        capture_what_is_due(store, order_id, "allocation", now)


def voids_authorization_on_refusal(place: Callable) -> Callable:
    """A refused order must not keep the customer's money on hold (B01): the authorization
    the storefront took before placing it is voided (an intent of its own transaction)."""

    @functools.wraps(place)
    def wrapper(uow: UnitOfWork, cmd, now: datetime):
        try:
            return place(uow, cmd, now)
        except DomainError:
            payment = getattr(cmd, "payment", None)
            if payment is not None and payment.authorization is not None:
                _void_unused_authorization(uow, payment, now)
            raise

    return wrapper


# -- what to capture, refund, void -------------------------------------------------------------


def capture_what_is_due(
    store: Store, order_id: int, reason: str, now: datetime, key: str | None = None
) -> int | None:
    snap = load_snapshot(store, order_id)
    if snap is None:
        return None
    units, amount = money.capture_due(snap.lines(), snap.position(), snap.policy)
    if not units:
        return None
    return write_intent(store, snap, "capture", reason, amount, now, lines=units, key=key)


def settle(store: Store, order_id: int, now: datetime) -> None:
    snap = load_snapshot(store, order_id)
    if snap is None:
        return
    plan = money.settle(snap.lines(), snap.position(), snap.policy, snap.payment.deposit_percent)
    if plan.refund_units or plan.refund_amount:
        write_intent(
            store, snap, "refund", "cancel", plan.refund_amount, now, lines=plan.refund_units
        )
    if plan.void and holds_money(snap, now) and not snap.has_unsettled("void"):
        write_intent(store, snap, "void", "settle", 0, now)


def holds_money(snap: Snapshot, now: datetime) -> bool:
    """Money still held on the card beyond what committed captures will take."""
    held = sum(a.remaining for a in money.open_authorizations(snap.auths(), now))
    return held > snap.position().unsettled_captures or snap.has_unsettled("authorize")


def write_intent(
    store: Store,
    snap: Snapshot,
    kind: str,
    reason: str,
    amount: int,
    now: datetime,
    *,
    lines: money.Units = (),
    method: str | None = None,
    target_ref: str | None = None,
    key: str | None = None,
) -> int:
    """One intent; an amount of 0 (units paid by a deposit already) is done at once."""
    order_id = snap.payment.order_id
    key = key or _key(order_id, kind, len(store.payment_intents(order_id)) + 1)
    status = "done" if amount == 0 and kind in ("capture", "refund") else "pending"
    return store.insert_payment_intent(
        {
            "order_id": order_id,
            "kind": kind,
            "reason": reason,
            "amount_minor": amount,
            "currency": snap.payment.currency,
            "gateway": snap.payment.gateway,
            "idempotency_key": key,
            "method": method or snap.payment.method,
            "target_ref": target_ref,
            "lines": lines,
            "status": status,
            "next_attempt_at": now,
            "created_at": now,
            "updated_at": now,
        }
    )


def _key(order_id: int, *parts) -> str:
    return ":".join(["order", str(order_id), *map(str, parts)])


# -- releasing units ---------------------------------------------------------------------------


def release_units(store: Store, line: LineView, units: int, *, to_queue: bool) -> None:
    """Give back `units` of a line's allocation to free stock; the line either waits for
    them again (`to_queue`) or drops them. The caller hands the freed units on."""
    for warehouse, give in release_from(line.holdings, units):
        store.change_stock(line.sku, warehouse, allocated=-give)
        store.change_line_allocation(line.id, line.sku, warehouse, -give)
    if to_queue:
        store.change_line(line.id, allocated=-units, backordered=units)
    else:
        store.change_line(line.id, allocated=-units, cancelled=units)


def hand_on(store: Store, skus, cause: str, order_id: int, now: datetime, timezone: str) -> None:
    """Freed units go to the next in line; promises follow."""
    for sku in sorted(set(skus)):
        allocating.allocate_waiting(store, sku, cause, f"order {order_id}", now)
        repromise(store, sku, now, timezone)


def cancel_waiting_units(store: Store, order: OrderView, now: datetime) -> list[dict]:
    """After a late payment: lines still waiting for a SKU that may not be backordered are
    cancelled rather than left waiting (never negative stock)."""
    cancelled = []
    for line in order.lines:
        product = store.get_product(line.sku)
        if line.backordered and product.backorder_policy is BackorderPolicy.DENY:
            store.change_line(line.id, backordered=-line.backordered, cancelled=line.backordered)
            cancelled.append(
                {"line_id": line.id, "sku": line.sku, "released": 0, "cancelled": line.backordered}
            )
    if cancelled:
        store.insert_events(
            [
                {
                    "kind": "line_cancelled",
                    "order_id": order.id,
                    "sku": None,
                    "created_at": now,
                    "payload": {
                        "order_id": order.id,
                        "reason": "payment_late_stock_gone",
                        "lines": cancelled,
                    },
                }
            ]
        )
    return cancelled


# -- helpers -----------------------------------------------------------------------------------


def validate_payment(payment: PaymentIn) -> None:
    if not isinstance(payment.gateway, str) or not 1 <= len(payment.gateway) <= 50:
        raise InvalidInput("payment.gateway", "1 to 50 characters")
    if payment.method is not None and not 1 <= len(payment.method) <= 200:
        raise InvalidInput("payment.method", "1 to 200 characters")
    if not 0 <= payment.deposit_percent <= 100:
        raise InvalidInput("payment.deposit_percent", "a whole percentage from 0 to 100")
    if payment.policy is Policy.DEPOSIT and payment.deposit_percent == 0:
        raise InvalidInput("payment.deposit_percent", "the deposit policy needs a percentage")
    pre = payment.authorization
    if pre is not None and (not 1 <= len(pre.reference) <= 200 or pre.amount_minor < 0):
        raise InvalidInput("payment.authorization", "a reference and a non-negative amount")


def _adopt_authorization(store: Store, snap: Snapshot, payment: PaymentIn, now: datetime) -> None:
    """The storefront authorized before placing: record that confirmed operation."""
    pre = payment.authorization
    key = f"checkout:{payment.gateway}:{pre.reference}"
    if store.payment_operation_exists(key):
        raise InvalidInput("payment.authorization", "already used by another order")
    store.insert_payment_operation(
        {
            "order_id": snap.payment.order_id,
            "intent_id": None,
            "kind": "authorize",
            "status": "succeeded",
            "amount_minor": pre.amount_minor,
            "currency": snap.payment.currency,
            "gateway": payment.gateway,
            "idempotency_key": key,
            "reference": pre.reference,
            "parent_ref": None,
            "expires_at": pre.expires_at,
            "detail": "taken at checkout",
            "source": "checkout",
            "created_at": now,
        }
    )


@retried
def _void_unused_authorization(uow: UnitOfWork, payment: PaymentIn, now: datetime) -> None:
    pre = payment.authorization
    key = f"checkout:{payment.gateway}:{pre.reference}"
    with uow:
        store = uow.store
        if store.payment_operation_exists(key) or store.payment_intent_by_key(f"{key}:void"):
            return  # in use by an order, or already being voided
        store.insert_payment_intent(
            {
                "order_id": None,
                "kind": "void",
                "reason": "order_refused",
                "amount_minor": pre.amount_minor,
                "currency": "XXX",
                "gateway": payment.gateway,
                "idempotency_key": f"{key}:void",
                "method": None,
                "target_ref": pre.reference,
                "lines": (),
                "status": "pending",
                "next_attempt_at": now,
                "created_at": now,
                "updated_at": now,
            }
        )
        uow.commit()


def lock_order(store: Store, order_id: int) -> Store:
    store.lock_skus(store.order_skus(order_id))
    store.lock_order_payment(order_id)
    return store


def require_order(store: Store, order_id: int) -> OrderView:
    order = store.get_order(order_id)
    if order is None:
        raise NotFound(f"unknown order {order_id}", field="order_id")
    return order


def require_snapshot(store: Store, order_id: int) -> Snapshot:
    require_order(store, order_id)
    snap = load_snapshot(store, order_id)
    if snap is None:
        raise NotFound(f"order {order_id} was placed without payment details", field="order_id")
    return snap
