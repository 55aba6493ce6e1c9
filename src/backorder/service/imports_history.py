"""Apply a transaction history's cancellations and write-offs, one row per transaction.

The companions of `service.imports` for files that record what happened after a sale (the
UCI Online Retail file's `C` invoices and negative quantities).

Choices:
- A cancellation names a customer, a SKU and a number of units. It cancels that many units
  of the customer's earlier lines of that SKU that are still open, the newest line first
  (a line's waiting units before its allocated ones); freed units go to the next in line.
  When the customer's open lines hold fewer units, nothing is cancelled and the row is
  refused: a cancellation never invents stock nor cancels another customer's units.
- A write-off takes units out of on_hand through the ledger (reason "writeoff"); refused when
  on_hand would fall below what orders hold (`stock.adjust_stock`'s rule).
- Each row carries a key (e.g. `online-retail:C536391:22556#1`); a row whose key was applied
  before is a no-op, so a re-import changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ..domain.errors import InvalidInput
from ..domain.intake import release_from
from . import stock
from .allocating import allocate_waiting
from .imports import Outcome, _JoinedUnitOfWork
from .ports import Store, UnitOfWork
from .promising import repromise
from .runner import retried
from .views import LineView, OrderView

ORDER_PAGE = 500


@dataclass(frozen=True)
class CancellationIn:
    key: str  # applied once
    customer_external_id: str
    sku: str
    qty: int  # units to cancel, > 0
    reference: str  # for the event and the allocation log, e.g. "invoice C536391"
    at: datetime | None = None  # when it happened; None: now


@dataclass(frozen=True)
class WriteOffIn:
    key: str  # applied once
    sku: str
    warehouse: str
    qty: int  # units to take out, > 0
    reference: str
    at: datetime | None = None


@retried
def import_cancellation(uow: UnitOfWork, row: CancellationIn, now: datetime) -> Outcome:
    """Cancel `qty` units of the customer's open lines of the SKU, newest first; all or none."""
    at = row.at or now
    with uow:
        store = uow.store
        store.lock_skus([row.sku])
        if store.get_command_result(row.key) is not None:
            return Outcome.UNCHANGED
        customer = store.find_customer(row.customer_external_id)
        lines = _open_lines(store, customer.id, row.sku, at) if customer else []
        plan = _cancellation_plan(lines, row)
        for order, line, units in plan:
            _cancel_units(store, order, line, units, row.reference, at)
        allocate_waiting(store, row.sku, "cancel", row.reference, at)
        repromise(store, row.sku, at, uow.shop_timezone)
        done = [
            {"order_id": order.id, "line_id": line.id, "units": units}
            for order, line, units in plan
        ]
        store.put_command_result(row.key, "import_cancellation", {"lines": done}, now)
        uow.commit()
    return Outcome.CREATED


def _open_lines(
    store: Store, customer_id: int, sku: str, before: datetime
) -> list[tuple[OrderView, LineView]]:
    """The customer's lines of `sku` placed by `before` that still hold or wait for units,
    newest first."""
    found, offset = [], 0
    while page := store.list_orders(customer_id, ORDER_PAGE, offset):
        found += [
            (o, line)
            for o in page
            if o.placed_at <= before
            for line in o.lines
            if line.sku == sku and line.quantities.outstanding
        ]
        offset += ORDER_PAGE
    return sorted(found, key=lambda pair: (pair[0].placed_at, pair[1].id), reverse=True)


def _cancellation_plan(
    lines: list[tuple[OrderView, LineView]], row: CancellationIn
) -> list[tuple[OrderView, LineView, int]]:
    open_units = sum(line.quantities.outstanding for _, line in lines)
    if open_units < row.qty:
        raise InvalidInput(
            "qty",
            f"cancels {row.qty} x {row.sku} but the earlier lines of "
            f"{row.customer_external_id} hold only {open_units} open unit(s) "
            "of it",
        )
    plan, left = [], row.qty
    for order, line in lines:
        units = min(left, line.quantities.outstanding)
        if units:
            plan.append((order, line, units))
            left -= units
    return plan


def _cancel_units(
    store: Store, order: OrderView, line: LineView, units: int, reason: str, at: datetime
) -> None:
    """Cancel `units` of a line: waiting units first, then allocated ones (released)."""
    from_waiting = min(units, line.backordered)
    from_allocated = units - from_waiting
    for warehouse, give in release_from(line.holdings, from_allocated):
        store.change_stock(line.sku, warehouse, allocated=-give)
        store.change_line_allocation(line.id, line.sku, warehouse, -give)
    store.change_line(
        line.id, backordered=-from_waiting, allocated=-from_allocated, cancelled=units
    )
    store.insert_events(
        [
            {
                "kind": "line_cancelled",
                "order_id": order.id,
                "sku": None,
                "created_at": at,
                "payload": {
                    "order_id": order.id,
                    "reason": reason,
                    "lines": [
                        {
                            "line_id": line.id,
                            "sku": line.sku,
                            "released": from_allocated,
                            "cancelled": units,
                        },
                    ],
                },
            }
        ]
    )


@retried
def import_writeoff(uow: UnitOfWork, row: WriteOffIn, now: datetime) -> Outcome:
    """Take `qty` units of a SKU out of a warehouse's on_hand, once."""
    with uow:
        store = uow.store
        store.lock_skus([row.sku])
        if store.get_command_result(row.key) is not None:
            return Outcome.UNCHANGED
        moved = stock.adjust_stock(
            _JoinedUnitOfWork(uow),
            row.sku,
            row.warehouse,
            row.at or now,
            delta=-row.qty,
            reason="writeoff",
            reference=row.reference,
        )
        store.put_command_result(row.key, "import_writeoff", moved, now)
        uow.commit()
    return Outcome.CREATED
