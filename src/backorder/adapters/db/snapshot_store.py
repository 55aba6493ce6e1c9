"""Rows of inventory snapshots, and the figures the risk ranking reads for every SKU at once."""

from __future__ import annotations

from sqlalchemy import Connection, and_, func, insert, select, update

from . import tables as t
from .supply_store import SUPPLYING

_KEY = ("sku", "snapshot_date")


class SnapshotQueries:
    """Mixed into SqlStore; uses its connection."""

    conn: Connection

    def save_sku_snapshot(self, values: dict) -> bool:
        """Insert or update a (SKU, snapshot date) row; True when a stored value changed."""
        s = t.sku_snapshots
        key = and_(s.c.sku == values["sku"], s.c.snapshot_date == values["snapshot_date"])
        row = self.conn.execute(select(s).where(key)).first()
        if row is None:
            self.conn.execute(insert(s).values(**values))
            return True
        stored = row._mapping
        changes = {k: v for k, v in values.items()
                   if k not in _KEY and k != "imported_at" and stored[k] != v}  # fmt: skip
        if changes:
            self.conn.execute(update(s).where(key).values(**changes, imported_at=values["imported_at"]))
        return bool(changes)

    def latest_sku_snapshots(self) -> list[dict]:
        """Each SKU's latest snapshot row, by SKU."""
        s, latest = t.sku_snapshots, _latest_dates()
        query = (
            select(s)
            .join(latest, and_(latest.c.sku == s.c.sku, latest.c.snapshot_date == s.c.snapshot_date))
            .order_by(s.c.sku)
        )
        return [dict(row._mapping) for row in self.conn.execute(query)]

    def risk_inputs(self) -> list[dict]:
        """Per SKU with a snapshot: its latest forecast and sales, and live stock, owed units,
        open PO quantity, safety stock and lead time (own, else its preferred supplier's)."""
        s, p, sup, latest = t.sku_snapshots, t.products, t.suppliers, _latest_dates()
        stock, owed, transit = _stock_totals(), _owed_totals(), _transit_totals()
        query = (
            select(
                s.c.sku, s.c.snapshot_date, s.c.forecast_3_month, s.c.sales_3_month,
                p.c.safety_stock, func.coalesce(p.c.lead_time_days, sup.c.lead_time_days)
                .label("lead_time_days"),
                func.coalesce(stock.c.on_hand, 0).label("on_hand"),
                func.coalesce(stock.c.allocated, 0).label("allocated"),
                func.coalesce(owed.c.owed, 0).label("owed"),
                func.coalesce(transit.c.in_transit, 0).label("in_transit"),
            )  # fmt: skip
            .join(latest, and_(latest.c.sku == s.c.sku, latest.c.snapshot_date == s.c.snapshot_date))
            .join(p, p.c.sku == s.c.sku)
            .outerjoin(sup, sup.c.id == p.c.preferred_supplier_id)
            .outerjoin(stock, stock.c.sku == s.c.sku)
            .outerjoin(owed, owed.c.sku == s.c.sku)
            .outerjoin(transit, transit.c.sku == s.c.sku)
        )
        return [dict(row._mapping) for row in self.conn.execute(query)]


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
        select(st.c.sku, func.sum(st.c.on_hand).label("on_hand"),
               func.sum(st.c.allocated).label("allocated"))  # fmt: skip
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
