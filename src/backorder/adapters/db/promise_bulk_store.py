"""Whole-catalog reads for recomputing every promise at once: one query per table."""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import Connection, text

from ...domain.allocation import WaitingLine
from ...domain.model import PaidPriority, Tier
from ...domain.promising import IncomingSupply
from ...service.views import LinePromise
from .tables import UTCDateTime

_WAITING = text(
    "SELECT l.id, l.order_id, l.sku, l.backordered, c.tier, o.paid_priority, o.requested_date, "
    "o.placed_at, l.priority_override, l.promised_date, l.promise_basis, l.promise_po_line_id, "
    "l.first_promised_date FROM order_lines l JOIN orders o ON o.id = l.order_id "
    "JOIN customers c ON c.id = o.customer_id WHERE l.backordered > 0"
).columns(requested_date=UTCDateTime, placed_at=UTCDateTime)
_FREE = text(
    "SELECT sku, SUM(CASE WHEN on_hand > allocated THEN on_hand - allocated ELSE 0 END) "
    "FROM stock GROUP BY sku"
)
_SUPPLY = text(
    "SELECT pl.sku, pl.id, pl.expected_date, pl.qty - pl.received - pl.cancelled "
    "FROM po_lines pl JOIN purchase_orders po ON po.id = pl.po_id "
    "WHERE po.status IN ('sent', 'partially_received') "
    "AND pl.qty - pl.received - pl.cancelled > 0"
)
_LEAD_TIMES = text(
    "SELECT p.sku, COALESCE(p.lead_time_days, ps.lead_time_days, "
    "(SELECT MIN(s.lead_time_days) FROM supplier_products sp JOIN suppliers s "
    "ON s.id = sp.supplier_id WHERE sp.sku = p.sku)) FROM products p "
    "LEFT JOIN suppliers ps ON ps.id = p.preferred_supplier_id"
)


class PromiseBulkQueries:
    conn: Connection

    def all_waiting(self) -> tuple[dict[str, list[WaitingLine]], dict[int, LinePromise]]:
        """Every waiting line by SKU, and every such line's current promise."""
        waiting: dict[str, list[WaitingLine]] = defaultdict(list)
        promises: dict[int, LinePromise] = {}
        for r in self.conn.execute(_WAITING):
            waiting[r.sku].append(
                WaitingLine(
                    r.id,
                    r.order_id,
                    r.sku,
                    r.backordered,
                    Tier(r.tier),
                    PaidPriority(r.paid_priority),
                    r.requested_date or r.placed_at,
                    r.placed_at,
                    r.priority_override,
                )
            )
            promises[r.id] = LinePromise(
                r.id,
                r.order_id,
                _day(r.promised_date),
                r.promise_basis,
                r.promise_po_line_id,
                _day(r.first_promised_date),
            )
        return waiting, promises

    def free_stock_by_sku(self) -> dict[str, int]:
        return {sku: int(free or 0) for sku, free in self.conn.execute(_FREE)}

    def all_open_supply(self) -> dict[str, list[IncomingSupply]]:
        supply: dict[str, list[IncomingSupply]] = defaultdict(list)
        for sku, line_id, expected, remaining in self.conn.execute(_SUPPLY):
            supply[sku].append(IncomingSupply(_day(expected), int(remaining), line_id))
        return supply

    def all_lead_times(self) -> dict[str, int | None]:
        return dict(self.conn.execute(_LEAD_TIMES).all())


def _day(value):
    """SQLite hands dates back as text from a plain text() query."""
    if value is None or not isinstance(value, str):
        return value
    from datetime import date

    return date.fromisoformat(value[:10])
