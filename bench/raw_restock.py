"""The raw sqlite3 baseline of `service.stock.receive_stock`: the same reads and writes.

One transaction per receipt, the statements the service issues in the same order (the
benchmark checks the statement counts and the rows written): the idempotency key; the
product and warehouse checks; the stock row and its ledger row; the product again, the
stock rows, the queue (sorted by the priority key here), the lines, their warehouse
holdings, the stock's allocated, one allocation-log row per grant, the orders now ready
and one event per order served; back-in-stock subscribers waiting (none here); the
promises of what still waits (product, queue: here nothing waits after a receipt that
covers the queue); the idempotency key's result.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime

TIER_RANK = {"critical": 0, "priority": 1, "standard": 2}
PAID_RANK = {"expedited": 0, "normal": 1}

SELECT_KEY = "SELECT result FROM command_keys WHERE key = ?"
SELECT_PRODUCT = (
    "SELECT sku, name, price_minor, currency, backorder_policy, backorder_limit, release_at, "
    "created_at, updated_at, lead_time_days, safety_stock, preferred_supplier_id "
    "FROM products WHERE sku = ?"
)
SELECT_WAREHOUSE = "SELECT code, name, rank FROM warehouses WHERE code = ?"
ENSURE_STOCK = (
    "INSERT INTO stock (sku, warehouse, on_hand, allocated) VALUES (?, ?, 0, 0) "
    "ON CONFLICT (sku, warehouse) DO NOTHING"
)
ADD_ON_HAND = (
    "UPDATE stock SET on_hand = on_hand + ?, allocated = allocated + 0 "
    "WHERE sku = ? AND warehouse = ? RETURNING on_hand"
)
INSERT_LEDGER = (
    "INSERT INTO ledger (sku, warehouse, delta, on_hand_after, reason, reference, created_at) "
    "VALUES (?, ?, ?, ?, 'receipt', ?, ?)"
)
SELECT_STOCK = (
    "SELECT stock.sku, stock.warehouse, stock.on_hand, stock.allocated, warehouses.rank "
    "FROM stock JOIN warehouses ON warehouses.code = stock.warehouse WHERE stock.sku = ? "
    "ORDER BY warehouses.rank, warehouses.code"
)
SELECT_WAITING = (
    "SELECT l.id, l.order_id, l.backordered, c.tier, o.paid_priority, o.requested_date, "
    "o.placed_at, l.priority_override FROM order_lines l JOIN orders o ON o.id = l.order_id "
    "JOIN customers c ON c.id = o.customer_id WHERE l.sku = ? AND l.backordered > 0"
)
UPDATE_LINE = (
    "UPDATE order_lines SET allocated = allocated + ?, backordered = backordered - ? WHERE id = ?"
)
UPSERT_ALLOCATION = (
    "INSERT INTO line_allocations (line_id, warehouse, sku, qty) VALUES (?, ?, ?, ?) "
    "ON CONFLICT (line_id, warehouse) DO UPDATE SET qty = line_allocations.qty + excluded.qty"
)
ADD_ALLOCATED = "UPDATE stock SET allocated = allocated + ? WHERE sku = ? AND warehouse = ?"
INSERT_LOG = (
    "INSERT INTO allocation_log (sku, warehouse, line_id, order_id, qty, cause, reference, "
    "priority_key, reason, ahead_of_line_id, created_at) "
    "VALUES (?, ?, ?, ?, ?, 'receipt', ?, ?, ?, ?, ?)"
)
ANY_SUBSCRIBER = (
    "SELECT id FROM waitlist_subscriptions WHERE sku = ? AND status = 'waiting' LIMIT 1 OFFSET 0"
)
READY_ORDERS = (
    "SELECT order_id FROM order_lines WHERE order_id IN ({}) GROUP BY order_id "
    "HAVING sum(backordered) = 0 AND sum(allocated) > 0"
)
INSERT_EVENT = (
    "INSERT INTO events (kind, order_id, sku, payload, created_at) VALUES (?, ?, ?, ?, ?)"
)
INSERT_KEY = (
    "INSERT INTO command_keys (key, command, result, created_at) VALUES (?, 'receipt', ?, ?)"
)


def receive_raw(
    conn: sqlite3.Connection, sku: str, warehouse: str, qty: int, stamp: str, reference: str
) -> None:
    conn.execute("BEGIN IMMEDIATE")
    key = f"receipt:{reference}"
    assert conn.execute(SELECT_KEY, (key,)).fetchone() is None
    assert conn.execute(SELECT_PRODUCT, (sku,)).fetchone()[6] is None  # released
    assert conn.execute(SELECT_WAREHOUSE, (warehouse,)).fetchone() is not None
    conn.execute(ENSURE_STOCK, (sku, warehouse))
    on_hand = conn.execute(ADD_ON_HAND, (qty, sku, warehouse)).fetchone()[0]
    conn.execute(INSERT_LEDGER, (sku, warehouse, qty, on_hand, reference, stamp))
    conn.execute(SELECT_PRODUCT, (sku,)).fetchone()
    supply = [(r[1], r[2] - r[3]) for r in conn.execute(SELECT_STOCK, (sku,)) if r[2] > r[3]]
    queue = sorted(_waiting(conn, sku))
    grants, next_waiting = plan(queue, supply)
    _apply(conn, sku, grants, next_waiting, reference, stamp)
    assert conn.execute(ANY_SUBSCRIBER, (sku,)).fetchone() is None, "holds are not mirrored"
    conn.execute(SELECT_PRODUCT, (sku,)).fetchone()
    assert not _waiting(conn, sku), "promises for lines still waiting are not mirrored"
    result = {
        "sku": sku,
        "warehouse": warehouse,
        "qty": qty,
        "on_hand": on_hand,
        "allocated_to_lines": sum(units for _, _, units in grants),
        "lines_served": len({line[0][-1] for line, _, _ in grants}),
        "repeated": False,
    }
    conn.execute(INSERT_KEY, (key, json.dumps(result, default=str), stamp))
    conn.execute("COMMIT")


def _waiting(conn: sqlite3.Connection, sku: str) -> list[tuple]:
    """(priority key, order id, backordered, tier, paid priority) per waiting line."""
    rows = []
    for line_id, order_id, owed, tier, paid, requested, placed, override in conn.execute(
        SELECT_WAITING, (sku,)
    ):
        ordered_at = _utc(placed)
        due = _utc(requested) if requested else ordered_at
        key = (override, TIER_RANK[tier], PAID_RANK[paid], due, ordered_at, line_id)
        rows.append((key, order_id, owed, tier, paid))
    return rows


def plan(queue: list[tuple], supply: list[tuple[str, int]]) -> tuple[list[tuple], int | None]:
    """Grants as (line, warehouse, units) in key order, and the first line left waiting."""
    stock = [list(s) for s in supply]
    grants, unmet, cursor = [], [], 0
    for line in queue:
        need = line[2]
        while need and cursor < len(stock):
            take = min(need, stock[cursor][1])
            grants.append((line, stock[cursor][0], take))
            need -= take
            stock[cursor][1] -= take
            cursor += stock[cursor][1] == 0
        if need:
            unmet.append(line[0][-1])
            if cursor >= len(stock):
                break
    return grants, (unmet[0] if unmet else None)


def _apply(
    conn: sqlite3.Connection,
    sku: str,
    grants: list[tuple],
    next_waiting: int | None,
    reference: str,
    stamp: str,
) -> None:
    conn.executemany(UPDATE_LINE, [(units, units, line[0][-1]) for line, _, units in grants])
    conn.executemany(
        UPSERT_ALLOCATION, [(line[0][-1], wh, sku, units) for line, wh, units in grants]
    )
    per_warehouse: dict[str, int] = {}
    for _, warehouse, units in grants:
        per_warehouse[warehouse] = per_warehouse.get(warehouse, 0) + units
    for warehouse, units in sorted(per_warehouse.items()):
        conn.execute(ADD_ALLOCATED, (units, sku, warehouse))
    conn.executemany(INSERT_LOG, [_log_row(sku, g, next_waiting, reference, stamp) for g in grants])
    conn.executemany(INSERT_EVENT, _events(conn, sku, grants, stamp))


def _log_row(sku: str, grant: tuple, next_waiting: int | None, reference: str, stamp: str) -> tuple:
    (key, order_id, _, tier, paid), warehouse, units = grant
    ahead_of = next_waiting if next_waiting != key[-1] else None
    reason = (
        f"{units} unit(s) by receipt; {tier} customer, {paid} shipping, due {key[-3]:%Y-%m-%d}, "
        f"ordered {key[-2]:%Y-%m-%d %H:%M} UTC, line {key[-1]}"
    )
    if ahead_of is not None:
        reason += f"; ahead of line {ahead_of}"
    priority_key = json.dumps(key, default=datetime.isoformat)
    return (
        sku,
        warehouse,
        key[-1],
        order_id,
        units,
        reference,
        priority_key,
        reason,
        ahead_of,
        stamp,
    )


def _events(conn: sqlite3.Connection, sku: str, grants: list[tuple], stamp: str) -> list[tuple]:
    units: dict[int, dict[int, int]] = {}
    for (key, order_id, *_), _, qty in grants:
        lines = units.setdefault(order_id, {})
        lines[key[-1]] = lines.get(key[-1], 0) + qty
    ids = sorted(units)
    sql = READY_ORDERS.format(", ".join("?" * len(ids)))
    ready = {row[0] for row in conn.execute(sql, ids)} if ids else set()
    return [
        (
            "order_ready_to_ship" if order_id in ready else "units_allocated",
            order_id,
            sku,
            json.dumps(
                {
                    "order_id": order_id,
                    "lines": [
                        {"line_id": line_id, "sku": sku, "allocated": qty}
                        for line_id, qty in units[order_id].items()
                    ],
                },
                sort_keys=True,
                default=str,
            ),
            stamp,
        )
        for order_id in ids
    ]


def _utc(stored: str) -> datetime:
    return datetime.fromisoformat(stored).replace(tzinfo=UTC)
