"""Restock allocation: many waiting lines, then one receipt per SKU that covers its queue.

The waiting lines are bulk-inserted with raw SQL (consistent rows: every line is owed its
whole quantity). The same data is copied for the raw sqlite3 baseline, and only the
receipt phase is timed. Afterwards the service database must pass `queries.check` with
every line allocated, and both databases must hold the same allocations, log and events.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from backorder.bootstrap import App
from backorder.service import queries, stock

from . import seed
from .common import (
    START,
    assert_same_rows,
    build_app,
    copy_database,
    in_batches,
    raw_connect,
    sql_time,
    timed_in_turns,
    trace_app_statements,
    trace_statements,
)
from .raw_restock import receive_raw

WAREHOUSE = "main"
BATCH = 10  # receipts per turn when the two runs take turns
RECEIVED_AT = START + timedelta(days=30)


@dataclass(frozen=True)
class RestockSize:
    skus: int
    lines_per_sku: int

    @property
    def lines(self) -> int:
        return self.skus * self.lines_per_sku

    @property
    def orders(self) -> int:
        return self.lines // 2  # every order has two lines, of two different SKUs


@dataclass(frozen=True)
class RestockResult:
    lines: int
    service_per_s: float
    raw_per_s: float
    lines_allocated: int  # lines of the service's database now holding all their units
    breaches: list  # what `queries.check` found after the service run

    @property
    def ratio(self) -> float:
        return self.service_per_s / self.raw_per_s

    def line(self) -> str:
        return (
            f"restock: {self.service_per_s:,.0f} lines/s (target >= 30000), ratio "
            f"{self.ratio:.2f} to a raw sqlite3 baseline ({self.raw_per_s:,.0f} lines/s); "
            f"{self.lines_allocated:,} of {self.lines:,} lines allocated, "
            f"{len(self.breaches)} invariant breaches"
        )


TRACED_SIZE = RestockSize(skus=6, lines_per_sku=10)


def sku_name(index: int) -> str:
    return f"R-{index:05d}"


def run(workdir: Path, size: RestockSize) -> RestockResult:
    assert size.skus >= 2 and size.lines_per_sku % 2 == 0, "two-line orders need pairs"
    assert_same_statements(workdir, TRACED_SIZE)
    service_db, raw_db = workdir / "restock-service.db", workdir / "restock-raw.db"
    app, receipts = prepare(service_db, size)
    conn = raw_connect(copy_database(service_db, raw_db))
    service_seconds, raw_seconds = timed_in_turns(
        in_batches(receipts, BATCH),
        lambda batch: receive_all(app, batch),
        lambda batch: receive_all_raw(conn, batch),
    )
    conn.close()
    breaches, allocated = queries.check(app.uow), lines_allocated(app)
    app.close()
    assert breaches == [], breaches
    assert allocated == size.lines, f"{allocated} of {size.lines} lines allocated"
    assert_same_rows(service_db, raw_db)
    return RestockResult(
        size.lines, size.lines / service_seconds, size.lines / raw_seconds, allocated, breaches
    )


def prepare(path: Path, size: RestockSize) -> tuple[App, list[tuple[str, int]]]:
    """A service app over the waiting lines, and the receipts (SKU, units) that cover them."""
    app = build_app(path, clock=lambda: RECEIVED_AT)
    return app, list(seed_waiting_lines(path, size).items())


def assert_same_statements(workdir: Path, size: RestockSize) -> None:
    """The baseline must issue what the service issues: compare counts by statement kind."""
    service_db, raw_db = workdir / "traced-restock-service.db", workdir / "traced-restock-raw.db"
    app, receipts = prepare(service_db, size)
    conn = raw_connect(copy_database(service_db, raw_db))
    service_counts, raw_counts = trace_app_statements(app), trace_statements(conn)
    receive_all(app, receipts)
    receive_all_raw(conn, receipts)
    app.close()
    conn.close()
    assert service_counts == raw_counts, (
        f"the baseline no longer issues what the service issues (update bench/raw_restock.py): "
        f"service {service_counts}, raw {raw_counts}"
    )
    assert_same_rows(service_db, raw_db)


def receive_all(app, receipts: Sequence[tuple[str, int]]) -> None:
    """One `service.stock.receive_stock` per SKU, covering all its waiting units."""
    for sku, units in receipts:
        stock.receive_stock(app.uow, sku, WAREHOUSE, units, RECEIVED_AT, reference=f"PO-{sku}")


def receive_all_raw(conn, receipts: Sequence[tuple[str, int]]) -> None:
    for sku, units in receipts:
        receive_raw(conn, sku, WAREHOUSE, units, sql_time(RECEIVED_AT), f"PO-{sku}")


def lines_allocated(app: App) -> int:
    with app.engine.connect() as conn:
        return conn.exec_driver_sql(
            "SELECT count(*) FROM order_lines WHERE allocated = qty AND backordered = 0"
        ).scalar_one()


# -- the waiting lines ---------------------------------------------------------------------

INSERT_ORDER = (
    "INSERT INTO orders (id, external_ref, customer_id, fulfilment, paid_priority, "
    "requested_date, placed_at, channel, currency) VALUES (?, NULL, ?, ?, ?, ?, ?, 'api', 'EUR')"
)
INSERT_LINE = (
    "INSERT INTO order_lines (id, order_id, line_no, sku, qty, allocated, backordered, shipped, "
    "cancelled, unit_price_minor) VALUES (?, ?, ?, ?, ?, 0, ?, 0, 0, 1000)"
)


def seed_waiting_lines(path: Path, size: RestockSize, seed_value: int = 3) -> dict[str, int]:
    """Catalog, customers, orders and their backordered lines; returns units owed per SKU."""
    rng = random.Random(seed_value)
    customers = max(2, size.orders // 25)
    conn = raw_connect(path)
    conn.execute("BEGIN IMMEDIATE")
    seed.add_products(conn, [sku_name(n) for n in range(size.skus)], START)
    seed.add_customers(conn, customers, rng, START)
    conn.executemany(INSERT_ORDER, order_rows(size, customers, rng))
    lines = line_rows(size, rng)
    conn.executemany(INSERT_LINE, lines)
    conn.execute("COMMIT")
    conn.close()
    owed: dict[str, int] = defaultdict(int)
    for line in lines:
        owed[line[3]] += line[5]
    return dict(sorted(owed.items()))


def order_rows(size: RestockSize, customers: int, rng: random.Random) -> list[tuple]:
    """Orders placed a minute or so apart; some expedited, some with a requested date."""
    rows = []
    for order_id in range(1, size.orders + 1):
        placed = START - timedelta(minutes=size.orders - order_id, seconds=rng.randint(0, 50))
        requested = placed + timedelta(days=rng.randint(1, 20)) if rng.random() < 0.2 else None
        rows.append(
            (
                order_id,
                rng.randint(1, customers),
                "ship_complete" if rng.random() < 0.3 else "ship_partial",
                "expedited" if rng.random() < 0.1 else "normal",
                sql_time(requested) if requested else None,
                sql_time(placed),
            )
        )
    return rows


def line_rows(size: RestockSize, rng: random.Random) -> list[tuple]:
    """Two lines per order, for SKUs half the catalog apart: each SKU gets lines_per_sku."""
    rows = []
    for order_id in range(1, size.orders + 1):
        first = (order_id - 1) % size.skus
        second = (first + size.skus // 2) % size.skus
        for line_no, sku in ((1, first), (2, second)):
            qty = rng.randint(1, 5)
            rows.append((2 * order_id - 2 + line_no, order_id, line_no, sku_name(sku), qty, qty))
    return rows
