"""The facts a customer message states, read from the same rows as the ledger.

An event's payload says which lines it concerns and how many units crossed (only the
backordered part of a backorder, only the shipped units of a shipment); the order line
adds its product, price, promised date and what that date rests on.
"""

from __future__ import annotations

from datetime import datetime

from ..domain.allocation import priority_key
from ..domain.model import Product
from .ports import Store
from .views import CustomerView, EventView, LineView, OrderView

# The payload field that holds a line's units for each kind; other kinds: units still waiting.
UNITS_FIELD = {
    "order_backordered": "backordered",
    "units_allocated": "allocated",
    "order_ready_to_ship": "allocated",
    "shipment_shipped": "qty",
    "line_cancelled": "cancelled",
    "order_cancelled": "cancelled",
}


def customer_of(store: Store, event: EventView) -> CustomerView | None:
    """The order's customer, or the one the payload names (back in stock has no order)."""
    customer_id = event.payload.get("customer_id")
    if event.order_id is not None:
        order = store.get_order(event.order_id)
        customer_id = order.customer_id if order else customer_id
    return store.get_customer(customer_id) if customer_id is not None else None


def gather_facts(
    store: Store, event: EventView, customer: CustomerView, policy, timezone: str
) -> dict:
    order = store.get_order(event.order_id) if event.order_id is not None else None
    lines = _event_lines(store, event, order, policy.show_queue_position)
    sku = event.sku or event.payload.get("sku")
    product = store.get_product(sku) if sku else None
    return {
        "kind": event.kind,
        "event": event.payload,
        "event_id": event.id,
        "occurred_at": event.created_at,
        "shop_name": policy.shop_name,
        "timezone": timezone,
        "customer": {"id": customer.id, "name": customer.name, "email": customer.email},
        "order": _order_facts(order) if order else None,
        "lines": lines,
        "preorder": bool(lines) and all(line["preorder"] for line in lines),
        "product": _product_facts(product) if product else None,
        "show_queue_position": policy.show_queue_position,
    }


def _order_facts(order: OrderView) -> dict:
    return {
        "id": order.id,
        "external_ref": order.external_ref,
        "placed_at": order.placed_at,
        "currency": order.currency,
        "fulfilment": order.fulfilment,
        "status": order.status,
        "outstanding": sum(line.allocated + line.backordered for line in order.lines),
        "waiting": sum(line.backordered for line in order.lines),
    }


def _product_facts(product: Product) -> dict:
    return {
        "sku": product.sku,
        "name": product.name,
        "price_minor": product.price_minor,
        "currency": product.currency,
        "release_at": product.release_at,
    }


def units_by_line(event: EventView) -> dict[int, dict]:
    """{line id: the payload's facts for it, with `units`} in payload order."""
    payload = event.payload
    items = payload.get("lines") or []
    if not items and "line_id" in payload:
        items = [{"line_id": payload["line_id"]}]
    field = UNITS_FIELD.get(event.kind)
    found: dict[int, dict] = {}
    for item in items:  # a shipment lists a line once per warehouse: add them up
        if isinstance(item, int):  # payment events list the line ids only
            item = {"line_id": item}
        entry = found.setdefault(item["line_id"], dict(item, units=0 if field else None))
        if field:
            entry["units"] += int(item.get(field) or 0)
    return found


def _event_lines(
    store: Store, event: EventView, order: OrderView | None, with_position: bool
) -> list[dict]:
    if order is None:
        return []
    concerned = units_by_line(event)
    lines = [line for line in order.lines if line.id in concerned]
    products = store.get_products({line.sku for line in lines})
    return [
        _line_facts(
            line,
            concerned[line.id],
            products[line.sku],
            order,
            event.created_at,
            _queue_position(store, line) if with_position else None,
        )
        for line in lines
    ]


def _line_facts(
    line: LineView,
    item: dict,
    product: Product,
    order: OrderView,
    at: datetime,
    position: int | None,
) -> dict:
    units = line.backordered if item["units"] is None else item["units"]
    return {
        "line_id": line.id,
        "line_no": line.line_no,
        "sku": line.sku,
        "name": product.name,
        "qty": line.qty,
        "units": units,
        "allocated": line.allocated,
        "backordered": line.backordered,
        "shipped": line.shipped,
        "cancelled": line.cancelled,
        "unit_price_minor": line.unit_price_minor,
        "amount_minor": units * line.unit_price_minor,
        "currency": order.currency,
        "promised_date": line.promised_date,
        "promise_basis": line.promise_basis,
        "first_promised_date": line.first_promised_date,
        "preorder": item.get("preorder", product.is_preorder(at)),
        "release_at": product.release_at,
        "queue_position": position,
    }


def _queue_position(store: Store, line: LineView) -> int | None:
    """1 = next to be served; only for a line that still waits."""
    if not line.backordered:
        return None
    waiting = sorted(store.waiting_lines(line.sku), key=priority_key)
    return next((i for i, w in enumerate(waiting, start=1) if w.line_id == line.id), None)
