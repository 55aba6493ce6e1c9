"""Read models the service returns: plain frozen dataclasses, easy to serialise."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from ..domain.model import LineQuantities


@dataclass(frozen=True)
class LineView:
    id: int
    line_no: int
    sku: str
    qty: int
    allocated: int
    backordered: int
    shipped: int
    cancelled: int
    unit_price_minor: int
    holdings: tuple[tuple[str, int], ...] = ()  # (warehouse, units allocated there)
    promised_date: date | None = None  # shop-local date the waiting units are promised for
    promise_basis: str | None = None  # stock, purchase_order, lead_time or none
    promise_po_line_id: int | None = None
    first_promised_date: date | None = None
    promise_changes: int = 0
    priority_override: int = 0  # first part of the priority key; < 0 raised by an operator

    @property
    def state(self) -> str:
        return self.quantities.state

    @property
    def quantities(self) -> LineQuantities:
        return LineQuantities(
            self.qty, self.allocated, self.backordered, self.shipped, self.cancelled
        )


@dataclass(frozen=True)
class OrderView:
    id: int
    external_ref: str | None
    customer_id: int
    fulfilment: str
    paid_priority: str
    requested_date: datetime | None
    placed_at: datetime
    channel: str
    currency: str
    lines: tuple[LineView, ...] = field(default_factory=tuple)

    @property
    def status(self) -> str:
        states = {line.state for line in self.lines}
        if states <= {"cancelled"}:
            return "cancelled"
        if states <= {"shipped", "cancelled"}:
            return "shipped"
        if states <= {"allocated", "shipped", "cancelled"}:
            return "ready_to_ship"
        if states & {"allocated", "partially_allocated"}:
            return "partially_allocated"
        return "backordered"

    def line(self, line_id: int) -> LineView:
        return next(line for line in self.lines if line.id == line_id)


@dataclass(frozen=True)
class CustomerView:
    id: int
    external_id: str | None
    name: str
    email: str | None
    tier: str
    default_fulfilment: str
    locale: str


@dataclass(frozen=True)
class StockView:
    sku: str
    warehouse: str
    on_hand: int
    allocated: int

    @property
    def available(self) -> int:
        return self.on_hand - self.allocated


@dataclass(frozen=True)
class QueueEntry:
    position: int
    line_id: int
    order_id: int
    sku: str
    backordered: int
    allocated: int
    priority: str  # the key in words


@dataclass(frozen=True)
class AllocationLogEntry:
    id: int
    sku: str
    warehouse: str
    line_id: int
    order_id: int
    qty: int
    cause: str
    reference: str | None
    priority_key: str | None
    reason: str
    ahead_of_line_id: int | None
    created_at: datetime


@dataclass(frozen=True)
class LedgerEntry:
    id: int
    sku: str
    warehouse: str
    delta: int
    on_hand_after: int
    reason: str
    reference: str | None
    created_at: datetime


@dataclass(frozen=True)
class EventView:
    id: int
    kind: str
    order_id: int | None
    sku: str | None
    payload: dict
    created_at: datetime


@dataclass(frozen=True)
class Breach:
    """One broken invariant, with the row that breaks it."""

    invariant: str
    subject: str
    detail: str


@dataclass(frozen=True)
class SupplierView:
    id: int
    name: str
    contact: str | None
    email: str | None
    lead_time_days: int
    currency: str


@dataclass(frozen=True)
class PoLineView:
    id: int
    po_id: int
    sku: str
    qty: int
    received: int
    cancelled: int
    unit_cost_minor: int
    expected_date: date
    first_expected_date: date
    last_received_date: date | None

    @property
    def open_qty(self) -> int:
        """Units still expected: over-receipts never make it negative."""
        return max(0, self.qty - self.received - self.cancelled)


@dataclass(frozen=True)
class PurchaseOrderView:
    id: int
    supplier_id: int
    warehouse: str
    status: str
    reference: str | None
    currency: str
    created_at: datetime
    sent_at: datetime | None
    lines: tuple[PoLineView, ...] = ()


@dataclass(frozen=True)
class LinePromise:
    """The stored promise of a waiting order line."""

    line_id: int
    order_id: int
    promised_date: date | None
    basis: str | None
    po_line_id: int | None
    first_promised_date: date | None
