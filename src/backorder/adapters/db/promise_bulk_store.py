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
from functools import lru_cache
from typing import NamedTuple

from sqlalchemy import Connection

from ...domain.allocation import PAID_RANK, TIER_RANK
from ...domain.promising import IncomingSupply


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
_WAITING = (
    "SELECT l.sku, l.id, l.backordered, l.order_id, l.promised_date, l.promise_basis, "
    "l.promise_po_line_id, l.first_promised_date "
    "FROM order_lines l JOIN orders o ON o.id = l.order_id "
    "JOIN customers c ON c.id = o.customer_id WHERE l.backordered > 0 "
    f"ORDER BY l.sku, {_QUEUE_ORDER}"
)
_FREE = (
    "SELECT sku, SUM(CASE WHEN on_hand > allocated THEN on_hand - allocated ELSE 0 END) "
    "FROM stock GROUP BY sku"
)
_SUPPLY = (
    "SELECT pl.sku, pl.id, pl.expected_date, pl.qty - pl.received - pl.cancelled "
    "FROM po_lines pl JOIN purchase_orders po ON po.id = pl.po_id "
    "WHERE po.status IN ('sent', 'partially_received') "
    "AND pl.qty - pl.received - pl.cancelled > 0"
)
# The lead time as SupplyQueries.lead_time_days picks it: the SKU's own, its preferred
# supplier's, else its fastest supplier's.
_SKU_FACTS = (
    "SELECT p.sku, p.release_at, COALESCE(p.lead_time_days, ps.lead_time_days, "
    "(SELECT MIN(s.lead_time_days) FROM supplier_products sp JOIN suppliers s "
    "ON s.id = sp.supplier_id WHERE sp.sku = p.sku)) FROM products p "
    "LEFT JOIN suppliers ps ON ps.id = p.preferred_supplier_id "
    "WHERE EXISTS (SELECT 1 FROM order_lines l WHERE l.sku = p.sku AND l.backordered > 0)"
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

    def all_waiting(self) -> dict[str, list[QueuedLine]]:
        """Every waiting line by SKU, in priority-key order, with its stored promise."""
        waiting: dict[str, list[QueuedLine]] = defaultdict(list)
        for sku, line_id, owed, order_id, promised, basis, po_line, first in self._raw(_WAITING):
            waiting[sku].append(
                QueuedLine(line_id, owed, order_id, _day(promised), basis, po_line, _day(first))
            )
        return waiting

    def free_stock_by_sku(self) -> dict[str, int]:
        return {sku: int(free or 0) for sku, free in self._raw(_FREE)}

    def all_open_supply(self) -> dict[str, list[IncomingSupply]]:
        supply: dict[str, list[IncomingSupply]] = defaultdict(list)
        for sku, line_id, expected, remaining in self._raw(_SUPPLY):
            supply[sku].append(IncomingSupply(_day(expected), int(remaining), line_id))
        return supply

    def waiting_sku_facts(self) -> dict[str, SkuFacts]:
        """Release time and lead time of every SKU with a waiting line."""
        return {sku: SkuFacts(release, lead) for sku, release, lead in self._raw(_SKU_FACTS)}

    def set_promises_bulk(self, rows: list[tuple]) -> None:
        """rows: (promised, basis, po_line_id, changed, line_id), `changed` 1 when a date moved."""
        if not rows:
            return
        if (
            self.conn.dialect.name == "sqlite"
        ):  # dates as ISO text: the driver's adapter is deprecated
            rows = [(_iso(day), *rest) for day, *rest in rows]
        params = [
            (day, basis, po_line, day, changed, line_id)
            for day, basis, po_line, changed, line_id in rows
        ]
        cursor = self.conn.connection.cursor()
        try:
            cursor.executemany(_placeholders(_SET_PROMISE, self.conn.dialect.name), params)
        finally:
            cursor.close()

    def _raw(self, sql: str) -> list[tuple]:
        """Run a parameterless query on the driver's cursor, in the open transaction."""
        cursor = self.conn.connection.cursor()
        try:
            cursor.execute(sql)
            return cursor.fetchall()
        finally:
            cursor.close()


def _placeholders(sql: str, dialect: str) -> str:
    return sql.replace("?", "%s") if dialect == "postgresql" else sql


def _iso(day: date | None) -> str | None:
    return None if day is None else day.isoformat()


@lru_cache(maxsize=8192)  # a few hundred distinct dates among 100,000 lines
def _day(value) -> date | None:
    """SQLite hands dates back as text from a raw query."""
    if value is None or not isinstance(value, str):
        return value
    return date.fromisoformat(value[:10])
