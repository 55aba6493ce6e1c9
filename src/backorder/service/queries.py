"""Read-only questions: stock, orders, the queue, the log, and the invariant check."""

from __future__ import annotations

from ..domain.allocation import describe_key, explain_precedence, priority_key
from ..domain.errors import InvalidInput, NotFound
from .ports import UnitOfWork
from .views import (
    AllocationLogEntry,
    Breach,
    CustomerView,
    EventView,
    LedgerEntry,
    OrderView,
    PurchaseOrderView,
    QueueEntry,
    StockView,
    SupplierView,
)


def stock(uow: UnitOfWork, sku: str | None = None) -> list[StockView]:
    with uow.reader() as r:
        return r.store.all_stock(sku)


def order(uow: UnitOfWork, order_id: int) -> OrderView:
    with uow.reader() as r:
        found = r.store.get_order(order_id)
    if found is None:
        raise NotFound(f"unknown order {order_id}", field="order_id")
    return found


def order_by_ref(uow: UnitOfWork, external_ref: str) -> OrderView:
    with uow.reader() as r:
        order_id = r.store.find_order_id(external_ref)
        found = r.store.get_order(order_id) if order_id else None
    if found is None:
        raise NotFound(f"no order with reference {external_ref!r}", field="external_ref")
    return found


def orders(
    uow: UnitOfWork, customer_id: int | None = None, limit: int = 100, offset: int = 0
) -> list[OrderView]:
    with uow.reader() as r:
        return r.store.list_orders(customer_id, limit, offset)


def customer(uow: UnitOfWork, customer_id: int) -> CustomerView:
    with uow.reader() as r:
        found = r.store.get_customer(customer_id)
    if found is None:
        raise NotFound(f"unknown customer {customer_id}", field="customer_id")
    return found


def customers(uow: UnitOfWork, limit: int = 100, offset: int = 0) -> list[CustomerView]:
    with uow.reader() as r:
        return r.store.list_customers(limit, offset)


def products(uow: UnitOfWork, limit: int = 100, offset: int = 0):
    with uow.reader() as r:
        return r.store.list_products(limit, offset)


def warehouses(uow: UnitOfWork) -> list[dict]:
    with uow.reader() as r:
        return r.store.list_warehouses()


def queue(uow: UnitOfWork, sku: str) -> list[QueueEntry]:
    """The waiting lines of a SKU in the order they will be served, with the key in words."""
    with uow.reader() as r:
        if r.store.get_product(sku) is None:
            raise NotFound(f"unknown SKU {sku!r}", field="sku")
        waiting = sorted(r.store.waiting_lines(sku), key=priority_key)
        allocated = r.store.allocated_of_waiting_lines(sku)
    return [
        QueueEntry(
            position,
            w.line_id,
            w.order_id,
            sku,
            w.backordered,
            allocated.get(w.line_id, 0),
            describe_key(w),
        )
        for position, w in enumerate(waiting, start=1)
    ]


def allocation_log(
    uow: UnitOfWork, sku: str | None = None, order_id: int | None = None, limit: int = 1000
) -> list[AllocationLogEntry]:
    with uow.reader() as r:
        return r.store.allocation_log(sku, order_id, limit)


def explain(uow: UnitOfWork, sku: str, first_order: int, second_order: int) -> dict:
    """Why one order's line of a SKU is (or was) served before another's."""
    with uow.reader() as r:
        first = _line_key(r.store, sku, first_order)
        second = _line_key(r.store, sku, second_order)
        log = [
            e
            for e in r.store.allocation_log(sku, None, 100_000)
            if e.order_id in (first_order, second_order)
        ]
    return {
        "sku": sku,
        "verdict": explain_precedence(first, second),
        "first": {"order_id": first_order, "priority": describe_key(first)},
        "second": {"order_id": second_order, "priority": describe_key(second)},
        "decisions": log,
    }


def _line_key(store, sku: str, order_id: int):
    from ..domain.allocation import WaitingLine
    from ..domain.model import PaidPriority, Tier

    found = store.get_order(order_id)
    if found is None:
        raise NotFound(f"unknown order {order_id}", field="order_id")
    line = next((x for x in found.lines if x.sku == sku), None)
    if line is None:
        raise NotFound(f"order {order_id} has no line for {sku!r}", field="sku")
    tier = store.get_customer(found.customer_id).tier
    return WaitingLine(
        line.id,
        order_id,
        sku,
        line.backordered,
        Tier(tier),
        PaidPriority(found.paid_priority),
        found.requested_date or found.placed_at,
        found.placed_at,
        line.priority_override,
    )


def ledger(uow: UnitOfWork, sku: str | None = None, limit: int = 1000) -> list[LedgerEntry]:
    with uow.reader() as r:
        return r.store.ledger_entries(sku, limit)


def events(
    uow: UnitOfWork,
    kind: str | None = None,
    order_id: int | None = None,
    limit: int = 1000,
    after_id: int | None = None,
) -> list[EventView]:
    with uow.reader() as r:
        return r.store.events(kind, order_id, limit, after_id)


def check(uow: UnitOfWork) -> list[Breach]:
    """Every invariant of DESIGN.md §3 that the stored rows break (none, we hope)."""
    breaches = []
    with uow.reader() as r:
        for name, sql in r.store.check_queries().items():
            breaches += [
                Breach(name, subject, detail) for subject, detail in r.store.run_check(sql)
            ]
    return breaches


def purchase_order(uow: UnitOfWork, po_id: int) -> PurchaseOrderView:
    with uow.reader() as r:
        found = r.store.get_po(po_id)
    if found is None:
        raise NotFound(f"unknown purchase order {po_id}", field="po_id")
    return found


PO_STATUSES = ("draft", "sent", "partially_received", "received", "cancelled")


def purchase_orders(
    uow: UnitOfWork, status: str | None = None, limit: int = 100
) -> list[PurchaseOrderView]:
    if status is not None and status not in PO_STATUSES:
        raise InvalidInput("status", f"must be one of {', '.join(PO_STATUSES)}")
    with uow.reader() as r:
        return r.store.list_pos(status, limit)


def suppliers(uow: UnitOfWork) -> list[SupplierView]:
    with uow.reader() as r:
        return r.store.list_suppliers()


def sku_view(uow: UnitOfWork, sku: str) -> dict:
    """The time-phased picture of a SKU: stock now, incoming PO lines, waiting lines."""
    with uow.reader() as r:
        product = r.store.get_product(sku)
        if product is None:
            raise NotFound(f"unknown SKU {sku!r}", field="sku")
        stock_rows = r.store.all_stock(sku)
        incoming = r.store.open_po_lines(sku)
        promises = r.store.line_promises(sku)
    waiting = [
        {
            "position": q.position,
            "order_id": q.order_id,
            "line_id": q.line_id,
            "backordered": q.backordered,
            "priority": q.priority,
            "promised_date": promises[q.line_id].promised_date if q.line_id in promises else None,
            "promise_basis": promises[q.line_id].basis if q.line_id in promises else None,
        }
        for q in queue(uow, sku)
    ]
    return {
        "product": product,
        "on_hand": sum(x.on_hand for x in stock_rows),
        "allocated": sum(x.allocated for x in stock_rows),
        "available": sum(x.available for x in stock_rows),
        "warehouses": stock_rows,
        "incoming": incoming,
        "waiting": waiting,
    }
