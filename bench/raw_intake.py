"""The raw sqlite3 baseline of `service.orders.place_order` for a one-line order.

It issues the statements the service issues, in the same order (the benchmark checks the
statement counts and the rows written), through the standard-library driver:

  customer; product; queue-first (stock rows, and the queue when units are free); the
  customer's own back-in-stock holds and subscriptions for the SKU; position (stock rows;
  units backordered only against a limit); order, line, per warehouse taken:
  stock row and line holding, allocation-log rows; events; for a line that waits, the SKU's
  promises (product, queue, stock rows, lead time, open purchase orders, stored promises,
  changed promises); the order read back; commit.

The pure planning is written out for what the benchmark's data needs (one line per order,
`ship_partial`, no backorder limit, no purchase orders, no waitlist, no payment terms) and
asserts those assumptions.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

SELECT_CUSTOMER = (
    "SELECT id, external_id, name, email, tier, default_fulfilment, locale, created_at "
    "FROM customers WHERE id = ?"
)
PRODUCT_COLUMNS = (
    "sku, name, price_minor, currency, backorder_policy, backorder_limit, release_at, "
    "created_at, updated_at, lead_time_days, safety_stock, preferred_supplier_id"
)
SELECT_PRODUCTS = f"SELECT {PRODUCT_COLUMNS} FROM products WHERE sku IN (?)"
SELECT_PRODUCT = f"SELECT {PRODUCT_COLUMNS} FROM products WHERE sku = ?"
SELECT_OWN_SUBSCRIPTIONS = (
    "SELECT w.id, w.status, h.id, h.subscription_id, h.customer_id, h.sku, h.warehouse, h.qty, "
    "h.status, h.created_at, h.expires_at, h.closed_at, h.order_id FROM waitlist_subscriptions w "
    "LEFT OUTER JOIN stock_holds h ON h.subscription_id = w.id AND h.status = 'active' "
    "WHERE w.customer_id = ? AND w.sku IN (?) AND w.status IN ('waiting', 'held') ORDER BY w.id"
)
SELECT_STOCK = (
    "SELECT stock.sku, stock.warehouse, stock.on_hand, stock.allocated, warehouses.rank "
    "FROM stock JOIN warehouses ON warehouses.code = stock.warehouse WHERE stock.sku = ? "
    "ORDER BY warehouses.rank, warehouses.code"
)
SELECT_WAITING = (
    "SELECT l.id, l.order_id, l.backordered, c.tier, o.paid_priority, o.requested_date, "
    "o.placed_at FROM order_lines l JOIN orders o ON o.id = l.order_id "
    "JOIN customers c ON c.id = o.customer_id WHERE l.sku = ? AND l.backordered > 0"
)
INSERT_ORDER = (
    "INSERT INTO orders (external_ref, customer_id, fulfilment, paid_priority, requested_date, "
    "placed_at, channel, currency) VALUES (NULL, ?, ?, 'normal', NULL, ?, 'api', ?)"
)
INSERT_LINE = (
    "INSERT INTO order_lines (order_id, line_no, sku, qty, allocated, backordered, shipped, "
    "cancelled, unit_price_minor) VALUES (?, 1, ?, ?, ?, ?, 0, 0, ?)"
)
TAKE_STOCK = (
    "UPDATE stock SET on_hand = on_hand + 0, allocated = allocated + ? "
    "WHERE sku = ? AND warehouse = ? RETURNING on_hand"
)
UPSERT_HOLDING = (
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
SELECT_LEAD_TIME = (
    "SELECT p.lead_time_days, s.lead_time_days FROM products p "
    "LEFT OUTER JOIN suppliers s ON s.id = p.preferred_supplier_id WHERE p.sku = ?"
)
SELECT_OPEN_SUPPLY = (
    "SELECT pl.id, pl.expected_date, pl.qty - pl.received - pl.cancelled FROM po_lines pl "
    "JOIN purchase_orders po ON po.id = pl.po_id WHERE pl.sku = ? "
    "AND po.status IN ('sent', 'partially_received') AND pl.qty - pl.received - pl.cancelled > 0"
)
SELECT_PROMISES = (
    "SELECT id, order_id, promised_date, promise_basis, promise_po_line_id, first_promised_date "
    "FROM order_lines WHERE sku = ? AND backordered > 0"
)
SET_PROMISE = (
    "UPDATE order_lines SET promised_date = ?, promise_basis = ?, promise_po_line_id = ?, "
    "first_promised_date = coalesce(first_promised_date, ?), "
    "promise_changes = promise_changes + ? WHERE id = ?"
)
SELECT_ORDER = (
    "SELECT id, external_ref, customer_id, fulfilment, paid_priority, requested_date, "
    "placed_at, channel, currency FROM orders WHERE id = ?"
)
SELECT_HOLDINGS = (
    "SELECT la.line_id, la.warehouse, la.qty FROM line_allocations la "
    "JOIN order_lines l ON l.id = la.line_id JOIN warehouses w ON w.code = la.warehouse "
    "WHERE l.order_id = ? AND la.qty > 0 ORDER BY w.rank, w.code"
)
SELECT_LINES = "SELECT * FROM order_lines WHERE order_id = ? ORDER BY line_no"


def place_raw(
    conn: sqlite3.Connection,
    customer_id: int,
    sku: str,
    qty: int,
    now: datetime,
    stamp: str,
    timezone: str,
) -> tuple:
    """Place a one-line order; returns the order row and its line rows as read back."""
    conn.execute("BEGIN IMMEDIATE")
    customer = conn.execute(SELECT_CUSTOMER, (customer_id,)).fetchone()
    product = conn.execute(SELECT_PRODUCTS, (sku,)).fetchone()
    _queue_first(conn, sku)
    own = conn.execute(SELECT_OWN_SUBSCRIPTIONS, (customer_id, sku)).fetchall()
    assert not own, "claiming back-in-stock holds is not mirrored"
    stock = conn.execute(SELECT_STOCK, (sku,)).fetchall()
    assert product[5] is None and customer[5] == "ship_partial"  # no limit, ship what is there
    takes = take_available(stock, qty)
    order_id, facts = _insert(conn, customer, product, takes, qty, stamp)
    if facts["backordered"]:
        _repromise(conn, sku, now, timezone)
    order = _read_back(conn, order_id)
    conn.execute("COMMIT")
    return order


def _queue_first(conn: sqlite3.Connection, sku: str) -> None:
    """Idle units go to the queue first: here there are never idle units and a queue."""
    stock = conn.execute(SELECT_STOCK, (sku,)).fetchall()
    if any(on_hand > allocated for _, _, on_hand, allocated, _ in stock):
        assert not conn.execute(SELECT_WAITING, (sku,)).fetchall(), "not mirrored"


def take_available(stock: list[tuple], qty: int) -> list[tuple[str, int]]:
    """Units taken warehouse by warehouse, in the rows' (rank, code) order."""
    takes = []
    for _, warehouse, on_hand, allocated, _ in stock:
        units = min(qty, max(0, on_hand - allocated))
        if units:
            takes.append((warehouse, units))
            qty -= units
    return takes


def _insert(
    conn: sqlite3.Connection, customer: tuple, product: tuple, takes: list, qty: int, stamp: str
) -> tuple[int, dict]:
    sku, allocated = product[0], sum(units for _, units in takes)
    order_id = conn.execute(INSERT_ORDER, (customer[0], customer[5], stamp, product[3])).lastrowid
    line = (order_id, sku, qty, allocated, qty - allocated, product[2])
    line_id = conn.execute(INSERT_LINE, line).lastrowid
    for warehouse, units in takes:
        conn.execute(TAKE_STOCK, (units, sku, warehouse)).fetchone()
        conn.execute(UPSERT_HOLDING, (line_id, warehouse, sku, units))
    conn.executemany(
        INSERT_LOG,
        [
            (sku, warehouse, line_id, order_id, units, f"{units} unit(s) by order", stamp)
            for warehouse, units in takes
        ],
    )
    facts = {
        "line_id": line_id,
        "sku": sku,
        "qty": qty,
        "allocated": allocated,
        "backordered": qty - allocated,
        "cancelled": 0,
        "preorder": False,
        "notify_at_checkout": product[4] == "allow_notify",
    }
    conn.executemany(INSERT_EVENT, placement_events(order_id, customer[0], facts, stamp))
    return order_id, facts


def placement_events(order_id: int, customer_id: int, facts: dict, stamp: str) -> list[tuple]:
    placed = {"order_id": order_id, "customer_id": customer_id, "lines": [facts]}
    rows = [("order_placed", order_id, _payload(placed), stamp)]
    if facts["backordered"]:
        waiting = dict(placed, backordered=facts["backordered"])
        rows.append(("order_backordered", order_id, _payload(waiting), stamp))
    return rows


def _payload(value: dict) -> str:
    return json.dumps(value, sort_keys=True, default=str)


def _repromise(conn: sqlite3.Connection, sku: str, now: datetime, timezone: str) -> None:
    """Every waiting line of the SKU is promised today + lead time (no free stock, no POs)."""
    conn.execute(SELECT_PRODUCT, (sku,)).fetchone()
    waiting = conn.execute(SELECT_WAITING, (sku,)).fetchall()
    stock = conn.execute(SELECT_STOCK, (sku,)).fetchall()
    lead_days = conn.execute(SELECT_LEAD_TIME, (sku,)).fetchone()[0]
    incoming = conn.execute(SELECT_OPEN_SUPPLY, (sku,)).fetchall()
    assert lead_days is not None and not incoming, "not mirrored"
    assert all(on_hand <= allocated for _, _, on_hand, allocated, _ in stock), "not mirrored"
    promised = (_local_date(now, timezone) + timedelta(days=lead_days)).isoformat()
    current = {row[0]: row for row in conn.execute(SELECT_PROMISES, (sku,))}
    changed = []
    for line in waiting:
        _, _, old_date, old_basis, old_po, _ = current[line[0]]
        if (old_date, old_basis, old_po) != (promised, "lead_time", None):
            assert old_date is None, "a moved promise is not mirrored"
            changed.append((promised, "lead_time", None, promised, 0, line[0]))
    if changed:
        conn.executemany(SET_PROMISE, changed)


def _local_date(moment: datetime, timezone: str) -> date:
    return moment.astimezone(ZoneInfo(timezone)).date()


def _read_back(conn: sqlite3.Connection, order_id: int) -> tuple:
    order = conn.execute(SELECT_ORDER, (order_id,)).fetchone()
    holdings = conn.execute(SELECT_HOLDINGS, (order_id,)).fetchall()
    lines = conn.execute(SELECT_LINES, (order_id,)).fetchall()
    return order, holdings, lines
