"""The operator's payment commands (issue 4): attach, capture now, void, refund a line, retry;
and the payment history. Each one transaction under the order's locks; money moves after
commit, by the executor."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import datetime

from ..domain import payments as money
from ..domain.errors import Conflict, InvalidInput, NotFound
from ..domain.payments import Policy
from .audit import Audit, write_audit
from .payment_views import (
    PaymentIn,
    PaymentSettings,
    PaymentView,
    PreAuthorization,
    Snapshot,
    load_snapshot,
    view_of,
)
from .payments import (
    hand_on,
    holds_money,
    lock_order,
    on_order_placed,
    release_units,
    require_order,
    require_snapshot,
    settle,
    write_intent,
)
from .ports import Store, UnitOfWork
from .runner import retried
from .views import LineView, OrderView


@retried
def attach_payment(
    uow: UnitOfWork, order_id: int, payment: PaymentIn, now: datetime
) -> PaymentView:
    """Give an order placed without payment details its payment (a phone order, say)."""
    with uow:
        store = lock_order(uow.store, order_id)
        if store.get_order_payment(order_id) is not None:
            raise Conflict(f"order {order_id} already has payment details", order_id=order_id)
        require_order(store, order_id)
        on_order_placed(store, order_id, payment, now)
        view = view_of(load_snapshot(store, order_id), now)
        uow.commit()
        return view


@retried
def capture_now(
    uow: UnitOfWork,
    order_id: int,
    now: datetime,
    lines: Mapping[int, int] | None = None,
    audit: Audit | None = None,
) -> PaymentView:
    """Charge shipped or allocated units now: all of them, or `lines` {line id: units}.
    `audit`: the operator's capture, logged with its amount in the same transaction."""
    with uow:
        store = lock_order(uow.store, order_id)
        snap = require_snapshot(store, order_id)
        money_lines, pos = snap.lines(), snap.position()
        if lines:
            _check_chargeable(money_lines, pos, lines)
            units, amount = money.capture_due(money_lines, pos, snap.policy, extra=lines)
        else:
            units, amount = money.capture_due(money_lines, pos, Policy.ON_ALLOCATION)
        if not units:
            raise Conflict(f"order {order_id} has nothing allocated or shipped left to charge")
        write_intent(store, snap, "capture", "operator", amount, now, lines=units)
        detail = {
            "amount_minor": amount,
            "currency": snap.payment.currency,
            "lines": [{"line_id": line_id, "units": n} for line_id, n in units],
        }
        write_audit(store, audit, "capture_payment", f"order {order_id}", detail, now)
        view = view_of(load_snapshot(store, order_id), now)
        uow.commit()
        return view


@retried
def void_authorizations(uow: UnitOfWork, order_id: int, now: datetime) -> PaymentView:
    """Release what the customer's card still holds (a later capture authorizes again)."""
    with uow:
        store = lock_order(uow.store, order_id)
        snap = require_snapshot(store, order_id)
        if not holds_money(snap, now):
            raise Conflict(f"order {order_id} holds no authorized money to void")
        if not snap.has_unsettled("void"):
            write_intent(store, snap, "void", "operator", 0, now)
        view = view_of(load_snapshot(store, order_id), now)
        uow.commit()
        return view


@retried
def retry_payment(
    uow: UnitOfWork, order_id: int, now: datetime, method: str | None = None
) -> PaymentView:
    """Authorize again what is still owed, with the same or a new payment method (B21, B50)."""
    if method is not None and not 1 <= len(method) <= 200:
        raise InvalidInput("method", "1 to 200 characters")
    with uow:
        store = lock_order(uow.store, order_id)
        snap = require_snapshot(store, order_id)
        if snap.has_unsettled("authorize"):
            raise Conflict(f"order {order_id}: an authorization is already under way")
        need = snap.need()
        if need == 0:
            raise Conflict(f"order {order_id} owes nothing that needs an authorization")
        if method is not None:
            store.update_order_payment(order_id, {"method": method})
        write_intent(store, snap, "authorize", "retry", need, now, method=method)
        view = view_of(load_snapshot(store, order_id), now)
        uow.commit()
        return view


@retried
def refund_line(
    uow: UnitOfWork,
    order_id: int,
    line_id: int,
    now: datetime,
    units: int | None = None,
    restock: bool = False,
) -> PaymentView:
    """Give back the money for paid units of a line. Paid units not yet shipped are released
    (back to stock, to the next in line); shipped ones are returns: `restock` puts them back
    on hand. Only what the line still holds paid is refunded, once (B10)."""
    with uow:
        store = lock_order(uow.store, order_id)
        snap = require_snapshot(store, order_id)
        line = _line(snap.order, line_id)
        from_held, from_shipped = _refund_split(snap, line, units)
        if from_held:  # paid units that will not ship now: their money back, units freed
            write_intent(
                store,
                snap,
                "refund",
                "refund",
                from_held * line.unit_price_minor,
                now,
                lines=((line.id, from_held),),
            )
            release_units(store, line, from_held, to_queue=False)
            store.insert_events([_line_cancelled(order_id, line, from_held, now)])
        if from_shipped:
            amount = from_shipped * line.unit_price_minor
            write_intent(
                store, snap, "refund", "return", amount, now, lines=((line.id, from_shipped),)
            )
            if restock:
                _restock(store, order_id, line, from_shipped, now)
        if from_held or restock:
            hand_on(store, [line.sku], "refund", order_id, now, uow.shop_timezone)
        settle(store, order_id, now)
        view = view_of(load_snapshot(store, order_id), now)
        uow.commit()
        return view


def payment_history(uow: UnitOfWork, order_id: int, now: datetime) -> PaymentView:
    with uow.reader() as r:
        require_order(r.store, order_id)
        return view_of(require_snapshot(r.store, order_id), now)


# -- helpers -----------------------------------------------------------------------------------


def resolve_payment(
    terms: PaymentSettings,
    gateways: Collection[str],
    *,
    gateway: str | None = None,
    method: str | None = None,
    policy: str | None = None,
    deposit_percent: int | None = None,
    authorization: PreAuthorization | None = None,
) -> PaymentIn:
    """Payment details as given, completed from the shop's terms; the gateway must exist."""
    gateway = gateway or terms.default_gateway
    if gateway is None or gateway not in gateways:
        known = ", ".join(sorted(gateways)) or "none configured"
        raise InvalidInput("payment.gateway", f"unknown payment gateway {gateway!r} ({known})")
    try:
        chosen = Policy(policy) if policy else terms.policy
    except ValueError:
        raise InvalidInput("payment.policy", f"one of {', '.join(Policy)}") from None
    if deposit_percent is None:
        deposit_percent = terms.deposit_percent if chosen is Policy.DEPOSIT else 0
    return PaymentIn(gateway, method, chosen, deposit_percent, authorization)


def _refund_split(snap: Snapshot, line: LineView, units: int | None) -> tuple[int, int]:
    """(paid units not yet shipped, shipped paid units) that a refund of `units` gives back."""
    lines, pos = snap.lines(), snap.position()
    paid = pos.covered_units(line.id)
    if paid <= 0:
        raise Conflict(f"line {line.id} has no paid units to refund", line_id=line.id)
    units = paid if units is None else units
    if not isinstance(units, int) or not 1 <= units <= paid:
        raise InvalidInput("units", f"must be between 1 and the {paid} paid unit(s)")
    held = money.paid_units_held(lines, pos).get(line.id, 0)
    from_held = min(units, held)
    return from_held, units - from_held


def _check_chargeable(lines: list[money.LineMoney], pos: money.Position, asked) -> None:
    by_id = {x.line_id: x for x in lines}
    for line_id, units in asked.items():
        if line_id not in by_id:
            raise NotFound(f"no line {line_id} in this order", field="lines")
        room = money.chargeable_units(by_id[line_id], pos)
        if not isinstance(units, int) or not 1 <= units <= room:
            raise InvalidInput(f"lines[{line_id}]", f"can charge 1 to {room} unit(s)")


def _line_cancelled(order_id: int, line: LineView, units: int, now: datetime) -> dict:
    return {
        "kind": "line_cancelled",
        "order_id": order_id,
        "sku": None,
        "created_at": now,
        "payload": {
            "order_id": order_id,
            "reason": "refunded",
            "lines": [{"line_id": line.id, "sku": line.sku, "released": units, "cancelled": units}],
        },
    }


def _restock(store: Store, order_id: int, line: LineView, units: int, now: datetime) -> None:
    """Returned units go back on hand where they shipped from, through the ledger."""
    warehouse = store.shipped_from(line.id) or "main"
    store.ensure_stock_row(line.sku, warehouse)
    on_hand = store.change_stock(line.sku, warehouse, on_hand=units)
    store.append_ledger(line.sku, warehouse, units, on_hand, "return", f"order {order_id}", now)


def _line(order: OrderView, line_id: int) -> LineView:
    for line in order.lines:
        if line.id == line_id:
            return line
    raise NotFound(f"order {order.id} has no line {line_id}", field="line_id")
