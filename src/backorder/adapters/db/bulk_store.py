"""Set-at-a-time reads and writes for bulk product imports and for exports.

The per-row store methods cost one statement each; a batch of a thousand rows through them
costs thousands. These read a whole batch of SKUs in one statement and write with
`executemany`, inside the caller's transaction like every other store method.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Connection, bindparam, func, insert, select, text, update

from ...domain.model import Product, StockLevel
from . import raw
from . import tables as t


class BulkQueries:
    """Mixed into SqlStore; uses its connection and its product mapping."""

    conn: Connection

    # -- reads -------------------------------------------------------------------------------

    def products_after(self, after: str | None, limit: int) -> list[Product]:
        """The next `limit` products in SKU order after `after` (keyset paging: each page
        costs the same however deep into the catalog it is)."""
        from .store import _product  # the one mapping of a row to a product

        query = _PRODUCTS_FROM_START if after is None else _PRODUCTS_AFTER
        return [_product(row) for row in self.conn.execute(query, {"after": after, "limit": limit})]

    def stock_for(self, skus: Sequence[str]) -> dict[str, tuple[StockLevel, ...]]:
        """Every stock row of these SKUs, each SKU's rows in allocation order (rank, code)."""
        skus = list(skus)
        if not skus:
            return {}
        levels: dict[str, list[StockLevel]] = {}
        sql = _STOCK_FOR.format(marks=raw.marks(skus))
        for sku, warehouse, on_hand, allocated, rank in raw.fetchall(self.conn, sql, skus):
            levels.setdefault(sku, []).append(StockLevel(sku, warehouse, on_hand, allocated, rank))
        return {sku: tuple(rows) for sku, rows in levels.items()}

    def backordered_totals(self, skus: Sequence[str]) -> dict[str, int]:
        """Units waiting per SKU, for the SKUs that have waiting lines."""
        rows = self.conn.execute(_BACKORDERED, {"skus": list(skus)})
        return {row.sku: int(row.waiting) for row in rows}

    # -- writes ------------------------------------------------------------------------------

    def insert_products(self, products: Sequence[Product], now: datetime) -> None:
        from .store import _product_values  # the one mapping of a product to its columns

        if products:
            rows = [_product_values(p) | {"created_at": now, "updated_at": now} for p in products]
            self.conn.execute(insert(t.products), rows)

    def update_products(self, products: Sequence[Product], now: datetime) -> None:
        from .store import _product_values

        if products:
            rows = [_keyed(_product_values(p)) | {"updated_at": now} for p in products]
            self.conn.execute(_UPDATE_PRODUCT, rows)

    def insert_stock_rows(self, rows: Sequence[tuple[str, str, int]]) -> None:
        """New (sku, warehouse, on_hand) rows, nothing allocated; the caller knows they are new."""
        if rows:
            self.conn.execute(_INSERT_STOCK_ROW, [{"s": s, "w": w, "n": n} for s, w, n in rows])

    def add_on_hand(self, changes: Sequence[tuple[str, str, int]]) -> None:
        """(sku, warehouse, delta) each: on_hand += delta, in one UPDATE per row, in order."""
        if changes:
            self.conn.execute(_ADD_ON_HAND, [{"s": s, "w": w, "d": d} for s, w, d in changes])

    def append_ledger_rows(self, rows: Sequence[dict]) -> None:
        """Ledger rows: sku, warehouse, delta, on_hand_after, reason, reference, created_at."""
        if rows:
            self.conn.execute(insert(t.ledger), list(rows))


def _keyed(values: dict) -> dict:
    """Product values for `_UPDATE_PRODUCT`: the SKU becomes the key, not a column to set."""
    values = dict(values)
    values["key_sku"] = values.pop("sku")
    return values


_PRODUCTS_FROM_START = select(t.products).order_by(t.products.c.sku).limit(bindparam("limit"))
_PRODUCTS_AFTER = (
    select(t.products)
    .where(t.products.c.sku > bindparam("after"))
    .order_by(t.products.c.sku)
    .limit(bindparam("limit"))
)
_STOCK_FOR = (
    "SELECT s.sku, s.warehouse, s.on_hand, s.allocated, w.rank FROM stock s "
    "JOIN warehouses w ON w.code = s.warehouse WHERE s.sku IN ({marks}) "
    "ORDER BY s.sku, w.rank, w.code"
)
_BACKORDERED = (
    select(t.order_lines.c.sku, func.sum(t.order_lines.c.backordered).label("waiting"))
    .where(
        t.order_lines.c.sku.in_(bindparam("skus", expanding=True)),
        t.order_lines.c.backordered > 0,
    )
    .group_by(t.order_lines.c.sku)
)
_UPDATE_PRODUCT = update(t.products).where(t.products.c.sku == bindparam("key_sku"))
_INSERT_STOCK_ROW = text(
    "INSERT INTO stock (sku, warehouse, on_hand, allocated) VALUES (:s, :w, :n, 0)"
)
_ADD_ON_HAND = text("UPDATE stock SET on_hand = on_hand + :d WHERE sku = :s AND warehouse = :w")
