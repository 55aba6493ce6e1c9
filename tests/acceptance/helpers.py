"""Small helpers so each acceptance test reads as the scenario it states."""

from __future__ import annotations

from datetime import datetime

from backorder.bootstrap import App
from backorder.domain.model import BackorderPolicy, Fulfilment, PaidPriority, Product, Tier
from backorder.service import catalog, orders, queries, stock
from backorder.service.views import LineView, OrderView

UNLIMITED = None


def add_product(
    app: App,
    sku: str,
    *,
    policy: BackorderPolicy = BackorderPolicy.DENY,
    limit: int | None = UNLIMITED,
    release_at: datetime | None = None,
    price: int = 1000,
) -> Product:
    product = Product(sku, f"Item {sku}", price, "EUR", policy, limit, release_at)
    saved, _ = catalog.save_product(app.uow, product, app.clock())
    return saved


def add_customer(
    app: App,
    name: str = "Ann",
    *,
    tier: Tier = Tier.STANDARD,
    fulfilment: Fulfilment = Fulfilment.SHIP_PARTIAL,
) -> int:
    customer = catalog.CustomerIn(name, tier=tier, default_fulfilment=fulfilment)
    return catalog.create_customer(app.uow, customer, app.clock()).id


def place(
    app: App,
    customer_id: int,
    *lines: tuple[str, int],
    fulfilment: Fulfilment | None = None,
    requested_date: datetime | None = None,
    paid_priority: PaidPriority = PaidPriority.NORMAL,
    channel: str = "api",
) -> OrderView:
    cmd = orders.PlaceOrder(
        customer_id,
        [orders.OrderLineIn(sku, qty) for sku, qty in lines],
        fulfilment=fulfilment,
        paid_priority=paid_priority,
        requested_date=requested_date,
        channel=channel,
    )
    return orders.place_order(app.uow, cmd, app.clock())


def receive(
    app: App, sku: str, qty: int, warehouse: str = "main", reference: str | None = None
) -> dict:
    return stock.receive_stock(app.uow, sku, warehouse, qty, app.clock(), reference=reference)


def stock_of(app: App, sku: str, warehouse: str | None = None) -> dict[str, int]:
    """on_hand / allocated / available of a SKU (one warehouse, or all summed) and its queue."""
    rows = [s for s in queries.stock(app.uow, sku) if warehouse in (None, s.warehouse)]
    return {
        "on_hand": sum(s.on_hand for s in rows),
        "allocated": sum(s.allocated for s in rows),
        "available": sum(s.available for s in rows),
        "backordered": sum(e.backordered for e in queries.queue(app.uow, sku)),
    }


def order_of(app: App, order_id: int) -> OrderView:
    return queries.order(app.uow, order_id)


def line_of(app: App, order_id: int, line_no: int = 1) -> LineView:
    return next(line for line in order_of(app, order_id).lines if line.line_no == line_no)


def parts(line: LineView) -> dict[str, int]:
    """The four quantities of invariant 2, with the line's qty."""
    return {
        "qty": line.qty,
        "allocated": line.allocated,
        "backordered": line.backordered,
        "shipped": line.shipped,
        "cancelled": line.cancelled,
    }


def count_events(app: App, kind: str, order_id: int | None = None) -> int:
    return len(queries.events(app.uow, kind=kind, order_id=order_id))


def backorder_notices(app: App, order_id: int | None = None) -> int:
    return count_events(app, "order_backordered", order_id)


def ready_to_ship_notices(app: App, order_id: int | None = None) -> int:
    return count_events(app, "order_ready_to_ship", order_id)


def assert_invariants(app: App) -> None:
    assert queries.check(app.uow) == []
