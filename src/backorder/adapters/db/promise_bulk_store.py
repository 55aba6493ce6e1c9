"""Whole-catalog reads and writes for recomputing every promise at once: one statement per
table, straight through the driver's cursor.

A full recompute reads and writes one row per waiting line; SQLAlchemy's per-row result
processing and parameter building cost more than the statements themselves, so these few
statements skip them. Values come back as the driver gives them: on SQLite, dates and times
are text in SQLAlchemy's fixed-width form, which sorts as time does.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from typing import NamedTuple

from sqlalchemy import Connection

from ...domain.allocation import PAID_RANK, TIER_RANK
from ...domain.promising import IncomingSupply
from . import raw


class _Query(NamedTuple):
    """A whole-catalog query, or one narrowed to some SKUs through `{filter}`."""

    sql: str
    sku_column: str

    def narrowed(self, skus: list[str] | None) -> tuple[str, list[str]]:
        if skus is None:
            return self.sql.format(filter=""), []
        if not skus:
            return self.sql.format(filter="AND 1 = 0"), []
        marks = raw.marks(skus)
        return self.sql.format(filter=f"AND {self.sku_column} IN ({marks})"), skus


def _rank(column: str, ranks: dict) -> str:
    whens = " ".join(f"WHEN '{value}' THEN {rank}" for value, rank in ranks.items())
    return f"CASE {column} {whens} END"


# allocation.priority_key spelled in SQL over the stored columns, so the database hands the
# lines over in queue order (sorting in Python costs more). One rule, two spellings:
# tests/service/test_purchasing_and_promises.py checks that they agree.
_QUEUE_ORDER = ", ".join(
    [
        "l.priority_override",
        _rank("c.tier", TIER_RANK),
        _rank("o.paid_priority", PAID_RANK),
        "COALESCE(o.requested_date, o.placed_at)",
        "o.placed_at",
        "l.id",
    ]
)
_WAITING = _Query(
    "SELECT l.sku, l.id, l.backordered, l.order_id, l.promised_date, l.promise_basis, "
    "l.promise_po_line_id, l.first_promised_date "
    "FROM order_lines l JOIN orders o ON o.id = l.order_id "
    "JOIN customers c ON c.id = o.customer_id WHERE l.backordered > 0 {filter} "
    f"ORDER BY l.sku, {_QUEUE_ORDER}",
    "l.sku",
)
_FREE = _Query(
    "SELECT sku, SUM(CASE WHEN on_hand > allocated THEN on_hand - allocated ELSE 0 END) "
    "FROM stock WHERE 1 = 1 {filter} GROUP BY sku",
    "sku",
)
_SUPPLY = _Query(
    "SELECT pl.sku, pl.id, pl.expected_date, pl.qty - pl.received - pl.cancelled "
    "FROM po_lines pl JOIN purchase_orders po ON po.id = pl.po_id "
    "WHERE po.status IN ('sent', 'partially_received') "
    "AND pl.qty - pl.received - pl.cancelled > 0 {filter}",
    "pl.sku",
)
# The lead time as SupplyQueries.lead_time_days picks it: the SKU's own, its preferred
# supplier's, else its fastest supplier's.
_SKU_FACTS = _Query(
    "SELECT p.sku, p.release_at, COALESCE(p.lead_time_days, ps.lead_time_days, "
    "(SELECT MIN(s.lead_time_days) FROM supplier_products sp JOIN suppliers s "
    "ON s.id = sp.supplier_id WHERE sp.sku = p.sku)) FROM products p "
    "LEFT JOIN suppliers ps ON ps.id = p.preferred_supplier_id "
    "WHERE EXISTS (SELECT 1 FROM order_lines l WHERE l.sku = p.sku AND l.backordered > 0) "
    "{filter}",
    "p.sku",
)
_SET_PROMISE = (
    "UPDATE order_lines SET promised_date = ?, promise_basis = ?, promise_po_line_id = ?, "
    "first_promised_date = COALESCE(first_promised_date, ?), "
    "promise_changes = promise_changes + ? WHERE id = ?"
)


class QueuedLine(NamedTuple):
    """A waiting line as the full recompute needs it, with its stored promise under
    LinePromise's names."""

    line_id: int
    backordered: int
    order_id: int
    promised_date: date | None
    basis: str | None
    po_line_id: int | None
    first_promised_date: date | None


class SkuFacts(NamedTuple):
    release_at: object  # the driver's value; None for a product that is no preorder
    lead_time_days: int | None


class PromiseBulkQueries:
    conn: Connection

    def all_waiting(self, skus: list[str] | None = None) -> dict[str, list[QueuedLine]]:
        """Every waiting line (of `skus`) by SKU, in priority-key order, with its promise."""
        waiting: dict[str, list[QueuedLine]] = defaultdict(list)
        rows, day = self._raw(_WAITING, skus), raw.date_value(self.conn)
        for sku, line_id, owed, order_id, promised, basis, po_line, first in rows:
            waiting[sku].append(
                QueuedLine(line_id, owed, order_id, day(promised), basis, po_line, day(first))
            )
        return waiting

    def free_stock_by_sku(self, skus: list[str] | None = None) -> dict[str, int]:
        return {sku: int(free or 0) for sku, free in self._raw(_FREE, skus)}

    def all_open_supply(self, skus: list[str] | None = None) -> dict[str, list[IncomingSupply]]:
        supply: dict[str, list[IncomingSupply]] = defaultdict(list)
        day = raw.date_value(self.conn)
        for sku, line_id, expected, remaining in self._raw(_SUPPLY, skus):
            supply[sku].append(IncomingSupply(day(expected), int(remaining), line_id))
        return supply

    def waiting_sku_facts(self, skus: list[str] | None = None) -> dict[str, SkuFacts]:
        """Release time and lead time of every SKU (of `skus`) with a waiting line."""
        rows = self._raw(_SKU_FACTS, skus)
        return {sku: SkuFacts(release, lead) for sku, release, lead in rows}

    def set_promises_bulk(self, rows: list[tuple]) -> None:
        """rows: (promised, basis, po_line_id, changed, line_id), `changed` 1 when a date moved."""
        day = raw.date_param(self.conn)
        params = [
            (day(promised), basis, po_line, day(promised), changed, line_id)
            for promised, basis, po_line, changed, line_id in rows
        ]
        raw.executemany(self.conn, _SET_PROMISE, params)

    def _raw(self, query: _Query, skus: list[str] | None) -> list[tuple]:
        return raw.fetchall(self.conn, *query.narrowed(skus))
