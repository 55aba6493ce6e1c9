"""Order intake: one order per transaction, through the service and through raw sqlite3.

Both runs start from the same catalog: half the SKUs are plentiful, half hold a few units
over two warehouses and then go on backorder, so the mix covers both paths of
`place_order` (allocate now; backorder the rest and promise a date). Before the timed
runs, a short traced run checks that both issue the same number of statements of each
kind; after them, that both wrote the same rows.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from backorder.bootstrap import App
from backorder.service import orders, queries

from . import seed
from .common import (
    START,
    TIMEZONE,
    assert_same_rows,
    build_app,
    in_batches,
    migrated_file,
    raw_connect,
    sql_time,
    timed_in_turns,
    trace_app_statements,
    trace_statements,
)
from .raw_intake import place_raw

SKUS_PER_KIND = 50
CUSTOMERS = 200
PLENTY = 10_000_000
SHORT_STOCK = {"main": 6, "east": 4}
TRACED_ORDERS = 200
BATCH = 100  # orders per turn when the two runs take turns


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
    waiting_orders: int  # orders of the service's database with a line on backorder
    breaches: list  # what `queries.check` found after the service run

    @property
    def ratio(self) -> float:
        return self.service_per_s / self.raw_per_s

    def line(self) -> str:
        return (
            f"intake: service {self.service_per_s:,.0f} orders/s, raw sqlite3 "
            f"{self.raw_per_s:,.0f} orders/s, ratio {self.ratio:.2f} (target >= 0.50); "
            f"{self.orders:,} orders, {self.waiting_orders:,} of them on backorder"
        )


def run(workdir: Path, count: int) -> IntakeResult:
    specs = order_specs(count)
    assert_same_statements(workdir, specs[:TRACED_ORDERS])
    service_db, raw_db = workdir / "intake-service.db", workdir / "intake-raw.db"
    app, conn = prepare_service(service_db), prepare_raw(raw_db)
    batches = in_batches(list(enumerate(specs)), BATCH)
    service_seconds, raw_seconds = timed_in_turns(
        batches, lambda batch: place_all(app, batch), lambda batch: place_all_raw(conn, batch)
    )
    conn.close()
    breaches, waiting = queries.check(app.uow), waiting_orders(app)
    app.close()
    assert breaches == [], breaches
    assert_same_rows(service_db, raw_db)
    return IntakeResult(count, count / service_seconds, count / raw_seconds, waiting, breaches)


def waiting_orders(app: App) -> int:
    with app.engine.connect() as conn:
        return conn.exec_driver_sql(
            "SELECT count(DISTINCT order_id) FROM order_lines WHERE backordered > 0"
        ).scalar_one()


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


def plentiful_skus() -> list[str]:
    return [f"IN-{n:03d}" for n in range(SKUS_PER_KIND)]


def short_skus() -> list[str]:
    return [f"SHORT-{n:03d}" for n in range(SKUS_PER_KIND)]


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


def prepare_service(path: Path) -> App:
    app = build_app(path)
    seed_catalog(path)
    return app


def prepare_raw(path: Path):
    seed_catalog(migrated_file(path))
    return raw_connect(path)


def order_time(index: int) -> datetime:
    return START + timedelta(seconds=index)


def place_all(app, numbered: Sequence[tuple[int, OrderSpec]]) -> None:
    """Through `service.orders.place_order`, one transaction per order."""
    for index, spec in numbered:
        line = orders.OrderLineIn(spec.sku, spec.qty)
        orders.place_order(app.uow, orders.PlaceOrder(spec.customer_id, [line]), order_time(index))


def place_all_raw(conn, numbered: Sequence[tuple[int, OrderSpec]]) -> None:
    """The same statements through the `sqlite3` module, one transaction per order."""
    for index, spec in numbered:
        now = order_time(index)
        place_raw(conn, spec.customer_id, spec.sku, spec.qty, now, sql_time(now), TIMEZONE)


def assert_same_statements(workdir: Path, specs: list[OrderSpec]) -> None:
    """The baseline must issue what the service issues: compare counts by statement kind."""
    numbered = list(enumerate(specs))
    app = prepare_service(workdir / "traced-service.db")
    service_counts = trace_app_statements(app)
    place_all(app, numbered)
    app.close()
    conn = prepare_raw(workdir / "traced-raw.db")
    raw_counts = trace_statements(conn)
    place_all_raw(conn, numbered)
    conn.close()
    assert service_counts == raw_counts, (
        f"the baseline no longer issues what the service issues (update bench/raw_intake.py): "
        f"service {service_counts}, raw {raw_counts}"
    )
    assert_same_rows(workdir / "traced-service.db", workdir / "traced-raw.db")
