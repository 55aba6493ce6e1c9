"""Bulk rows for the benchmarks, written with raw SQL in one transaction (fast to set up).

Every row respects the invariants: stock comes with its ledger rows, lines with their parts.
"""

from __future__ import annotations

import random
import sqlite3
from collections.abc import Iterable, Sequence
from datetime import datetime

from .common import sql_time

TIERS = ("critical", "priority", "standard")
TIER_WEIGHTS = (5, 15, 80)

LEAD_TIME_DAYS = 14
INSERT_PRODUCT = (
    "INSERT INTO products (sku, name, price_minor, currency, backorder_policy, backorder_limit, "
    "release_at, created_at, updated_at, lead_time_days) VALUES (?, ?, ?, 'EUR', ?, NULL, NULL, "
    f"?, ?, {LEAD_TIME_DAYS})"
)
INSERT_CUSTOMER = (
    "INSERT INTO customers (id, external_id, name, email, tier, default_fulfilment, locale, "
    "created_at) VALUES (?, NULL, ?, ?, ?, 'ship_partial', ?, ?)"
)
INSERT_STOCK = "INSERT INTO stock (sku, warehouse, on_hand, allocated) VALUES (?, ?, ?, 0)"
INSERT_LEDGER = (
    "INSERT INTO ledger (sku, warehouse, delta, on_hand_after, reason, reference, created_at) "
    "VALUES (?, ?, ?, ?, 'receipt', 'opening stock', ?)"
)


def add_warehouse(conn: sqlite3.Connection, code: str, rank: int) -> None:
    conn.execute(
        "INSERT INTO warehouses (code, name, rank) VALUES (?, ?, ?)", (code, code.title(), rank)
    )


def add_products(conn: sqlite3.Connection, skus: Iterable[str], now: datetime) -> None:
    stamp = sql_time(now)
    conn.executemany(
        INSERT_PRODUCT,
        [
            (sku, f"Item {sku}", 1000 + n, "allow_notify" if n % 3 == 0 else "allow", stamp, stamp)
            for n, sku in enumerate(skus)
        ],
    )


def add_customers(conn: sqlite3.Connection, count: int, rng: random.Random, now: datetime) -> None:
    """Customers 1..count with a realistic mix of tiers."""
    stamp = sql_time(now)
    tiers = rng.choices(TIERS, TIER_WEIGHTS, k=count)
    conn.executemany(
        INSERT_CUSTOMER,
        [
            (
                n,
                f"Customer {n}",
                f"c{n}@example.com",
                tiers[n - 1],
                "tr" if n % 4 == 0 else "en",
                stamp,
            )
            for n in range(1, count + 1)
        ],
    )


def add_stock(
    conn: sqlite3.Connection, levels: Sequence[tuple[str, str, int]], now: datetime
) -> None:
    """Opening stock: one stock row and one ledger row per (sku, warehouse, on_hand)."""
    stamp = sql_time(now)
    conn.executemany(INSERT_STOCK, levels)
    conn.executemany(INSERT_LEDGER, [(sku, wh, qty, qty, stamp) for sku, wh, qty in levels if qty])
