"""Rows of the supply side: suppliers, purchase orders, receipts, and line promises."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Connection, insert, select, update

from ...domain.allocation import WaitingLine
from ...domain.model import PaidPriority, Tier
from ...domain.promising import IncomingSupply
from ...service.views import LinePromise, PoLineView, PurchaseOrderView, SupplierView
from . import raw
from . import tables as t

SUPPLYING = ("sent", "partially_received")


class SupplyQueries:
    """Mixed into SqlStore; uses its connection."""

    conn: Connection

    # -- suppliers -------------------------------------------------------------------------

    def insert_supplier(self, values: dict) -> int:
        return self.conn.execute(insert(t.suppliers).values(**values)).inserted_primary_key[0]

    def get_supplier(self, supplier_id: int) -> SupplierView | None:
        row = self.conn.execute(select(t.suppliers).where(t.suppliers.c.id == supplier_id)).first()
        return _supplier(row) if row else None

    def find_supplier(self, name: str) -> SupplierView | None:
        row = self.conn.execute(select(t.suppliers).where(t.suppliers.c.name == name)).first()
        return _supplier(row) if row else None

    def list_suppliers(self) -> list[SupplierView]:
        rows = self.conn.execute(select(t.suppliers).order_by(t.suppliers.c.id))
        return [_supplier(row) for row in rows]

    def upsert_supplier_product(self, values: dict) -> None:
        sp = t.supplier_products
        key = (sp.c.supplier_id == values["supplier_id"]) & (sp.c.sku == values["sku"])
        if self.conn.execute(select(sp.c.sku).where(key)).first():
            self.conn.execute(update(sp).where(key).values(**values))
        else:
            self.conn.execute(insert(sp).values(**values))

    def supplier_products(self, sku: str) -> list[dict]:
        """Suppliers of a SKU with their pack size, minimum and lead time, best first."""
        sp, s = t.supplier_products, t.suppliers
        query = (
            select(sp, s.c.lead_time_days, s.c.name)
            .join(s, s.c.id == sp.c.supplier_id)
            .where(sp.c.sku == sku)
            .order_by(s.c.lead_time_days, s.c.id)
        )
        return [dict(row._mapping) for row in self.conn.execute(query)]

    def lead_time_days(self, sku: str) -> int | None:
        """The SKU's own lead time, else its preferred supplier's, else its fastest supplier's."""
        rows = raw.fetchall(self.conn, _LEAD_TIMES, (sku,))
        if not rows:
            return None
        own, preferred = rows[0]
        if own is not None:
            return own
        if preferred is not None:
            return preferred
        options = self.supplier_products(sku)
        return options[0]["lead_time_days"] if options else None

    def preferred_supplier_id(self, sku: str) -> int | None:
        p = t.products
        return self.conn.execute(select(p.c.preferred_supplier_id).where(p.c.sku == sku)).scalar()

    def replenishment_candidates(self) -> list[str]:
        """SKUs with waiting lines or a safety stock to keep."""
        p, ol = t.products, t.order_lines
        waiting = select(ol.c.sku).where(ol.c.backordered > 0).distinct()
        query = (
            select(p.c.sku).where((p.c.safety_stock > 0) | p.c.sku.in_(waiting)).order_by(p.c.sku)
        )
        return list(self.conn.execute(query).scalars())

    def set_preferred_supplier(self, sku: str, supplier_id: int) -> None:
        self.conn.execute(
            update(t.products)
            .where(t.products.c.sku == sku)
            .values(preferred_supplier_id=supplier_id)
        )

    # -- purchase orders -------------------------------------------------------------------

    def find_po_id(self, reference: str) -> int | None:
        po = t.purchase_orders
        return self.conn.execute(select(po.c.id).where(po.c.reference == reference)).scalar()

    def insert_po(self, values: dict) -> int:
        return self.conn.execute(insert(t.purchase_orders).values(**values)).inserted_primary_key[0]

    def insert_po_line(self, values: dict) -> int:
        return self.conn.execute(insert(t.po_lines).values(**values)).inserted_primary_key[0]

    def get_po(self, po_id: int) -> PurchaseOrderView | None:
        row = self.conn.execute(
            select(t.purchase_orders).where(t.purchase_orders.c.id == po_id)
        ).first()
        if row is None:
            return None
        lines = self.conn.execute(
            select(t.po_lines).where(t.po_lines.c.po_id == po_id).order_by(t.po_lines.c.id)
        )
        return PurchaseOrderView(
            **row._mapping, lines=tuple(PoLineView(**r._mapping) for r in lines)
        )

    def list_pos(self, status: str | None, limit: int) -> list[PurchaseOrderView]:
        query = select(t.purchase_orders.c.id).order_by(t.purchase_orders.c.id.desc()).limit(limit)
        if status:
            query = query.where(t.purchase_orders.c.status == status)
        return [self.get_po(po_id) for po_id in self.conn.execute(query).scalars()]

    def get_po_line(self, po_line_id: int) -> PoLineView | None:
        row = self.conn.execute(select(t.po_lines).where(t.po_lines.c.id == po_line_id)).first()
        return PoLineView(**row._mapping) if row else None

    def update_po_line(self, po_line_id: int, **values) -> None:
        self.conn.execute(update(t.po_lines).where(t.po_lines.c.id == po_line_id).values(**values))

    def set_po_status(self, po_id: int, **values) -> None:
        self.conn.execute(
            update(t.purchase_orders).where(t.purchase_orders.c.id == po_id).values(**values)
        )

    def open_supply(self, sku: str) -> list[IncomingSupply]:
        """Open PO lines of a SKU (sent, not fully received or cancelled), as supply."""
        day = raw.date_value(self.conn)
        rows = raw.fetchall(self.conn, _OPEN_SUPPLY, (sku,))
        return [IncomingSupply(day(when), int(units), line_id) for line_id, when, units in rows]

    def open_po_lines(self, sku: str) -> list[dict]:
        """Open PO lines of a SKU with their supplier, by expected date."""
        pl, po, s = t.po_lines, t.purchase_orders, t.suppliers
        remaining = pl.c.qty - pl.c.received - pl.c.cancelled
        query = (
            select(
                pl.c.id.label("po_line_id"),
                pl.c.po_id,
                pl.c.expected_date,
                remaining.label("open_qty"),
                po.c.status,
                s.c.name.label("supplier"),
            )
            .join(po, po.c.id == pl.c.po_id)
            .join(s, s.c.id == po.c.supplier_id)
            .where(pl.c.sku == sku, po.c.status.in_(SUPPLYING), remaining > 0)
            .order_by(pl.c.expected_date, pl.c.id)
        )
        return [dict(row._mapping) for row in self.conn.execute(query)]

    def open_po_qty(self, sku: str) -> int:
        return sum(s.qty for s in self.open_supply(sku))

    def supplier_history(self, supplier_id: int) -> list[PoLineView]:
        """PO lines of a supplier that have been received (in part or whole)."""
        pl, po = t.po_lines, t.purchase_orders
        query = (
            select(pl)
            .join(po, po.c.id == pl.c.po_id)
            .where(po.c.supplier_id == supplier_id, pl.c.last_received_date.is_not(None))
        )
        return [PoLineView(**r._mapping) for r in self.conn.execute(query)]

    # -- receipts --------------------------------------------------------------------------

    def insert_receipt(self, values: dict) -> int:
        return self.conn.execute(insert(t.receipts).values(**values)).inserted_primary_key[0]

    def get_receipt(self, receipt_id: int) -> dict | None:
        row = self.conn.execute(select(t.receipts).where(t.receipts.c.id == receipt_id)).first()
        return dict(row._mapping) if row else None

    def add_reversed(self, receipt_id: int, qty: int) -> None:
        r = t.receipts
        self.conn.execute(update(r).where(r.c.id == receipt_id).values(reversed=r.c.reversed + qty))

    def holdings_at(self, sku: str, warehouse: str) -> list[tuple[WaitingLine, int]]:
        """Lines holding units of a SKU at a warehouse, with their priority facts."""
        la, ol, o, c = t.line_allocations, t.order_lines, t.orders, t.customers
        query = (
            select(
                ol.c.id,
                ol.c.order_id,
                ol.c.backordered,
                c.c.tier,
                o.c.paid_priority,
                o.c.requested_date,
                o.c.placed_at,
                la.c.qty,
                ol.c.priority_override,
            )
            .join(ol, ol.c.id == la.c.line_id)
            .join(o, o.c.id == ol.c.order_id)
            .join(c, c.c.id == o.c.customer_id)
            .where(la.c.sku == sku, la.c.warehouse == warehouse, la.c.qty > 0)
        )
        return [
            (
                WaitingLine(
                    r.id,
                    r.order_id,
                    sku,
                    r.backordered,
                    Tier(r.tier),
                    PaidPriority(r.paid_priority),
                    r.requested_date or r.placed_at,
                    r.placed_at,
                    r.priority_override,
                ),
                r.qty,
            )
            for r in self.conn.execute(query)
        ]

    # -- promises --------------------------------------------------------------------------

    def line_promises(self, sku: str) -> dict[int, LinePromise]:
        day = raw.date_value(self.conn)
        return {
            line_id: LinePromise(line_id, order_id, day(promised), basis, po_line, day(first))
            for line_id, order_id, promised, basis, po_line, first in raw.fetchall(
                self.conn, _LINE_PROMISES, (sku,)
            )
        }

    def clear_promises(self, line_ids: Iterable[int]) -> None:
        ids = list(line_ids)
        if ids:
            ol = t.order_lines
            self.conn.execute(
                update(ol)
                .where(ol.c.id.in_(ids))
                .values(promised_date=None, promise_basis=None, promise_po_line_id=None)
            )


def _supplier(row) -> SupplierView:
    return SupplierView(row.id, row.name, row.contact, row.email, row.lead_time_days, row.currency)


# On the driver's cursor: asked on every order that goes on backorder.
_OPEN_SUPPLY = (
    "SELECT pl.id, pl.expected_date, pl.qty - pl.received - pl.cancelled FROM po_lines pl "
    "JOIN purchase_orders po ON po.id = pl.po_id WHERE pl.sku = ? "
    "AND po.status IN ('sent', 'partially_received') "
    "AND pl.qty - pl.received - pl.cancelled > 0"
)
_LEAD_TIMES = (
    "SELECT p.lead_time_days, s.lead_time_days FROM products p "
    "LEFT JOIN suppliers s ON s.id = p.preferred_supplier_id WHERE p.sku = ?"
)
_LINE_PROMISES = (
    "SELECT id, order_id, promised_date, promise_basis, promise_po_line_id, "
    "first_promised_date FROM order_lines WHERE sku = ? AND backordered > 0"
)
