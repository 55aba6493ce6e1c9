"""Rows of inventory snapshots, bulk writes for an import, and the risk ranking's figures."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import asdict
from datetime import datetime

from sqlalchemy import Connection, and_, func, insert, select, tuple_, update

from ...domain.model import Product
from . import tables as t
from .supply_store import SUPPLYING

_KEY = ("sku", "snapshot_date")


class SnapshotQueries:
    """Mixed into SqlStore; uses its connection."""

    conn: Connection

    # -- import -----------------------------------------------------------------------------

    def on_hand_at(self, skus: Iterable[str], warehouse: str) -> dict[str, int]:
        st = t.stock
        query = select(st.c.sku, st.c.on_hand).where(
            st.c.sku.in_(list(skus)), st.c.warehouse == warehouse
        )
        return {row.sku: row.on_hand for row in self.conn.execute(query)}

    def open_po_lines_of(
        self, skus: Iterable[str], supplier_name: str
    ) -> dict[str, list[tuple[int, str | None]]]:
        """Open PO lines of these SKUs from one supplier: (po_line_id, the PO's reference)."""
        pl, po, s = t.po_lines, t.purchase_orders, t.suppliers
        remaining = pl.c.qty - pl.c.received - pl.c.cancelled
        query = (
            select(pl.c.sku, pl.c.id, po.c.reference)
            .join(po, po.c.id == pl.c.po_id)
            .join(s, s.c.id == po.c.supplier_id)
            .where(
                pl.c.sku.in_(list(skus)),
                s.c.name == supplier_name,
                po.c.status.in_(SUPPLYING),
                remaining > 0,
            )
            .order_by(pl.c.id)
        )
        found: dict[str, list[tuple[int, str | None]]] = defaultdict(list)
        for row in self.conn.execute(query):
            found[row.sku].append((row.id, row.reference))
        return dict(found)

    def create_counted_skus(
        self,
        counted: Sequence[tuple[Product, int, str]],
        warehouse: str,
        reason: str,
        now: datetime,
    ) -> None:
        """New products with their first count at `warehouse`, each count a ledger row:
        (product, on_hand, ledger reference). Three statements for the lot."""
        products = [
            asdict(p)
            | {"backorder_policy": p.backorder_policy.value, "created_at": now, "updated_at": now}
            for p, _, _ in counted
        ]
        self.conn.execute(insert(t.products), products)
        self.conn.execute(
            insert(t.stock),
            [
                {"sku": p.sku, "warehouse": warehouse, "on_hand": n, "allocated": 0}
                for p, n, _ in counted
            ],
        )
        moves = [
            {
                "sku": p.sku,
                "warehouse": warehouse,
                "delta": n,
                "on_hand_after": n,
                "reason": reason,
                "reference": reference,
                "created_at": now,
            }
            for p, n, reference in counted
            if n
        ]
        if moves:
            self.conn.execute(insert(t.ledger), moves)

    def save_sku_snapshots(self, rows: Sequence[dict]) -> set[str]:
        """Insert or update (SKU, snapshot date) rows; the SKUs whose stored values changed."""
        s = t.sku_snapshots
        keys = [(row["sku"], row["snapshot_date"]) for row in rows]
        query = select(s).where(tuple_(s.c.sku, s.c.snapshot_date).in_(keys))
        stored = {(r.sku, r.snapshot_date): r._mapping for r in self.conn.execute(query)}
        new = [row for row in rows if (row["sku"], row["snapshot_date"]) not in stored]
        if new:
            self.conn.execute(insert(s), new)
        changed = {row["sku"] for row in new}
        for row in rows:
            old = stored.get((row["sku"], row["snapshot_date"]))
            if old is not None and _differs(old, row):
                key = and_(s.c.sku == row["sku"], s.c.snapshot_date == row["snapshot_date"])
                self.conn.execute(update(s).where(key).values(**_without_key(row)))
                changed.add(row["sku"])
        return changed

    # -- reading ----------------------------------------------------------------------------

    def latest_sku_snapshots(self) -> list[dict]:
        """Each SKU's latest snapshot row, by SKU."""
        s, latest = t.sku_snapshots, _latest_dates()
        query = select(s).join(latest, _is_latest(latest)).order_by(s.c.sku)
        return [dict(row._mapping) for row in self.conn.execute(query)]

    def risk_inputs(self) -> list[dict]:
        """Per SKU with a snapshot: its latest forecast and sales, and live stock, owed units,
        open PO quantity, safety stock and lead time (own, else its preferred supplier's)."""
        s, p, sup, latest = t.sku_snapshots, t.products, t.suppliers, _latest_dates()
        stock, owed, transit = _stock_totals(), _owed_totals(), _transit_totals()
        query = (
            select(
                s.c.sku,
                s.c.snapshot_date,
                s.c.forecast_3_month,
                s.c.sales_3_month,
                p.c.safety_stock,
                func.coalesce(p.c.lead_time_days, sup.c.lead_time_days).label("lead_time_days"),
                func.coalesce(stock.c.on_hand, 0).label("on_hand"),
                func.coalesce(stock.c.allocated, 0).label("allocated"),
                func.coalesce(owed.c.owed, 0).label("owed"),
                func.coalesce(transit.c.in_transit, 0).label("in_transit"),
            )
            .join(latest, _is_latest(latest))
            .join(p, p.c.sku == s.c.sku)
            .outerjoin(sup, sup.c.id == p.c.preferred_supplier_id)
            .outerjoin(stock, stock.c.sku == s.c.sku)
            .outerjoin(owed, owed.c.sku == s.c.sku)
            .outerjoin(transit, transit.c.sku == s.c.sku)
        )
        return [dict(row._mapping) for row in self.conn.execute(query)]


def _without_key(row: dict) -> dict:
    return {k: v for k, v in row.items() if k not in _KEY}


def _differs(stored, row: dict) -> bool:
    """A value other than the import time differs from the stored one."""
    return any(stored[k] != v for k, v in row.items() if k not in _KEY and k != "imported_at")


def _is_latest(latest):
    s = t.sku_snapshots
    return and_(latest.c.sku == s.c.sku, latest.c.snapshot_date == s.c.snapshot_date)


def _latest_dates():
    s = t.sku_snapshots
    return (
        select(s.c.sku, func.max(s.c.snapshot_date).label("snapshot_date"))
        .group_by(s.c.sku)
        .subquery()
    )


def _stock_totals():
    st = t.stock
    return (
        select(
            st.c.sku,
            func.sum(st.c.on_hand).label("on_hand"),
            func.sum(st.c.allocated).label("allocated"),
        )
        .group_by(st.c.sku)
        .subquery()
    )


def _owed_totals():
    ol = t.order_lines
    return (
        select(ol.c.sku, func.sum(ol.c.backordered).label("owed"))
        .where(ol.c.backordered > 0)
        .group_by(ol.c.sku)
        .subquery()
    )


def _transit_totals():
    pl, po = t.po_lines, t.purchase_orders
    remaining = pl.c.qty - pl.c.received - pl.c.cancelled
    return (
        select(pl.c.sku, func.sum(remaining).label("in_transit"))
        .join(po, po.c.id == pl.c.po_id)
        .where(po.c.status.in_(SUPPLYING), remaining > 0)
        .group_by(pl.c.sku)
        .subquery()
    )
