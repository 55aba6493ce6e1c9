"""The one repository: reads and writes rows for the service, inside the caller's transaction.

Counters change through single UPDATE statements (`x = x + :d`), never read-modify-write
in Python; the per-SKU lock taken by `lock_skus` serialises every writer of a SKU.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import Connection, bindparam, insert, select, text, update

from ...domain.allocation import Grant, WaitingLine
from ...domain.model import BackorderPolicy, Product, StockLevel
from ...service.ports import AllocationLogRow
from ...service.views import (
    AllocationLogEntry,
    CustomerView,
    EventView,
    LedgerEntry,
    LineView,
    OrderView,
    StockView,
)
from . import raw
from . import tables as t
from .auth_store import AuthQueries
from .bulk_store import BulkQueries
from .delivery_store import _ADD_HOLDING, _ENSURE_STOCK_ROW, _INSERT_LEDGER, DeliveryQueries
from .notify_store import NotifyQueries
from .payment_store import PAYMENT_CHECKS, PaymentQueries
from .promise_bulk_store import PromiseBulkQueries
from .snapshot_store import SnapshotQueries
from .supply_store import SupplyQueries
from .waitlist_store import WaitlistQueries
from .web_store import WebQueries


class SqlStore(
    AuthQueries,
    PromiseBulkQueries,
    SupplyQueries,
    SnapshotQueries,
    NotifyQueries,
    BulkQueries,
    DeliveryQueries,
    WaitlistQueries,
    PaymentQueries,
    WebQueries,
):
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
        marks = raw.marks(ordered)
        raw.fetchall(
            self.conn,
            f"SELECT sku FROM products WHERE sku IN ({marks}) ORDER BY sku FOR UPDATE",
            ordered,
        )

    # -- catalog -------------------------------------------------------------------------

    # Products and customers are read by every order: on the driver's cursor.

    def get_product(self, sku: str) -> Product | None:
        rows = raw.fetchall(self.conn, _PRODUCT, (sku,))
        return _raw_product(rows[0], raw.utc_value(self.conn)) if rows else None

    def get_products(self, skus: Iterable[str]) -> dict[str, Product]:
        wanted = sorted(set(skus))
        if not wanted:
            return {}
        sql = _PRODUCTS.format(marks=raw.marks(wanted))
        utc = raw.utc_value(self.conn)
        return {row[0]: _raw_product(row, utc) for row in raw.fetchall(self.conn, sql, wanted)}

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
        row = self.conn.execute(_WAREHOUSE, {"code": code}).first()
        return dict(row._mapping) if row else None

    def list_warehouses(self) -> list[dict]:
        rows = raw.fetchall(self.conn, _WAREHOUSES)  # every delivery checks its warehouses
        return [{"code": code, "name": name, "rank": rank} for code, name, rank in rows]

    def upsert_warehouse(self, code: str, name: str, rank: int) -> None:
        if self.get_warehouse(code):
            self.conn.execute(
                update(t.warehouses).where(t.warehouses.c.code == code).values(name=name, rank=rank)
            )
        else:
            self.conn.execute(insert(t.warehouses).values(code=code, name=name, rank=rank))

    # -- stock ---------------------------------------------------------------------------

    def stock_levels(self, sku: str) -> tuple[StockLevel, ...]:
        # every order and receipt reads it: on the driver's cursor (ints and text only)
        return tuple(StockLevel(*row) for row in raw.fetchall(self.conn, _STOCK_LEVELS, (sku,)))

    def all_stock(self, sku: str | None = None) -> list[StockView]:
        query = select(t.stock).order_by(t.stock.c.sku, t.stock.c.warehouse)
        if sku is not None:
            query = query.where(t.stock.c.sku == sku)
        return [
            StockView(r.sku, r.warehouse, r.on_hand, r.allocated) for r in self.conn.execute(query)
        ]

    def ensure_stock_row(self, sku: str, warehouse: str) -> None:
        raw.execute(self.conn, _ENSURE_STOCK_ROW, (sku, warehouse))

    def change_stock(self, sku: str, warehouse: str, on_hand: int = 0, allocated: int = 0) -> int:
        """Apply deltas in one UPDATE; return the new on_hand."""
        rows = raw.fetchall(self.conn, _CHANGE_STOCK, (on_hand, allocated, sku, warehouse))
        if not rows:
            raise LookupError(f"no stock row for {sku} at {warehouse}")
        return rows[0][0]

    def append_ledger(
        self,
        sku: str,
        warehouse: str,
        delta: int,
        on_hand_after: int,
        reason: str,
        reference: str | None,
        now: datetime,
    ) -> None:
        at = raw.utc_param(self.conn)(now)
        row = (sku, warehouse, delta, on_hand_after, reason, reference, at)
        raw.execute(self.conn, _INSERT_LEDGER, row)

    def ledger_entries(self, sku: str | None, limit: int) -> list[LedgerEntry]:
        query = select(t.ledger).order_by(t.ledger.c.id.desc()).limit(limit)
        if sku:
            query = query.where(t.ledger.c.sku == sku)
        return [LedgerEntry(**row._mapping) for row in self.conn.execute(query)]

    def backordered_total(self, sku: str) -> int:
        return int(raw.fetchall(self.conn, _BACKORDERED_TOTAL, (sku,))[0][0])

    # -- customers -----------------------------------------------------------------------

    def insert_customer(self, values: dict, now: datetime) -> int:
        result = self.conn.execute(insert(t.customers).values(**values, created_at=now))
        return result.inserted_primary_key[0]

    def get_customer(self, customer_id: int) -> CustomerView | None:
        rows = raw.fetchall(self.conn, _CUSTOMER, (customer_id,))
        return CustomerView(*rows[0]) if rows else None

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
        utc = raw.utc_param(self.conn)
        row = [values[c] for c in _ORDER_COLUMNS]
        row[4], row[5] = utc(row[4]), utc(row[5])  # requested_date, placed_at
        return raw.fetchall(self.conn, _INSERT_ORDER, row)[0][0]

    def insert_line(self, values: dict) -> int:
        row = [values[c] for c in _LINE_COLUMNS]
        return raw.fetchall(self.conn, _INSERT_LINE, row)[0][0]

    def find_order_id(self, external_ref: str) -> int | None:
        return self.conn.execute(
            select(t.orders.c.id).where(t.orders.c.external_ref == external_ref)
        ).scalar()

    def order_skus(self, order_id: int) -> list[str]:
        query = select(t.order_lines.c.sku).where(t.order_lines.c.order_id == order_id).distinct()
        return sorted(self.conn.execute(query).scalars())

    def get_order(self, order_id: int) -> OrderView | None:
        """Every command ends by reading its order back: on the driver's cursor."""
        rows = raw.fetchall(self.conn, _ORDER, (order_id,))
        if not rows:
            return None
        utc = raw.utc_value(self.conn)
        id_, ref, customer, fulfilment, paid, requested, placed, channel, currency = rows[0]
        return OrderView(
            id_,
            ref,
            customer,
            fulfilment,
            paid,
            utc(requested),
            utc(placed),
            channel,
            currency,
            lines=tuple(self._lines(order_id)),
        )

    def list_orders(self, customer_id: int | None, limit: int, offset: int) -> list[OrderView]:
        query = select(t.orders.c.id).order_by(t.orders.c.id.desc()).limit(limit).offset(offset)
        if customer_id is not None:
            query = query.where(t.orders.c.customer_id == customer_id)
        return [self.get_order(order_id) for order_id in self.conn.execute(query).scalars()]

    def _lines(self, order_id: int) -> list[LineView]:
        holdings = self._holdings_by_line(order_id)
        day = raw.date_value(self.conn)
        return [
            LineView(
                *row[:9],
                holdings=tuple(holdings.get(row[0], ())),
                promised_date=day(row[9]),
                promise_basis=row[10],
                promise_po_line_id=row[11],
                first_promised_date=day(row[12]),
                promise_changes=row[13],
                priority_override=row[14],
            )
            for row in raw.fetchall(self.conn, _ORDER_LINES, (order_id,))
        ]

    def _holdings_by_line(self, order_id: int) -> dict[int, list[tuple[str, int]]]:
        holdings: dict[int, list[tuple[str, int]]] = {}
        for line_id, warehouse, qty in raw.fetchall(self.conn, _ORDER_HOLDINGS, (order_id,)):
            holdings.setdefault(line_id, []).append((warehouse, qty))
        return holdings

    def change_line(
        self,
        line_id: int,
        *,
        qty: int = 0,
        allocated: int = 0,
        backordered: int = 0,
        shipped: int = 0,
        cancelled: int = 0,
    ) -> None:
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
            )
        )

    def change_line_allocation(self, line_id: int, sku: str, warehouse: str, delta: int) -> None:
        if delta < 0:  # an INSERT row with a negative qty would trip the CHECK before the upsert
            raw.execute(self.conn, _REDUCE_HOLDING, (delta, line_id, warehouse))
            return
        raw.execute(self.conn, _ADD_HOLDING, (line_id, warehouse, sku, delta))

    def waiting_lines(self, sku: str) -> list[WaitingLine]:
        return self.waiting_lines_many([sku]).get(sku, [])

    def allocated_of_waiting_lines(self, sku: str) -> dict[int, int]:
        """Units already allocated to each waiting line of a SKU (part-served lines)."""
        return dict(self.conn.execute(_WAITING_ALLOCATED, {"sku": sku}).all())

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
            )
            .distinct()
            .order_by(lines.c.sku)
        )
        return list(self.conn.execute(query).scalars())

    def apply_grants(self, sku: str, grants: Sequence[Grant]) -> None:
        """Move granted units from waiting to allocated, in a few bulk statements."""
        self.apply_grants_many([(sku, g) for g in grants])

    def fully_allocated_orders(self, order_ids: Iterable[int]) -> set[int]:
        """Of these orders, those with nothing left waiting and something to ship."""
        ids = sorted(set(order_ids))
        if not ids:
            return set()
        sql = _FULLY_ALLOCATED.format(marks=raw.marks(ids))
        return {order_id for (order_id,) in raw.fetchall(self.conn, sql, ids)}

    # -- logs, events, keys, shipments ---------------------------------------------------

    def insert_allocation_log(self, rows: Sequence[AllocationLogRow]) -> None:
        if rows:
            utc = raw.utc_param(self.conn)
            params = [(*row[:-1], utc(row.created_at)) for row in rows]
            raw.executemany(self.conn, _INSERT_ALLOCATION_LOG, params)

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
        """Write the events; a delivery or a PO slip can bring thousands, so on the driver's
        cursor. A payload is a dict, or the JSON text of one already written (sorted keys);
        each row's payload is left as the JSON text written."""
        if rows:
            utc = raw.utc_param(self.conn)
            params = []
            for row in rows:
                if not isinstance(row["payload"], str):
                    row["payload"] = json.dumps(row["payload"], sort_keys=True, default=str)
                params.append(
                    (
                        row["kind"],
                        row["order_id"],
                        row["sku"],
                        row["payload"],
                        utc(row["created_at"]),
                    )
                )
            raw.executemany(self.conn, _INSERT_EVENT, params)

    def events(
        self,
        kind: str | None = None,
        order_id: int | None = None,
        limit: int = 1000,
        after_id: int | None = None,
    ) -> list[EventView]:
        """Oldest first; `after_id` pages forward from the last event a reader has seen."""
        query = select(t.events).order_by(t.events.c.id).limit(limit)
        if after_id is not None:
            query = query.where(t.events.c.id > after_id)
        if kind:
            query = query.where(t.events.c.kind == kind)
        if order_id is not None:
            query = query.where(t.events.c.order_id == order_id)
        return [
            EventView(r.id, r.kind, r.order_id, r.sku, json.loads(r.payload), r.created_at)
            for r in self.conn.execute(query)
        ]

    def get_command_result(self, key: str) -> dict | None:
        rows = raw.fetchall(self.conn, _COMMAND_RESULT, (key,))  # every keyed command asks
        return json.loads(rows[0][0]) if rows else None

    def get_command(self, key: str) -> tuple[dict, datetime] | None:
        ck = t.command_keys
        row = self.conn.execute(select(ck.c.result, ck.c.created_at).where(ck.c.key == key)).first()
        return (json.loads(row.result), row.created_at) if row else None

    def replace_command_result(self, key: str, result: dict) -> None:
        ck = t.command_keys
        self.conn.execute(
            update(ck).where(ck.c.key == key).values(result=json.dumps(result, default=str))
        )

    def delete_command(self, key: str) -> None:
        from sqlalchemy import delete

        self.conn.execute(delete(t.command_keys).where(t.command_keys.c.key == key))

    def put_command_result(self, key: str, command: str, result: dict, now: datetime) -> None:
        params = (key, command, json.dumps(result, default=str), raw.utc_param(self.conn)(now))
        raw.execute(self.conn, _INSERT_COMMAND_KEY, params)

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
        return {**_CHECKS, **PAYMENT_CHECKS}

    def run_check(self, sql: str) -> list[tuple[str, str]]:
        return [(str(r[0]), str(r[1])) for r in self.conn.execute(text(sql))]


# -- statements built once ---------------------------------------------------------------
# Building a Core statement costs more than running it; these are built at import and
# their compiled form is reused from the engine's cache (names bound per call).

_PRODUCT_COLUMNS = (
    "sku, name, price_minor, currency, backorder_policy, backorder_limit, release_at, "
    "lead_time_days, safety_stock"
)
_PRODUCT = f"SELECT {_PRODUCT_COLUMNS} FROM products WHERE sku = ?"
_PRODUCTS = f"SELECT {_PRODUCT_COLUMNS} FROM products WHERE sku IN ({{marks}})"
_WAREHOUSE = select(t.warehouses).where(t.warehouses.c.code == bindparam("code"))
_CUSTOMER = (  # CustomerView's fields, in its order
    "SELECT id, external_id, name, email, tier, default_fulfilment, locale FROM customers "
    "WHERE id = ?"
)
_STOCK_LEVELS = (
    "SELECT s.sku, s.warehouse, s.on_hand, s.allocated, w.rank FROM stock s "
    "JOIN warehouses w ON w.code = s.warehouse WHERE s.sku = ? ORDER BY w.rank, w.code"
)
# Every order and receipt runs these: on the driver's cursor.
_CHANGE_STOCK = (
    "UPDATE stock SET on_hand = on_hand + ?, allocated = allocated + ? "
    "WHERE sku = ? AND warehouse = ? RETURNING on_hand"
)
_BACKORDERED_TOTAL = (
    "SELECT COALESCE(SUM(backordered), 0) FROM order_lines WHERE sku = ? AND backordered > 0"
)
_ORDER_COLUMNS = (
    "external_ref",
    "customer_id",
    "fulfilment",
    "paid_priority",
    "requested_date",
    "placed_at",
    "channel",
    "currency",
)
_INSERT_ORDER = (
    f"INSERT INTO orders ({', '.join(_ORDER_COLUMNS)}) "
    f"VALUES ({', '.join('?' * len(_ORDER_COLUMNS))}) RETURNING id"
)
_LINE_COLUMNS = (
    "order_id",
    "line_no",
    "sku",
    "qty",
    "allocated",
    "backordered",
    "shipped",
    "cancelled",
    "unit_price_minor",
)
_INSERT_LINE = (
    f"INSERT INTO order_lines ({', '.join(_LINE_COLUMNS)}) "
    f"VALUES ({', '.join('?' * len(_LINE_COLUMNS))}) RETURNING id"
)
_ORDER = (  # OrderView's fields, in its order
    "SELECT id, external_ref, customer_id, fulfilment, paid_priority, requested_date, "
    "placed_at, channel, currency FROM orders WHERE id = ?"
)
_ORDER_LINES = (  # LineView's first nine fields, then the promise and the override
    "SELECT id, line_no, sku, qty, allocated, backordered, shipped, cancelled, "
    "unit_price_minor, promised_date, promise_basis, promise_po_line_id, first_promised_date, "
    "promise_changes, priority_override FROM order_lines WHERE order_id = ? ORDER BY line_no"
)
_ORDER_HOLDINGS = (
    "SELECT la.line_id, la.warehouse, la.qty FROM line_allocations la "
    "JOIN order_lines l ON l.id = la.line_id JOIN warehouses w ON w.code = la.warehouse "
    "WHERE l.order_id = ? AND la.qty > 0 ORDER BY w.rank, w.code"
)
_REDUCE_HOLDING = "UPDATE line_allocations SET qty = qty + ? WHERE line_id = ? AND warehouse = ?"
_WAITING_ALLOCATED = select(t.order_lines.c.id, t.order_lines.c.allocated).where(
    t.order_lines.c.sku == bindparam("sku"), t.order_lines.c.backordered > 0
)
_FULLY_ALLOCATED = (
    "SELECT order_id FROM order_lines WHERE order_id IN ({marks}) GROUP BY order_id "
    "HAVING SUM(backordered) = 0 AND SUM(allocated) > 0"
)
_INSERT_ALLOCATION_LOG = (
    f"INSERT INTO allocation_log ({', '.join(AllocationLogRow._fields)}) "
    f"VALUES ({', '.join('?' * len(AllocationLogRow._fields))})"
)
_INSERT_EVENT = (
    "INSERT INTO events (kind, order_id, sku, payload, created_at) VALUES (?, ?, ?, ?, ?)"
)
_WAREHOUSES = "SELECT code, name, rank FROM warehouses ORDER BY rank, code"
_COMMAND_RESULT = "SELECT result FROM command_keys WHERE key = ?"
_INSERT_COMMAND_KEY = (
    "INSERT INTO command_keys (key, command, result, created_at) VALUES (?, ?, ?, ?)"
)

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
    # Issue 8: an active back-in-stock hold keeps its unit in stock.allocated too.
    "3: line allocations and active holds sum to the stock row's allocated": (
        "SELECT s.sku || '@' || s.warehouse, 'allocated ' || s.allocated || ', lines and holds "
        "hold ' || COALESCE(a.held, 0) FROM stock s LEFT JOIN (SELECT sku, warehouse, "
        "SUM(qty) AS held FROM (SELECT sku, warehouse, qty FROM line_allocations UNION ALL "
        "SELECT sku, warehouse, qty FROM stock_holds WHERE status = 'active') u "
        "GROUP BY sku, warehouse) a "
        "ON a.sku = s.sku AND a.warehouse = s.warehouse "
        "WHERE s.allocated <> COALESCE(a.held, 0)"
    ),
    "3: a line's allocated equals its warehouse holdings": (
        "SELECT 'line ' || l.id, 'allocated ' || l.allocated || ', holdings ' "
        "|| COALESCE(a.held, 0) FROM order_lines l LEFT JOIN (SELECT line_id, SUM(qty) AS held "
        "FROM line_allocations GROUP BY line_id) a ON a.line_id = l.id "
        "WHERE l.allocated <> COALESCE(a.held, 0)"
    ),
    "3: an active hold is a unit held for a subscriber who has not ordered yet": (
        "SELECT 'hold ' || h.id, 'subscription ' || w.id || ' is ' || w.status "
        "FROM stock_holds h JOIN waitlist_subscriptions w ON w.id = h.subscription_id "
        "WHERE h.status = 'active' AND w.status <> 'held'"
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
        sku=row.sku,
        name=row.name,
        price_minor=row.price_minor,
        currency=row.currency,
        backorder_policy=BackorderPolicy(row.backorder_policy),
        backorder_limit=row.backorder_limit,
        release_at=row.release_at,
        lead_time_days=row.lead_time_days,
        safety_stock=row.safety_stock,
    )


def _raw_product(row: tuple, utc) -> Product:
    """`_product` over a raw row of _PRODUCT_COLUMNS."""
    sku, name, price, currency, policy, limit, release_at, lead_time, safety = row
    return Product(
        sku=sku,
        name=name,
        price_minor=price,
        currency=currency,
        backorder_policy=BackorderPolicy(policy),
        backorder_limit=limit,
        release_at=utc(release_at),
        lead_time_days=lead_time,
        safety_stock=safety,
    )


def _product_values(product: Product) -> dict:
    return {
        "sku": product.sku,
        "name": product.name,
        "price_minor": product.price_minor,
        "currency": product.currency,
        "backorder_policy": product.backorder_policy.value,
        "backorder_limit": product.backorder_limit,
        "release_at": product.release_at,
        "lead_time_days": product.lead_time_days,
        "safety_stock": product.safety_stock,
    }


def _customer(row) -> CustomerView:
    return CustomerView(
        id=row.id,
        external_id=row.external_id,
        name=row.name,
        email=row.email,
        tier=row.tier,
        default_fulfilment=row.default_fulfilment,
        locale=row.locale,
    )
