"""What a receipt would do, before it is made (issue 5): the pure planner on the current queue.

`domain.allocation.plan_allocation` is the function the receipt itself runs, so the preview
and the receipt agree unless the queue or the stock changes in between. Nothing is written.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ..domain.allocation import Supply, WaitingLine, describe_key, plan_allocation
from ..domain.errors import Conflict, NotFound
from . import payments
from . import validation as v
from .ports import UnitOfWork


@dataclass(frozen=True)
class PlannedGrant:
    line_id: int
    order_id: int
    customer: str
    warehouse: str
    qty: int
    why: str  # the priority key in words
    ahead_of: int | None  # the next line left waiting
    line: WaitingLine  # the facts of its key


@dataclass(frozen=True)
class ReceiptPreview:
    sku: str
    warehouse: str
    qty: int
    grants: tuple[PlannedGrant, ...]
    waiting_lines: int  # lines in the queue before the receipt
    left_free: int  # units nobody in the queue takes

    @property
    def lines(self) -> int:
        return len({g.line_id for g in self.grants})

    @property
    def units(self) -> int:
        return sum(g.qty for g in self.grants)


def preview_receipt(
    uow: UnitOfWork, sku: str, warehouse: str, qty: int, now: datetime
) -> ReceiptPreview:
    v.sku(sku)
    v.quantity(qty, "qty")
    with uow.reader() as r:
        store = r.store
        product = store.get_product(sku)
        if product is None:
            raise NotFound(f"unknown SKU {sku!r}", field="sku")
        supply = _supply_after(store, sku, warehouse, qty)
        queue = store.waiting_lines(sku)
        waiting = [] if product.is_preorder(now) else payments.servable(store, queue)
        grants = plan_allocation(waiting, supply)
        by_line = {line.line_id: line for line in waiting}
        names = _customer_names(store, {g.order_id for g in grants})
    planned = tuple(
        PlannedGrant(
            g.line_id,
            g.order_id,
            names.get(g.order_id, "?"),
            g.warehouse,
            g.qty,
            describe_key(by_line[g.line_id]),
            g.ahead_of,
            by_line[g.line_id],
        )
        for g in grants
    )
    left = sum(s.qty for s in supply) - sum(g.qty for g in planned)
    return ReceiptPreview(sku, warehouse, qty, planned, len(queue), left)


def preview_po_receipt(
    uow: UnitOfWork, po_line_id: int, qty: int, now: datetime
) -> tuple[ReceiptPreview, dict]:
    """The preview of receiving a PO line, and the line (sku, warehouse, open units)."""
    with uow.reader() as r:
        line = r.store.get_po_line(po_line_id)
        po = r.store.get_po(line.po_id) if line else None
    if line is None:
        raise NotFound(f"unknown PO line {po_line_id}", field="po_line_id")
    if po.status in ("draft", "cancelled"):
        raise Conflict(
            f"purchase order {po.id} is {po.status}; send it before receiving", field="po_line_id"
        )
    facts = {
        "po_line_id": line.id,
        "po_id": po.id,
        "sku": line.sku,
        "warehouse": po.warehouse,
        "open_qty": line.open_qty,
        "reference": po.reference,
    }
    return preview_receipt(uow, line.sku, po.warehouse, qty, now), facts


def _supply_after(store, sku: str, warehouse: str, qty: int) -> list[Supply]:
    """Free units per warehouse in serving order, with the received units added."""
    known = store.get_warehouse(warehouse)
    if known is None:
        raise NotFound(f"unknown warehouse {warehouse!r}", field="warehouse")
    free = {s.warehouse: s.available for s in store.stock_levels(sku)}
    free[warehouse] = free.get(warehouse, 0) + qty
    order = [w["code"] for w in store.list_warehouses()]  # rank, then code: the receipt's order
    return [Supply(code, free[code]) for code in order if free.get(code, 0) > 0]


def _customer_names(store, order_ids: set[int]) -> dict[int, str]:
    names = {}
    for order_id in sorted(order_ids):
        order = store.get_order(order_id)
        customer = store.get_customer(order.customer_id) if order else None
        names[order_id] = customer.name if customer else "?"
    return names
