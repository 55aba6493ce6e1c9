"""Order intake: one order per transaction, through the service and through raw sqlite3.

Both runs start from the same catalog: half the SKUs are plentiful, half hold a few units
over two warehouses and then go on backorder, so the mix covers both paths of
`place_order` (allocate now, backorder the rest).
"""

from __future__ import annotations

import json
import random
import sqlite3
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from backorder.service import orders

from . import seed
from .common import START, build_app, migrated_file, raw_connect, sql_time, timed

SKUS_PER_KIND = 50
CUSTOMERS = 200
PLENTY = 10_000_000
SHORT_STOCK = {"main": 6, "east": 4}


@dataclass(frozen=True)
class OrderSpec:
    customer_id: int
    sku: str
    qty: int


@dataclass(frozen=True)
class IntakeResult:
    orders: int
    service_per_s: float
    raw_per_s: float

    @property
    def ratio(self) -> float:
        return self.service_per_s / self.raw_per_s

    def line(self) -> str:
        return (
            f"intake: service {self.service_per_s:,.0f} orders/s, raw sqlite3 "
            f"{self.raw_per_s:,.0f} orders/s, ratio {self.ratio:.2f} (target >= 0.50)"
        )


def plentiful_skus() -> list[str]:
    return [f"IN-{n:03d}" for n in range(SKUS_PER_KIND)]


def short_skus() -> list[str]:
    return [f"SHORT-{n:03d}" for n in range(SKUS_PER_KIND)]


def order_specs(count: int, seed_value: int = 7) -> list[OrderSpec]:
    """Orders of one line: 60 % for plentiful SKUs, 40 % for SKUs that run short."""
    rng = random.Random(seed_value)
    plenty, short = plentiful_skus(), short_skus()
    return [
        OrderSpec(
            rng.randint(1, CUSTOMERS),
            rng.choice(plenty) if rng.random() < 0.6 else rng.choice(short),
            rng.randint(1, 4),
        )
        for _ in range(count)
    ]


def seed_catalog(path: Path) -> None:
    """Products, customers and opening stock, identical in every database it is given."""
    conn = raw_connect(path)
    conn.execute("BEGIN IMMEDIATE")
    seed.add_warehouse(conn, "east", 1)
    seed.add_products(conn, plentiful_skus() + short_skus(), START)
    seed.add_customers(conn, CUSTOMERS, random.Random(11), START)
    levels = [(sku, "main", PLENTY) for sku in plentiful_skus()]
    levels += [(sku, wh, qty) for sku in short_skus() for wh, qty in SHORT_STOCK.items()]
    seed.add_stock(conn, levels, START)
    conn.execute("COMMIT")
    conn.close()


def order_time(index: int) -> datetime:
    return START + timedelta(seconds=index)


def run_service(path: Path, specs: list[OrderSpec]) -> float:
    """Orders per second through `service.orders.place_order`, one transaction each."""
    app = build_app(path)
    seed_catalog(path)

    def place_all() -> None:
        for index, spec in enumerate(specs):
            line = orders.OrderLineIn(spec.sku, spec.qty)
            orders.place_order(
                app.uow, orders.PlaceOrder(spec.customer_id, [line]), order_time(index)
            )

    seconds = timed(place_all)
    app.close()
    return len(specs) / seconds


def run_raw(path: Path, specs: list[OrderSpec]) -> float:
    """Orders per second for the same statements through the `sqlite3` module."""
    migrated_file(path)
    seed_catalog(path)
    conn = raw_connect(path)

    def place_all() -> None:
        for index, spec in enumerate(specs):
            place_raw(conn, spec, order_time(index))

    seconds = timed(place_all)
    conn.close()
    return len(specs) / seconds


def run(workdir: Path, count: int) -> IntakeResult:
    specs = order_specs(count)
    service_db, raw_db = workdir / "intake-service.db", workdir / "intake-raw.db"
    raw = run_raw(raw_db, specs)
    service = run_service(service_db, specs)
    assert line_outcomes(service_db) == line_outcomes(raw_db), "the two runs disagree"
    return IntakeResult(count, service, raw)


def line_outcomes(path: Path) -> list[tuple]:
    """What each order line got, to show both runs did the same work."""
    conn = sqlite3.connect(path)
    rows = conn.execute(
        "SELECT id, sku, qty, allocated, backordered FROM order_lines ORDER BY id"
    ).fetchall()
    conn.close()
    return rows


# -- the raw sqlite3 loop: the statements `place_order` issues for a one-line order --------

SELECT_CUSTOMER = (
    "SELECT id, external_id, name, email, tier, default_fulfilment, locale, created_at "
    "FROM customers WHERE id = ?"
)
SELECT_PRODUCT = (
    "SELECT sku, name, price_minor, currency, backorder_policy, backorder_limit, release_at, "
    "created_at, updated_at FROM products WHERE sku IN (?)"
)
SELECT_STOCK = (
    "SELECT stock.sku, stock.warehouse, stock.on_hand, stock.allocated, warehouses.rank "
    "FROM stock JOIN warehouses ON warehouses.code = stock.warehouse WHERE stock.sku = ? "
    "ORDER BY warehouses.rank, warehouses.code"
)
SUM_BACKORDERED = (
    "SELECT coalesce(sum(backordered), 0) FROM order_lines WHERE sku = ? AND backordered > 0"
)
INSERT_ORDER = (
    "INSERT INTO orders (external_ref, customer_id, fulfilment, paid_priority, requested_date, "
    "placed_at, channel, currency) VALUES (NULL, ?, ?, 'normal', NULL, ?, 'api', ?)"
)
INSERT_LINE = (
    "INSERT INTO order_lines (order_id, line_no, sku, qty, allocated, backordered, shipped, "
    "cancelled, unit_price_minor) VALUES (?, 1, ?, ?, ?, ?, 0, 0, ?)"
)
UPDATE_STOCK = (
    "UPDATE stock SET on_hand = on_hand + 0, allocated = allocated + ? "
    "WHERE sku = ? AND warehouse = ? RETURNING on_hand"
)
UPSERT_ALLOCATION = (
    "INSERT INTO line_allocations (line_id, warehouse, sku, qty) VALUES (?, ?, ?, ?) "
    "ON CONFLICT (line_id, warehouse) DO UPDATE SET qty = line_allocations.qty + excluded.qty"
)
INSERT_LOG = (
    "INSERT INTO allocation_log (sku, warehouse, line_id, order_id, qty, cause, reference, "
    "priority_key, reason, ahead_of_line_id, created_at) "
    "VALUES (?, ?, ?, ?, ?, 'order', NULL, NULL, ?, NULL, ?)"
)
INSERT_EVENT = (
    "INSERT INTO events (kind, order_id, sku, payload, created_at) VALUES (?, ?, NULL, ?, ?)"
)


def place_raw(conn: sqlite3.Connection, spec: OrderSpec, now: datetime) -> None:
    conn.execute("BEGIN IMMEDIATE")
    customer = conn.execute(SELECT_CUSTOMER, (spec.customer_id,)).fetchone()
    product = conn.execute(SELECT_PRODUCT, (spec.sku,)).fetchone()
    stock = conn.execute(SELECT_STOCK, (spec.sku,)).fetchall()
    conn.execute(SUM_BACKORDERED, (spec.sku,)).fetchone()  # no limit on these products
    takes = take_available(stock, spec.qty)
    allocated = sum(units for _, units in takes)
    stamp = sql_time(now)
    order_id = conn.execute(INSERT_ORDER, (customer[0], customer[5], stamp, product[3])).lastrowid
    line = (order_id, spec.sku, spec.qty, allocated, spec.qty - allocated, product[2])
    line_id = conn.execute(INSERT_LINE, line).lastrowid
    for warehouse, units in takes:
        conn.execute(UPDATE_STOCK, (units, spec.sku, warehouse)).fetchone()
        conn.execute(UPSERT_ALLOCATION, (line_id, warehouse, spec.sku, units))
    conn.executemany(INSERT_LOG, [
        (spec.sku, warehouse, line_id, order_id, units, f"{units} unit(s) by order", stamp)
        for warehouse, units in takes
    ])  # fmt: skip
    facts = {
        "line_id": line_id, "sku": spec.sku, "qty": spec.qty, "allocated": allocated,
        "backordered": spec.qty - allocated, "cancelled": 0, "preorder": False,
        "notify_at_checkout": product[4] == "allow_notify",
    }  # fmt: skip
    conn.executemany(INSERT_EVENT, placement_events(order_id, customer[0], facts, stamp))
    conn.execute("COMMIT")


def take_available(stock: list[tuple], qty: int) -> list[tuple[str, int]]:
    """Units taken warehouse by warehouse, in the rows' (rank, code) order."""
    takes = []
    for _, warehouse, on_hand, allocated, _ in stock:
        units = min(qty, max(0, on_hand - allocated))
        if units:
            takes.append((warehouse, units))
            qty -= units
    return takes


def placement_events(order_id: int, customer_id: int, facts: dict, stamp: str) -> list[tuple]:
    placed = {"order_id": order_id, "customer_id": customer_id, "lines": [facts]}
    rows = [("order_placed", order_id, _payload(placed), stamp)]
    if facts["backordered"]:
        waiting = dict(placed, backordered=facts["backordered"])
        rows.append(("order_backordered", order_id, _payload(waiting), stamp))
    return rows


def _payload(value: dict) -> str:
    return json.dumps(value, sort_keys=True, default=str)
