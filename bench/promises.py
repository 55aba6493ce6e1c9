"""Promised dates (issue 7): full recompute, incremental recompute, and the availability quote.

Seeded with raw SQL: backordered lines (qty = backordered, no stock), two open PO lines per
SKU on sent purchase orders of one supplier, expected over the next 60 days, and the
products' 14-day lead time (bench/seed.py) for what the POs do not cover. Then, through the
service code:

1. a full recompute, `promising.recompute_all` (one transaction, each table read once), in lines/s,
   with `plan_promises` alone over the same data in memory as the baseline;
2. one PO line's date moved: `repromise` for its SKU inside an open transaction (rolled back),
   and the whole `purchasing.change_expected_date` command, commit included;
3. `quotes.quote` for one SKU, as a storefront asks it per product page view.

Every line must end up promised (purchase_order or lead_time), and an incremental recompute
must touch only its SKU. `python -m bench.promises [--quick]` runs it alone.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from backorder.bootstrap import App
from backorder.domain.promising import plan_promises
from backorder.service import purchasing, quotes
from backorder.service.promising import local_date, recompute_all, repromise

from . import restock
from .common import START, TIMEZONE, build_app, raw_connect, scratch_dir, sql_time

PO_LINES_PER_SKU = 2
LINES_PER_PO = 100
SPREAD_DAYS = 60


@dataclass(frozen=True)
class PromiseSize:
    skus: int
    lines_per_sku: int
    incremental_trials: int = 200
    command_trials: int = 50
    quote_calls: int = 500

    @property
    def lines(self) -> int:
        return self.skus * self.lines_per_sku

    @property
    def po_lines(self) -> int:
        return self.skus * PO_LINES_PER_SKU


FULL = PromiseSize(skus=10_000, lines_per_sku=10)
QUICK = PromiseSize(skus=1_000, lines_per_sku=10)


@dataclass(frozen=True)
class PromiseResult:
    size: PromiseSize
    full_seconds: float
    pure_seconds: float
    bases: dict[str, int]  # promised lines by basis after the full recompute
    incremental_ms: float  # median
    command_ms: float  # median
    quote_ms: float  # median
    load: str

    @property
    def service_per_s(self) -> float:
        return self.size.lines / self.full_seconds

    @property
    def pure_per_s(self) -> float:
        return self.size.lines / self.pure_seconds

    def lines(self) -> list[str]:
        s = self.size
        bases = ", ".join(f"{k} {v:,}" for k, v in sorted(self.bases.items()))
        return [
            f"promises, full recompute: {self.service_per_s:,.0f} lines/s (target >= 100000), "
            f"ratio {self.service_per_s / self.pure_per_s:.3f} to plan_promises alone "
            f"({self.pure_per_s:,.0f} lines/s); {s.lines:,} lines, {s.skus:,} SKUs, "
            f"{s.po_lines:,} PO lines, one transaction; "
            f"all promised ({bases}); {self.load}",
            f"promises, one PO date moved: repromise of its SKU {self.incremental_ms:.2f} ms "
            f"median of {s.incremental_trials} (target < 5, other SKUs untouched); "
            f"change_expected_date with its commit {self.command_ms:.2f} ms median of "
            f"{s.command_trials}",
            f"promises, quote: {self.quote_ms:.2f} ms median of {s.quote_calls} quotes.quote "
            f"calls, one SKU each",
        ]


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.1f} / {five:.1f} / {fifteen:.1f} on {os.cpu_count()} cores"


def run(workdir: Path, quick: bool = False, size: PromiseSize | None = None) -> list[str]:
    """Measure at FULL (QUICK when quick, or `size`); print and return the lines."""
    result = measure(workdir, size or (QUICK if quick else FULL))
    lines = result.lines()
    for line in lines:
        print(line, flush=True)
    return lines


def measure(workdir: Path, size: PromiseSize) -> PromiseResult:
    path = workdir / "promises.db"
    app = build_app(path)
    try:
        skus, po_lines = seed_backorders(path, size)
        pure_seconds = time_pure(app, skus)
        full_seconds = time_full_recompute(app, skus)
        bases = assert_all_promised(app, size.lines)
        before = load()
        rng = random.Random(11)
        incremental = time_incremental(app, po_lines, rng, size.incremental_trials)
        command = time_command(app, po_lines, rng, size.command_trials)
        quote = time_quotes(app, skus, rng, size.quote_calls)
    finally:
        app.close()
    return PromiseResult(
        size, full_seconds, pure_seconds, bases, incremental, command, quote, before
    )


# -- the data ------------------------------------------------------------------------------

INSERT_SUPPLIER = (
    "INSERT INTO suppliers (id, name, contact, email, lead_time_days, currency, created_at) "
    "VALUES (1, 'Acme Supply', NULL, 'po@acme.example', 21, 'EUR', ?)"
)
INSERT_PO = (
    "INSERT INTO purchase_orders (id, supplier_id, warehouse, status, reference, currency, "
    "created_at, sent_at) VALUES (?, 1, 'main', 'sent', ?, 'EUR', ?, ?)"
)
INSERT_PO_LINE = (
    "INSERT INTO po_lines (id, po_id, sku, qty, received, cancelled, unit_cost_minor, "
    "expected_date, first_expected_date, last_received_date) VALUES (?, ?, ?, ?, 0, 0, 500, ?, ?, "
    "NULL)"
)


def seed_backorders(path: Path, size: PromiseSize, seed_value: int = 7):
    """The waiting lines (restock's seeding: every line owed its whole qty) and the open PO
    lines; returns the SKUs and the PO lines as (id, sku)."""
    assert size.skus >= 2 and size.lines_per_sku % 2 == 0, "two-line orders need pairs"
    restock.seed_waiting_lines(path, restock.RestockSize(size.skus, size.lines_per_sku), seed_value)
    skus = [restock.sku_name(n) for n in range(size.skus)]
    rng = random.Random(seed_value)
    today = local_date(START, TIMEZONE)
    stamp = sql_time(START - timedelta(days=1))
    po_lines = []
    rows = []
    for index, (sku, _) in enumerate((sku, n) for sku in skus for n in range(PO_LINES_PER_SKU)):
        line_id = index + 1
        expected = (today + timedelta(days=rng.randint(1, SPREAD_DAYS))).isoformat()
        # about two-thirds of a SKU's ~3 units a line: the rest waits on the lead time
        qty = rng.randint(1, 2 * size.lines_per_sku)
        rows.append((line_id, index // LINES_PER_PO + 1, sku, qty, expected, expected))
        po_lines.append((line_id, sku))
    pos = (len(rows) + LINES_PER_PO - 1) // LINES_PER_PO
    conn = raw_connect(path)
    conn.execute("BEGIN IMMEDIATE")
    conn.execute(INSERT_SUPPLIER, (stamp,))
    conn.executemany(INSERT_PO, [(n, f"PO-{n:05d}", stamp, stamp) for n in range(1, pos + 1)])
    conn.executemany(INSERT_PO_LINE, rows)
    conn.execute("COMMIT")
    conn.close()
    return skus, po_lines


# -- 1. the full recompute -----------------------------------------------------------------


def time_pure(app: App, skus: list[str]) -> float:
    """plan_promises alone, over every SKU's inputs read beforehand (untimed)."""
    inputs = []
    today = local_date(START, TIMEZONE)
    with app.uow.reader() as r:
        store = r.store
        for sku in skus:
            lead = store.lead_time_days(sku)
            inputs.append(
                (
                    store.waiting_lines(sku),
                    0,
                    today,
                    store.open_supply(sku),
                    today + timedelta(days=lead) if lead is not None else None,
                )
            )
    started = time.perf_counter()
    for args in inputs:
        plan_promises(*args)
    return time.perf_counter() - started


def time_full_recompute(app: App, skus: list[str]) -> float:
    """promising.recompute_all: one transaction, each table read once, one bulk write."""
    started = time.perf_counter()
    done = recompute_all(app.uow, START)
    assert done["skus"] == len(skus), done
    return time.perf_counter() - started


def assert_all_promised(app: App, lines: int) -> dict[str, int]:
    with app.engine.connect() as conn:
        bases = dict(
            conn.exec_driver_sql(
                "SELECT promise_basis, count(*) FROM order_lines WHERE backordered > 0 "
                "AND promised_date IS NOT NULL GROUP BY promise_basis"
            ).all()
        )
        waiting = conn.exec_driver_sql(
            "SELECT count(*) FROM order_lines WHERE backordered > 0"
        ).scalar_one()
    assert waiting == lines, f"{waiting} waiting lines, {lines} seeded"
    assert set(bases) <= {"purchase_order", "lead_time"}, bases
    assert sum(bases.values()) == lines, f"{sum(bases.values())} of {lines} lines promised"
    return bases


# -- 2. one PO date moved ------------------------------------------------------------------

CHANGED_ELSEWHERE = (
    "SELECT count(*) FROM order_lines WHERE sku <> ? AND (promise_changes > 0 "
    "OR promised_date IS NULL)"
)


def time_incremental(app: App, po_lines, rng: random.Random, trials: int) -> float:
    """repromise of one SKU after its PO line moved 30 days later, in a transaction that is
    rolled back; the SKU's lines must move and no other SKU's."""
    timings = []
    for _ in range(trials):
        po_line_id, sku = rng.choice(po_lines)
        with app.uow as uow:
            store = uow.store
            line = store.get_po_line(po_line_id)
            store.update_po_line(po_line_id, expected_date=line.expected_date + timedelta(days=30))
            started = time.perf_counter()
            repromise(store, sku, START, TIMEZONE)
            timings.append(time.perf_counter() - started)
            conn = store.conn
            elsewhere = conn.exec_driver_sql(CHANGED_ELSEWHERE, (sku,)).scalar_one()
            assert elsewhere == 0, f"repromise of {sku} touched {elsewhere} lines of other SKUs"
        # leaving without commit rolls the change back
    return statistics.median(timings) * 1000


def time_command(app: App, po_lines, rng: random.Random, trials: int) -> float:
    """The whole command, commit included; afterwards only the moved SKUs' lines changed."""
    timings, moved = [], set()
    for _ in range(trials):
        po_line_id, sku = rng.choice(po_lines)
        with app.uow.reader() as r:
            expected = r.store.get_po_line(po_line_id).expected_date + timedelta(days=7)
        started = time.perf_counter()
        purchasing.change_expected_date(app.uow, po_line_id, expected, START)
        timings.append(time.perf_counter() - started)
        moved.add(sku)
    with app.engine.connect() as conn:
        changed = {
            row[0]
            for row in conn.exec_driver_sql(
                "SELECT DISTINCT sku FROM order_lines WHERE promise_changes > 0"
            )
        }
    assert changed <= moved, f"lines of unmoved SKUs changed: {sorted(changed - moved)[:5]}"
    return statistics.median(timings) * 1000


# -- 3. the quote --------------------------------------------------------------------------


def time_quotes(app: App, skus: list[str], rng: random.Random, calls: int) -> float:
    timings = []
    for _ in range(calls):
        sku = rng.choice(skus)
        started = time.perf_counter()
        answer = quotes.quote(app.uow, [(sku, 3)], START)
        timings.append(time.perf_counter() - started)
        assert answer[0]["promised_date"] is not None, answer
    return statistics.median(timings) * 1000


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.promises", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="1,000 SKUs, 10,000 lines")
    quick = parser.parse_args(argv).quick
    with scratch_dir() as workdir:
        run(workdir, quick)


if __name__ == "__main__":
    main()
