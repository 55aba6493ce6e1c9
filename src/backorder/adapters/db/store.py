"""The one repository: reads and writes rows for the service, inside the caller's transaction.

Counters change through single UPDATE statements (`x = x + :d`), never read-modify-write
in Python; the per-SKU lock taken by `lock_skus` serialises every writer of a SKU.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import Connection, func, insert, select, text, update

from ...domain.allocation import Grant, WaitingLine
from ...domain.model import BackorderPolicy, PaidPriority, Product, StockLevel, Tier
from ...service.views import (
    AllocationLogEntry,
    CustomerView,
    EventView,
    LedgerEntry,
    LineView,
    OrderView,
    StockView,
)
from . import tables as t
from .supply_store import SupplyQueries


class SqlStore(SupplyQueries):
    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self._sqlite = conn.dialect.name == "sqlite"

    # -- locks ---------------------------------------------------------------------------

    def lock_skus(self, skus: Iterable[str]) -> None:
        """Lock product rows in SKU order: the per-SKU mutex of every stock change.

        SQLite needs nothing more: its writers already hold the database lock
        (BEGIN IMMEDIATE).
        """
        ordered = sorted(set(skus))
        if self._sqlite or not ordered:
            return
        self.conn.execute(
            select(t.products.c.sku)
            .where(t.products.c.sku.in_(ordered))
            .order_by(t.products.c.sku)
            .with_for_update()
        ).all()

    # -- catalog -------------------------------------------------------------------------

    def get_product(self, sku: str) -> Product | None:
        row = self.conn.execute(select(t.products).where(t.products.c.sku == sku)).first()
        return _product(row) if row else None

    def get_products(self, skus: Iterable[str]) -> dict[str, Product]:
        rows = self.conn.execute(select(t.products).where(t.products.c.sku.in_(list(skus))))
        return {row.sku: _product(row) for row in rows}

    def list_products(self, limit: int, offset: int) -> list[Product]:
        query = select(t.products).order_by(t.products.c.sku).limit(limit).offset(offset)
        return [_product(row) for row in self.conn.execute(query)]

    def insert_product(self, product: Product, now: datetime) -> None:
        self.conn.execute(
            insert(t.products).values(**_product_values(product), created_at=now, updated_at=now)
        )

    def update_product(self, product: Product, now: datetime) -> None:
        values = _product_values(product)
        values.pop("sku")
        self.conn.execute(
            update(t.products)
            .where(t.products.c.sku == product.sku)
            .values(**values, updated_at=now)
        )

    def get_warehouse(self, code: str) -> dict | None:
        row = self.conn.execute(select(t.warehouses).where(t.warehouses.c.code == code)).first()
        return dict(row._mapping) if row else None

    def list_warehouses(self) -> list[dict]:
        query = select(t.warehouses).order_by(t.warehouses.c.rank, t.warehouses.c.code)
        return [dict(row._mapping) for row in self.conn.execute(query)]

    def upsert_warehouse(self, code: str, name: str, rank: int) -> None:
        if self.get_warehouse(code):
            self.conn.execute(
                update(t.warehouses).where(t.warehouses.c.code == code).values(name=name, rank=rank)
            )
        else:
            self.conn.execute(insert(t.warehouses).values(code=code, name=name, rank=rank))

    # -- stock ---------------------------------------------------------------------------

    def stock_levels(self, sku: str) -> tuple[StockLevel, ...]:
        query = (
            select(t.stock, t.warehouses.c.rank)
            .join(t.warehouses, t.warehouses.c.code == t.stock.c.warehouse)
            .where(t.stock.c.sku == sku)
            .order_by(t.warehouses.c.rank, t.warehouses.c.code)
        )
        return tuple(
            StockLevel(r.sku, r.warehouse, r.on_hand, r.allocated, r.rank)
            for r in self.conn.execute(query)
        )

    def all_stock(self, sku: str | None = None) -> list[StockView]:
        query = select(t.stock).order_by(t.stock.c.sku, t.stock.c.warehouse)
        if sku is not None:
            query = query.where(t.stock.c.sku == sku)
        return [
            StockView(r.sku, r.warehouse, r.on_hand, r.allocated) for r in self.conn.execute(query)
        ]

    def ensure_stock_row(self, sku: str, warehouse: str) -> None:
        self.conn.execute(
            text(
                "INSERT INTO stock (sku, warehouse, on_hand, allocated) VALUES (:s, :w, 0, 0) "
                "ON CONFLICT (sku, warehouse) DO NOTHING"
            ),
            {"s": sku, "w": warehouse},
        )

    def change_stock(self, sku: str, warehouse: str, on_hand: int = 0, allocated: int = 0) -> int:
        """Apply deltas in one UPDATE; return the new on_hand."""
        row = self.conn.execute(
            update(t.stock)
            .where(t.stock.c.sku == sku, t.stock.c.warehouse == warehouse)
            .values(on_hand=t.stock.c.on_hand + on_hand, allocated=t.stock.c.allocated + allocated)
            .returning(t.stock.c.on_hand)
        ).first()
        if row is None:
            raise LookupError(f"no stock row for {sku} at {warehouse}")
        return row.on_hand

    def add_allocations_bulk(self, sku: str, warehouse: str, units: int) -> None:
        self.conn.execute(
            update(t.stock)
            .where(t.stock.c.sku == sku, t.stock.c.warehouse == warehouse)
            .values(allocated=t.stock.c.allocated + units)
        )

    def append_ledger(
        self, sku: str, warehouse: str, delta: int, on_hand_after: int, reason: str,
        reference: str | None, now: datetime,
    ) -> None:  # fmt: skip
        self.conn.execute(
            insert(t.ledger).values(
                sku=sku,
                warehouse=warehouse,
                delta=delta,
                on_hand_after=on_hand_after,
                reason=reason,
                reference=reference,
                created_at=now,
            )  # fmt: skip
        )

    def ledger_entries(self, sku: str | None, limit: int) -> list[LedgerEntry]:
        query = select(t.ledger).order_by(t.ledger.c.id.desc()).limit(limit)
        if sku:
            query = query.where(t.ledger.c.sku == sku)
        return [LedgerEntry(**row._mapping) for row in self.conn.execute(query)]

    def backordered_total(self, sku: str) -> int:
        query = select(func.coalesce(func.sum(t.order_lines.c.backordered), 0)).where(
            t.order_lines.c.sku == sku, t.order_lines.c.backordered > 0
        )
        return int(self.conn.execute(query).scalar_one())

    # -- customers -----------------------------------------------------------------------

    def insert_customer(self, values: dict, now: datetime) -> int:
        result = self.conn.execute(insert(t.customers).values(**values, created_at=now))
        return result.inserted_primary_key[0]

    def get_customer(self, customer_id: int) -> CustomerView | None:
        row = self.conn.execute(select(t.customers).where(t.customers.c.id == customer_id)).first()
        return _customer(row) if row else None

    def find_customer(self, external_id: str) -> CustomerView | None:
        row = self.conn.execute(
            select(t.customers).where(t.customers.c.external_id == external_id)
        ).first()
        return _customer(row) if row else None

    def update_customer(self, customer_id: int, values: dict) -> None:
        self.conn.execute(
            update(t.customers).where(t.customers.c.id == customer_id).values(**values)
        )

    def list_customers(self, limit: int, offset: int) -> list[CustomerView]:
        query = select(t.customers).order_by(t.customers.c.id).limit(limit).offset(offset)
        return [_customer(row) for row in self.conn.execute(query)]

    # -- orders --------------------------------------------------------------------------

    def insert_order(self, values: dict) -> int:
        return self.conn.execute(insert(t.orders).values(**values)).inserted_primary_key[0]

    def insert_line(self, values: dict) -> int:
        return self.conn.execute(insert(t.order_lines).values(**values)).inserted_primary_key[0]

    def find_order_id(self, external_ref: str) -> int | None:
        return self.conn.execute(
            select(t.orders.c.id).where(t.orders.c.external_ref == external_ref)
        ).scalar()

    def order_skus(self, order_id: int) -> list[str]:
        query = select(t.order_lines.c.sku).where(t.order_lines.c.order_id == order_id).distinct()
        return sorted(self.conn.execute(query).scalars())

    def get_order(self, order_id: int) -> OrderView | None:
        row = self.conn.execute(select(t.orders).where(t.orders.c.id == order_id)).first()
        if row is None:
            return None
        return OrderView(**row._mapping, lines=tuple(self._lines(order_id)))

    def list_orders(self, customer_id: int | None, limit: int, offset: int) -> list[OrderView]:
        query = select(t.orders.c.id).order_by(t.orders.c.id.desc()).limit(limit).offset(offset)
        if customer_id is not None:
            query = query.where(t.orders.c.customer_id == customer_id)
        return [self.get_order(order_id) for order_id in self.conn.execute(query).scalars()]

    def _lines(self, order_id: int) -> list[LineView]:
        holdings = self._holdings_by_line(order_id)
        query = (
            select(t.order_lines)
            .where(t.order_lines.c.order_id == order_id)
            .order_by(t.order_lines.c.line_no)
        )
        return [
            LineView(
                id=r.id,
                line_no=r.line_no,
                sku=r.sku,
                qty=r.qty,
                allocated=r.allocated,
                backordered=r.backordered,
                shipped=r.shipped,
                cancelled=r.cancelled,
                unit_price_minor=r.unit_price_minor,
                holdings=tuple(holdings.get(r.id, ())),
                promised_date=r.promised_date,
                promise_basis=r.promise_basis,
                promise_po_line_id=r.promise_po_line_id,
                first_promised_date=r.first_promised_date,
                promise_changes=r.promise_changes,
            )
            for r in self.conn.execute(query)
        ]

    def _holdings_by_line(self, order_id: int) -> dict[int, list[tuple[str, int]]]:
        la = t.line_allocations
        query = (
            select(la.c.line_id, la.c.warehouse, la.c.qty)
            .join(t.order_lines, t.order_lines.c.id == la.c.line_id)
            .join(t.warehouses, t.warehouses.c.code == la.c.warehouse)
            .where(t.order_lines.c.order_id == order_id, la.c.qty > 0)
            .order_by(t.warehouses.c.rank, t.warehouses.c.code)
        )
        holdings: dict[int, list[tuple[str, int]]] = {}
        for row in self.conn.execute(query):
            holdings.setdefault(row.line_id, []).append((row.warehouse, row.qty))
        return holdings

    def change_line(
        self, line_id: int, *, qty: int = 0, allocated: int = 0, backordered: int = 0,
        shipped: int = 0, cancelled: int = 0,
    ) -> None:  # fmt: skip
        c = t.order_lines.c
        self.conn.execute(
            update(t.order_lines)
            .where(c.id == line_id)
            .values(
                qty=c.qty + qty,
                allocated=c.allocated + allocated,
                backordered=c.backordered + backordered,
                shipped=c.shipped + shipped,
                cancelled=c.cancelled + cancelled,
            )  # fmt: skip
        )

    def change_line_allocation(self, line_id: int, sku: str, warehouse: str, delta: int) -> None:
        if delta < 0:  # an INSERT row with a negative qty would trip the CHECK before the upsert
            self.conn.execute(
                text(
                    "UPDATE line_allocations SET qty = qty + :d "
                    "WHERE line_id = :l AND warehouse = :w"
                ),
                {"l": line_id, "w": warehouse, "d": delta},
            )
            return
        self.conn.execute(
            text(
                "INSERT INTO line_allocations (line_id, warehouse, sku, qty) "
                "VALUES (:l, :w, :s, :d) ON CONFLICT (line_id, warehouse) "
                "DO UPDATE SET qty = line_allocations.qty + excluded.qty"
            ),
            {"l": line_id, "w": warehouse, "s": sku, "d": delta},
        )

    def waiting_lines(self, sku: str) -> list[WaitingLine]:
        lines, orders, customers = t.order_lines, t.orders, t.customers
        query = (
            select(
                lines.c.id,
                lines.c.order_id,
                lines.c.backordered,
                customers.c.tier,
                orders.c.paid_priority,
                orders.c.requested_date,
                orders.c.placed_at,
            )  # fmt: skip
            .join(orders, orders.c.id == lines.c.order_id)
            .join(customers, customers.c.id == orders.c.customer_id)
            .where(lines.c.sku == sku, lines.c.backordered > 0)
        )
        return [
            WaitingLine(
                line_id=r.id,
                order_id=r.order_id,
                sku=sku,
                backordered=r.backordered,
                tier=Tier(r.tier),
                paid_priority=PaidPriority(r.paid_priority),
                due=r.requested_date or r.placed_at,
                ordered_at=r.placed_at,
            )  # fmt: skip
            for r in self.conn.execute(query)
        ]

    def skus_waiting_for_release(self, now: datetime) -> list[str]:
        """Released SKUs (release time passed) that still have waiting lines."""
        lines, products = t.order_lines, t.products
        query = (
            select(lines.c.sku)
            .join(products, products.c.sku == lines.c.sku)
            .where(
                lines.c.backordered > 0,
                products.c.release_at.is_not(None),
                products.c.release_at <= now,
            )  # fmt: skip
            .distinct()
            .order_by(lines.c.sku)
        )
        return list(self.conn.execute(query).scalars())

    def apply_grants(self, sku: str, grants: Sequence[Grant]) -> None:
        """Move granted units from waiting to allocated, in a few bulk statements."""
        if not grants:
            return
        self.conn.execute(
            text(
                "UPDATE order_lines SET allocated = allocated + :q, "
                "backordered = backordered - :q WHERE id = :l"
            ),
            [{"q": g.qty, "l": g.line_id} for g in grants],
        )
        self.conn.execute(
            text(
                "INSERT INTO line_allocations (line_id, warehouse, sku, qty) "
                "VALUES (:l, :w, :s, :q) ON CONFLICT (line_id, warehouse) "
                "DO UPDATE SET qty = line_allocations.qty + excluded.qty"
            ),
            [{"l": g.line_id, "w": g.warehouse, "s": sku, "q": g.qty} for g in grants],
        )
        per_warehouse: dict[str, int] = {}
        for g in grants:
            per_warehouse[g.warehouse] = per_warehouse.get(g.warehouse, 0) + g.qty
        for warehouse, units in sorted(per_warehouse.items()):
            self.add_allocations_bulk(sku, warehouse, units)

    def fully_allocated_orders(self, order_ids: Iterable[int]) -> set[int]:
        """Of these orders, those with nothing left waiting and something to ship."""
        ids = sorted(set(order_ids))
        if not ids:
            return set()
        c = t.order_lines.c
        query = (
            select(c.order_id)
            .where(c.order_id.in_(ids))
            .group_by(c.order_id)
            .having(func.sum(c.backordered) == 0, func.sum(c.allocated) > 0)
        )
        return set(self.conn.execute(query).scalars())

    # -- logs, events, keys, shipments ---------------------------------------------------

    def insert_allocation_log(self, rows: list[dict]) -> None:
        if rows:
            self.conn.execute(insert(t.allocation_log), rows)

    def allocation_log(
        self, sku: str | None, order_id: int | None, limit: int
    ) -> list[AllocationLogEntry]:
        query = select(t.allocation_log).order_by(t.allocation_log.c.id).limit(limit)
        if sku:
            query = query.where(t.allocation_log.c.sku == sku)
        if order_id is not None:
            query = query.where(t.allocation_log.c.order_id == order_id)
        return [AllocationLogEntry(**row._mapping) for row in self.conn.execute(query)]

    def insert_events(self, rows: list[dict]) -> None:
        if rows:
            for row in rows:
                row["payload"] = json.dumps(row["payload"], sort_keys=True, default=str)
            self.conn.execute(insert(t.events), rows)

    def events(
        self, kind: str | None = None, order_id: int | None = None, limit: int = 1000
    ) -> list[EventView]:
        query = select(t.events).order_by(t.events.c.id).limit(limit)
        if kind:
            query = query.where(t.events.c.kind == kind)
        if order_id is not None:
            query = query.where(t.events.c.order_id == order_id)
        return [
            EventView(r.id, r.kind, r.order_id, r.sku, json.loads(r.payload), r.created_at)
            for r in self.conn.execute(query)
        ]

    def get_command_result(self, key: str) -> dict | None:
        row = self.conn.execute(
            select(t.command_keys.c.result).where(t.command_keys.c.key == key)
        ).first()
        return json.loads(row.result) if row else None

    def put_command_result(self, key: str, command: str, result: dict, now: datetime) -> None:
        self.conn.execute(
            insert(t.command_keys).values(
                key=key, command=command, result=json.dumps(result, default=str), created_at=now
            )
        )

    def insert_shipment(self, order_id: int, now: datetime, lines: list[dict]) -> int:
        shipment_id = self.conn.execute(
            insert(t.shipments).values(order_id=order_id, created_at=now)
        ).inserted_primary_key[0]
        self.conn.execute(
            insert(t.shipment_lines), [dict(row, shipment_id=shipment_id) for row in lines]
        )
        return shipment_id

    # -- invariant checks (DESIGN.md §3) -------------------------------------------------

    def check_queries(self) -> dict[str, str]:
        """Named SQL queries; each returns (subject, detail) rows that break an invariant."""
        return _CHECKS

    def run_check(self, sql: str) -> list[tuple[str, str]]:
        return [(str(r[0]), str(r[1])) for r in self.conn.execute(text(sql))]


_CHECKS = {
    "1: 0 <= allocated <= on_hand": (
        "SELECT sku || '@' || warehouse, 'on_hand ' || on_hand || ', allocated ' || allocated "
        "FROM stock WHERE allocated < 0 OR allocated > on_hand OR on_hand < 0"
    ),
    "2: qty = allocated + backordered + shipped + cancelled": (
        "SELECT 'line ' || id, 'qty ' || qty || ' parts ' || allocated || '+' || backordered "
        "|| '+' || shipped || '+' || cancelled FROM order_lines "
        "WHERE qty <> allocated + backordered + shipped + cancelled OR allocated < 0 "
        "OR backordered < 0 OR shipped < 0 OR cancelled < 0"
    ),
    "3: line allocations sum to the stock row's allocated": (
        "SELECT s.sku || '@' || s.warehouse, 'allocated ' || s.allocated || ', lines hold ' "
        "|| COALESCE(a.held, 0) FROM stock s LEFT JOIN (SELECT sku, warehouse, SUM(qty) AS held "
        "FROM line_allocations GROUP BY sku, warehouse) a "
        "ON a.sku = s.sku AND a.warehouse = s.warehouse "
        "WHERE s.allocated <> COALESCE(a.held, 0)"
    ),
    "3: a line's allocated equals its warehouse holdings": (
        "SELECT 'line ' || l.id, 'allocated ' || l.allocated || ', holdings ' "
        "|| COALESCE(a.held, 0) FROM order_lines l LEFT JOIN (SELECT line_id, SUM(qty) AS held "
        "FROM line_allocations GROUP BY line_id) a ON a.line_id = l.id "
        "WHERE l.allocated <> COALESCE(a.held, 0)"
    ),
    "4: ledger replays to on_hand": (
        "SELECT s.sku || '@' || s.warehouse, 'on_hand ' || s.on_hand || ', ledger ' "
        "|| COALESCE(g.total, 0) FROM stock s LEFT JOIN (SELECT sku, warehouse, SUM(delta) "
        "AS total FROM ledger GROUP BY sku, warehouse) g "
        "ON g.sku = s.sku AND g.warehouse = s.warehouse WHERE s.on_hand <> COALESCE(g.total, 0)"
    ),
}


def _product(row) -> Product:
    return Product(
        sku=row.sku, name=row.name, price_minor=row.price_minor, currency=row.currency,
        backorder_policy=BackorderPolicy(row.backorder_policy),
        backorder_limit=row.backorder_limit, release_at=row.release_at,
        lead_time_days=row.lead_time_days, safety_stock=row.safety_stock,
    )  # fmt: skip


def _product_values(product: Product) -> dict:
    return {
        "sku": product.sku, "name": product.name, "price_minor": product.price_minor,
        "currency": product.currency, "backorder_policy": product.backorder_policy.value,
        "backorder_limit": product.backorder_limit, "release_at": product.release_at,
        "lead_time_days": product.lead_time_days, "safety_stock": product.safety_stock,
    }  # fmt: skip


def _customer(row) -> CustomerView:
    return CustomerView(
        id=row.id, external_id=row.external_id, name=row.name, email=row.email,
        tier=row.tier, default_fulfilment=row.default_fulfilment, locale=row.locale,
    )  # fmt: skip
