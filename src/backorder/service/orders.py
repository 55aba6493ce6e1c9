"""Orders: place, edit, cancel, ship. Each command one transaction under the SKU locks."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from ..domain.allocation import Grant
from ..domain.errors import (
    Conflict,
    InsufficientStock,
    InvalidInput,
    NotFound,
    ShipmentNotAllowed,
)
from ..domain.intake import LinePlan, LineRequest, SkuPosition, plan_order, release_from, take_from
from ..domain.model import BackorderPolicy, Fulfilment, PaidPriority, Product
from . import feedback, payments, waitlist
from . import validation as v
from .allocating import allocate_waiting, log_row
from .audit import Audit, write_audit
from .payment_views import PaymentIn
from .ports import Store, UnitOfWork
from .promising import repromise, repromise_all
from .runner import retried
from .views import LineView, OrderView


@dataclass(frozen=True)
class OrderLineIn:
    sku: str
    qty: int
    unit_price_minor: int | None = None  # None: the catalog price


@dataclass(frozen=True)
class PlaceOrder:
    customer_id: int
    lines: Sequence[OrderLineIn]
    fulfilment: Fulfilment | None = None  # None: the customer's default
    paid_priority: PaidPriority = PaidPriority.NORMAL
    requested_date: datetime | None = None
    external_ref: str | None = None
    channel: str = "api"
    payment: PaymentIn | None = None  # issue 4: None takes no payment through this service


@payments.voids_authorization_on_refusal
@retried
def place_order(uow: UnitOfWork, cmd: PlaceOrder, now: datetime) -> OrderView:
    """Allocate what is there, backorder the rest within policy, or refuse with every shortage."""
    requests = _validate_order(cmd)
    with uow:
        store = uow.store
        if cmd.external_ref and (existing := store.find_order_id(cmd.external_ref)):
            return _same_order_again(store_order(store, existing), cmd, requests)
        customer = store.get_customer(cmd.customer_id)
        if customer is None:
            raise NotFound(f"unknown customer {cmd.customer_id}", field="customer_id")
        skus = sorted({r.sku for r in requests})
        store.lock_skus(skus)
        products = _require_products(store, requests)
        _serve_queues_first(store, skus, now, products)
        claimed = waitlist.claim_own_holds(store, customer.id, skus, now)  # theirs: free to them
        positions = {sku: _position(store, products[sku]) for sku in skus}
        fulfilment = cmd.fulfilment or Fulfilment(customer.default_fulfilment)
        plans = plan_order(requests, positions, fulfilment, now)
        order_id = _insert_order(store, cmd, customer.id, fulfilment, products, now)
        waitlist.record_claims(store, claimed, order_id, now)
        lines = [_insert_line(store, order_id, plan, cmd, products, now) for plan in plans]
        store.insert_events(_placement_events(order_id, customer.id, lines, products, now))
        payments.on_order_placed(store, order_id, cmd.payment, now)  # intents, same transaction
        repromise_all(
            store, {line.sku for line in lines if line.backordered}, now, uow.shop_timezone
        )
        placed = store_order(store, order_id)  # read before commit: no second transaction
        uow.commit()
        return placed


def _same_order_again(first: OrderView, cmd: PlaceOrder, requests: list[LineRequest]):
    """A retry of an order already placed under its external_ref gets that order; another
    order under the same ref is refused, not silently taken for the first."""
    asked: dict[str, int] = defaultdict(int)
    for request in requests:
        asked[request.sku] += request.qty
    placed: dict[str, int] = defaultdict(int)
    for line in first.lines:
        placed[line.sku] += line.qty
    if first.customer_id != cmd.customer_id or asked != placed:
        raise Conflict(
            f"external_ref {cmd.external_ref!r} already names order {first.id} with other "
            "lines or another customer; give this order its own external_ref",
            field="external_ref",
            external_ref=cmd.external_ref,
            order_id=first.id,
        )
    return first


def store_order(store: Store, order_id: int) -> OrderView:
    order = store.get_order(order_id)
    if order is None:
        raise NotFound(f"unknown order {order_id}", field="order_id")
    return order


@retried
def cancel_order(
    uow: UnitOfWork,
    order_id: int,
    now: datetime,
    reason: str = "requested",
    audit: Audit | None = None,
) -> OrderView:
    """Cancel every open line; repeating it changes nothing (and logs nothing)."""
    with uow:
        store = uow.store
        store.lock_skus(store.order_skus(order_id))
        order = store_order(store, order_id)
        keep = payments.paid_units_kept(store, order)  # paid units stay promised (B14)
        open_lines = [
            line for line in order.lines if line.quantities.outstanding > keep.get(line.id, 0)
        ]
        _require_something_to_cancel(store, order, open_lines)
        cancelled = [_cancel_line(store, line, now, keep.get(line.id, 0)) for line in open_lines]
        for sku in sorted({line.sku for line in cancelled}):
            allocate_waiting(store, sku, "cancel", f"order {order_id}", now)
        if cancelled:
            event = _cancel_event("order_cancelled", order_id, cancelled, reason, now)
            _audit_cancel(store, audit, "cancel_order", f"order {order_id}", event, now)
            store.insert_events([event])  # after the audit: it turns the payload into JSON
            repromise_all(store, {line.sku for line in cancelled}, now, uow.shop_timezone)
            feedback.request_if_closed(store, order_id, now)
        payments.on_order_changed(store, order_id, now)  # refund, void: as intents
        uow.commit()
        return store_order(store, order_id)


def _require_something_to_cancel(
    store: Store, order: OrderView, open_lines: list[LineView]
) -> None:
    """A repeated cancel changes nothing and says so with the order; a cancel of an order
    that has nothing open and was never cancelled (shipped in full, or every unit paid for)
    is refused, so the caller does not take the order for cancelled."""
    if open_lines or any(line.quantities.cancelled for line in order.lines):
        return
    what = _nothing_to_cancel(store, order.id, order.lines)
    raise Conflict(f"order {order.id} {what}", field="order_id", order_id=order.id)


def _require_line_to_cancel(store: Store, order_id: int, line: LineView, keep: int) -> None:
    """As for the order: a line with nothing open that was never cancelled (shipped in full,
    or only paid units left) is refused; a line cancelled before is a harmless repeat."""
    if line.quantities.outstanding > keep or line.quantities.cancelled:
        return
    what = _nothing_to_cancel(store, order_id, [line])
    raise Conflict(
        f"line {line.id} of order {order_id} {what}",
        field="line_id",
        order_id=order_id,
        line_id=line.id,
    )


def _nothing_to_cancel(store: Store, order_id: int, lines: Sequence[LineView]) -> str:
    """Why lines with nothing open cannot be cancelled; a refund is offered only where one
    can give money back (units paid through the shop)."""
    if any(line.quantities.outstanding for line in lines):
        what = "holds only paid units, promised until shipped"
    else:
        what = "has shipped in full"
    paid = payments.has_paid_units(store, order_id, [line.id for line in lines])
    return f"{what}: nothing left to cancel" + (" (refund it instead)" if paid else "")


@retried
def cancel_line(
    uow: UnitOfWork,
    order_id: int,
    line_id: int,
    now: datetime,
    reason: str = "requested",
    audit: Audit | None = None,
) -> OrderView:
    """Cancel what one line still holds or waits for; its freed units go to the next in line.
    `audit`: an operator's cancel, logged in the same transaction."""
    with uow:
        store = uow.store
        store.lock_skus(store.order_skus(order_id))
        order = store_order(store, order_id)
        line = _line(order, line_id)
        keep = payments.paid_units_kept(store, order).get(line.id, 0)
        _require_line_to_cancel(store, order_id, line, keep)
        if line.quantities.outstanding > keep:  # else cancelled before: a repeat, a no-op
            line = _cancel_line(store, line, now, keep)
            allocate_waiting(store, line.sku, "cancel", f"order {order_id}", now)
            event = _cancel_event("line_cancelled", order_id, [line], reason, now)
            _audit_cancel(store, audit, "cancel_line", f"line {line_id}", event, now)
            store.insert_events([event])
            repromise(store, line.sku, now, uow.shop_timezone)
            feedback.request_if_closed(store, order_id, now)
        payments.on_order_changed(store, order_id, now)
        uow.commit()
        return store_order(store, order_id)


@retried
def change_line_qty(
    uow: UnitOfWork, order_id: int, line_id: int, new_qty: int, now: datetime
) -> OrderView:
    """Edit a line's quantity; the line's own allocation counts as available to it."""
    v.quantity(new_qty, "qty")
    with uow:
        store = uow.store
        skus = store.order_skus(order_id)
        store.lock_skus(skus)
        _serve_queues_first(store, skus, now)
        order = store_order(store, order_id)
        line = _line(order, line_id)
        floor = line.shipped + line.cancelled
        if new_qty < floor:
            raise InvalidInput(
                "qty", f"must be at least {floor}: units already shipped or cancelled"
            )
        if new_qty < line.qty:
            _reduce_line(store, line, line.qty - new_qty)
            allocate_waiting(store, line.sku, "order_edit", f"order {order_id}", now)
        elif new_qty > line.qty:
            _grow_line(store, order, line, new_qty - line.qty, now)
        repromise(store, line.sku, now, uow.shop_timezone)
        if new_qty < line.qty:
            feedback.request_if_closed(store, order_id, now)
        payments.on_order_changed(store, order_id, now)
        uow.commit()
        return store_order(store, order_id)


@retried
def ship_order(
    uow: UnitOfWork,
    order_id: int,
    now: datetime,
    quantities: dict[int, int] | None = None,
    reference: str | None = None,
) -> dict:
    """Ship allocated units (all of them, or `quantities` per line id); on_hand falls only here.
    A `reference` names one shipment in the shop: a retry gets it again, another order or
    other units under it are refused."""
    reference = v.reference(reference)
    _check_quantities(quantities)
    key = f"shipment_reference:{reference}" if reference else None
    with uow:
        store = uow.store
        store.lock_skus(store.order_skus(order_id))
        if reference and (first := _first_shipment(store, order_id, reference)) is not None:
            _require_same_shipment(first, order_id, quantities, reference)
            return first | {"repeated": True}
        order = store_order(store, order_id)
        payments.check_shipment_allowed(store, order)
        picks = _picks(order, quantities)
        ref = reference or f"order {order_id}"
        rows = [row for line, qty in picks for row in _ship_line(store, line, qty, ref, now)]
        shipment_id = store.insert_shipment(order_id, now, rows)
        payments.on_shipped(store, order_id, shipment_id, now)  # the capture, as an intent
        result = {
            "shipment_id": shipment_id,
            "order_id": order_id,
            "lines": rows,
            "repeated": False,
        }
        store.insert_events(
            [
                {
                    "kind": "shipment_shipped",
                    "order_id": order_id,
                    "sku": None,
                    "created_at": now,
                    "payload": {k: result[k] for k in ("shipment_id", "order_id", "lines")},
                }
            ]
        )
        feedback.request_if_closed(store, order_id, now)
        if key:
            store.put_command_result(key, "shipment", result, now)
        uow.commit()
        return result


# -- placing --------------------------------------------------------------------------------


def _validate_order(cmd: PlaceOrder) -> list[LineRequest]:
    if not cmd.lines:
        raise InvalidInput("lines", "an order needs at least one line")
    if len(cmd.lines) > v.MAX_LINES:
        raise InvalidInput("lines", f"at most {v.MAX_LINES} lines")
    if cmd.external_ref is not None:
        v.text(cmd.external_ref, "external_ref", 200)
    if cmd.requested_date is not None:
        v.moment(cmd.requested_date, "requested_date")
    requests = []
    for index, line in enumerate(cmd.lines):
        v.sku(line.sku, f"lines[{index}].sku")
        v.quantity(line.qty, f"lines[{index}].qty")
        if line.unit_price_minor is not None:
            v.quantity(line.unit_price_minor, f"lines[{index}].unit_price_minor", allow_zero=True)
        requests.append(LineRequest(index + 1, line.sku, line.qty))
    return requests


def _require_products(store: Store, requests: list[LineRequest]) -> dict[str, Product]:
    products = store.get_products({r.sku for r in requests})
    unknown = [(index, r.sku) for index, r in enumerate(requests) if r.sku not in products]
    if unknown:  # every one at once: one round to fix the order
        index, sku = unknown[0]
        reason = f"unknown SKU {sku!r}"
        if len(unknown) > 1:
            reason = "unknown SKUs " + ", ".join(f"{s!r} (lines[{i}])" for i, s in unknown)
        raise InvalidInput(f"lines[{index}].sku", reason)
    _require_one_currency(products, requests)
    return products


def _require_one_currency(products: dict[str, Product], requests: list[LineRequest]) -> None:
    """An order is paid in one currency; a line priced in another cannot join it."""
    currency = products[requests[0].sku].currency
    for index, request in enumerate(requests):
        other = products[request.sku].currency
        if other != currency:
            raise InvalidInput(
                f"lines[{index}].sku",
                f"{request.sku!r} is priced in {other}, the order in {currency}",
            )


def _serve_queues_first(
    store: Store, skus: Sequence[str], now: datetime, products: dict[str, Product] | None = None
) -> None:
    """Idle units while lines wait (a preorder released before the release job ran) go to
    the queue before a new order or a grown line can take them."""
    for sku in skus:
        product = products.get(sku) if products else None
        allocate_waiting(store, sku, "queue_first", None, now, product=product)


def _position(store: Store, product: Product) -> SkuPosition:
    # The planner reads the units already waiting only against a backorder limit.
    waiting = 0 if product.backorder_limit is None else store.backordered_total(product.sku)
    return SkuPosition(product, store.stock_levels(product.sku), waiting)


def _insert_order(
    store: Store,
    cmd: PlaceOrder,
    customer_id: int,
    fulfilment: Fulfilment,
    products: dict[str, Product],
    now: datetime,
) -> int:
    currency = products[cmd.lines[0].sku].currency
    return store.insert_order(
        {
            "external_ref": cmd.external_ref,
            "customer_id": customer_id,
            "fulfilment": fulfilment.value,
            "paid_priority": cmd.paid_priority.value,
            "requested_date": cmd.requested_date,
            "placed_at": now,
            "channel": cmd.channel,
            "currency": currency,
        }
    )


def _insert_line(
    store: Store,
    order_id: int,
    plan: LinePlan,
    cmd: PlaceOrder,
    products: dict[str, Product],
    now: datetime,
) -> LineView:
    price = cmd.lines[plan.line_no - 1].unit_price_minor
    if price is None:
        price = products[plan.sku].price_minor
    line_id = store.insert_line(
        {
            "order_id": order_id,
            "line_no": plan.line_no,
            "sku": plan.sku,
            "qty": plan.qty,
            "allocated": plan.allocated,
            "backordered": plan.backordered,
            "shipped": 0,
            "cancelled": plan.cancelled,
            "unit_price_minor": price,
        }
    )
    _hold(store, order_id, line_id, plan.sku, plan.takes, "order", now)
    return LineView(
        line_id,
        plan.line_no,
        plan.sku,
        plan.qty,
        plan.allocated,
        plan.backordered,
        0,
        plan.cancelled,
        price,
        plan.takes,
    )


def _hold(
    store: Store,
    order_id: int,
    line_id: int,
    sku: str,
    takes: Sequence[tuple[str, int]],
    cause: str,
    now: datetime,
) -> None:
    """Allocate units to a line at the time it is placed or grown, and log it."""
    for warehouse, units in takes:
        store.change_stock(sku, warehouse, allocated=units)
        store.change_line_allocation(line_id, sku, warehouse, units)
    store.insert_allocation_log(
        [
            log_row(sku, Grant(line_id, order_id, warehouse, units, ()), None, cause, None, now)
            for warehouse, units in takes
        ]
    )


def _placement_events(
    order_id: int,
    customer_id: int,
    lines: list[LineView],
    products: dict[str, Product],
    now: datetime,
) -> list[dict]:
    def line_facts(line: LineView) -> dict:
        return {
            "line_id": line.id,
            "sku": line.sku,
            "qty": line.qty,
            "allocated": line.allocated,
            "backordered": line.backordered,
            "cancelled": line.cancelled,
            "preorder": products[line.sku].is_preorder(now),
            "notify_at_checkout": products[line.sku].backorder_policy
            is BackorderPolicy.ALLOW_NOTIFY,
        }

    base = {"order_id": order_id, "sku": None, "created_at": now}
    events = [
        dict(
            base,
            kind="order_placed",
            payload={
                "order_id": order_id,
                "customer_id": customer_id,
                "lines": [line_facts(line) for line in lines],
            },
        )
    ]
    waiting = [line_facts(line) for line in lines if line.backordered]
    if waiting:
        events.append(
            dict(
                base,
                kind="order_backordered",
                payload={
                    "order_id": order_id,
                    "customer_id": customer_id,
                    "lines": waiting,
                    "backordered": sum(line["backordered"] for line in waiting),
                },
            )
        )
    return events


# -- editing and cancelling ----------------------------------------------------------------


def _line(order: OrderView, line_id: int) -> LineView:
    for line in order.lines:
        if line.id == line_id:
            return line
    raise NotFound(f"order {order.id} has no line {line_id}", field="line_id")


def _release(store: Store, line: LineView, units: int) -> None:
    """Give back `units` of a line's allocation to the warehouses' free stock."""
    for warehouse, give in release_from(line.holdings, units):
        store.change_stock(line.sku, warehouse, allocated=-give)
        store.change_line_allocation(line.id, line.sku, warehouse, -give)


def _cancel_line(store: Store, line: LineView, now: datetime, keep: int = 0) -> LineView:
    """Cancel what the line holds or waits for, except `keep` allocated units already paid
    for; returns the line as its cancel event should tell it (what was released)."""
    released = line.allocated - keep
    _release(store, line, released)
    store.change_line(
        line.id,
        allocated=-released,
        backordered=-line.backordered,
        cancelled=line.quantities.outstanding - keep,
    )
    return replace(line, allocated=released) if keep else line


def _cancel_event(kind: str, order_id: int, lines: list[LineView], reason: str, now) -> dict:
    return {
        "kind": kind,
        "order_id": order_id,
        "sku": None,
        "created_at": now,
        "payload": {
            "order_id": order_id,
            "reason": reason,
            "lines": [
                {
                    "line_id": line.id,
                    "sku": line.sku,
                    "released": line.allocated,
                    "cancelled": line.quantities.outstanding,
                }
                for line in lines
            ],
        },
    }


def _audit_cancel(store: Store, audit: Audit | None, action, subject, event, now) -> None:
    """The audit row tells the same units as the cancel event."""
    facts = event["payload"]
    detail = {"order_id": facts["order_id"], "lines": facts["lines"]}
    write_audit(store, audit, action, subject, detail, now)


def _reduce_line(store: Store, line: LineView, units: int) -> None:
    """Shrink a line: waiting units go first, then allocated ones are released."""
    from_waiting = min(units, line.backordered)
    from_allocated = units - from_waiting
    if from_allocated > line.allocated:
        raise InvalidInput("qty", "cannot remove more units than the line still holds")
    _release(store, line, from_allocated)
    store.change_line(line.id, qty=-units, backordered=-from_waiting, allocated=-from_allocated)


def _grow_line(store: Store, order: OrderView, line: LineView, extra: int, now: datetime) -> None:
    product = store.get_product(line.sku)
    position = _position(store, product)
    fulfilment = Fulfilment(order.fulfilment)
    [plan] = plan_order(
        [LineRequest(line.line_no, line.sku, extra)], {line.sku: position}, fulfilment, now
    )
    if plan.cancelled:
        raise InsufficientStock([_edit_shortage(position, extra, now)])
    _hold(store, order.id, line.id, line.sku, plan.takes, "order_edit", now)
    store.change_line(line.id, qty=extra, allocated=plan.allocated, backordered=plan.backordered)
    if plan.backordered:
        store.insert_events(
            [
                {
                    "kind": "order_backordered",
                    "order_id": order.id,
                    "sku": line.sku,
                    "created_at": now,
                    "payload": {
                        "order_id": order.id,
                        "lines": [
                            {"line_id": line.id, "sku": line.sku, "backordered": plan.backordered}
                        ],
                        "backordered": plan.backordered,
                    },
                }
            ]
        )


def _edit_shortage(position: SkuPosition, extra: int, now: datetime):
    from ..domain.errors import Shortage
    from ..domain.intake import available_now

    return Shortage(
        position.product.sku,
        extra,
        available_now(position, now),
        0,
        "the order drops missing units (cancel_remainder)",
    )


# -- shipping -------------------------------------------------------------------------------


def _check_quantities(quantities: dict[int, int] | None) -> None:
    """A 0 leaves a line out of a shipment of other lines; a shipment of no units at all is
    a mistake in the request, not an order with nothing to ship."""
    if quantities is None:
        return  # everything allocated
    for line_id, qty in quantities.items():
        v.quantity(qty, f"quantities[{line_id}]", allow_zero=True)
    if not quantities:
        raise InvalidInput(
            "quantities",
            "give at least one line, or leave quantities out to ship everything allocated",
        )
    if not any(quantities.values()):
        if len(quantities) == 1:
            raise InvalidInput(f"quantities[{next(iter(quantities))}]", "must be at least 1")
        raise InvalidInput("quantities", "at least one line must ship 1 unit or more")


def _first_shipment(store: Store, order_id: int, reference: str) -> dict | None:
    # Shipments made before references were shop-wide are keyed by order too; a retry of
    # one of them is still a retry.
    return store.get_command_result(f"shipment_reference:{reference}") or (
        store.get_command_result(f"shipment:{order_id}:{reference}")
    )


def _require_same_shipment(
    first: dict, order_id: int, quantities: dict[int, int] | None, reference: str
) -> None:
    """A retry is the same order asking for the units the reference shipped (leaving
    quantities out asks for what was allocated then: those units)."""
    shipped: dict[int, int] = defaultdict(int)
    for row in first["lines"]:
        shipped[row["line_id"]] += row["qty"]
    asked = shipped if quantities is None else {k: q for k, q in quantities.items() if q}
    if first["order_id"] == order_id and asked == shipped:
        return
    units = ", ".join(f"{qty} of line {line_id}" for line_id, qty in sorted(shipped.items()))
    raise Conflict(
        f"reference {reference!r} already names shipment {first['shipment_id']} of order "
        f"{first['order_id']} ({units}); give this shipment its own reference",
        field="reference",
        reference=reference,
        shipment_id=first["shipment_id"],
        order_id=first["order_id"],
    )


def _picks(order: OrderView, quantities: dict[int, int] | None) -> list[tuple[LineView, int]]:
    if order.fulfilment == Fulfilment.SHIP_COMPLETE.value:
        waiting = [line.sku for line in order.lines if line.backordered]
        if waiting:
            raise ShipmentNotAllowed(
                f"order {order.id} ships complete and still waits for {', '.join(waiting)}",
                order_id=order.id,
                waiting_skus=waiting,
            )
    if quantities is None:
        picks = [(line, line.allocated) for line in order.lines if line.allocated]
    else:
        picks = [(_line(order, line_id), qty) for line_id, qty in sorted(quantities.items())]
    for line, qty in picks:  # quantities checked before the transaction (0: not shipped)
        if qty > line.allocated:
            raise ShipmentNotAllowed(
                f"line {line.id} holds {line.allocated} allocated unit(s), asked to ship {qty}",
                field=f"quantities[{line.id}]",
                allocated=line.allocated,
                asked=qty,
            )
    picks = [(line, qty) for line, qty in picks if qty]
    if not picks:
        raise ShipmentNotAllowed(
            f"order {order.id} has nothing allocated to ship", order_id=order.id
        )
    return picks


def _ship_line(
    store: Store, line: LineView, qty: int, reference: str | None, now: datetime
) -> list[dict]:
    rows = []
    for warehouse, units in take_from(line.holdings, qty):
        on_hand = store.change_stock(line.sku, warehouse, on_hand=-units, allocated=-units)
        store.change_line_allocation(line.id, line.sku, warehouse, -units)
        store.append_ledger(line.sku, warehouse, -units, on_hand, "shipment", reference, now)
        rows.append({"line_id": line.id, "warehouse": warehouse, "qty": units})
    store.change_line(line.id, allocated=-qty, shipped=qty)
    return rows
