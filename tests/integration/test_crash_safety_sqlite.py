"""A `backorder receive` killed with SIGKILL in the middle of a large restock loses nothing and
counts nothing twice (SQLite).

100,000 backordered lines of one SKU are seeded with bulk SQL. A real CLI process receives
fewer units than they wait for, in one transaction; the test polls the write-ahead log and
kills the process once uncommitted pages have spilled into it (the transaction is under way,
far from its commit). Afterwards `backorder check` passes and nothing of the receipt is there;
the same receipt, same reference, run again does all of it once: on_hand = the units received,
allocated = min(received, waiting), no line holds more than its quantity, one ledger row; and
a third run is an idempotent no-op.
"""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TypeVar

import pytest

from backorder.bootstrap import build
from backorder.config import Settings

LINES = 100_000
CUSTOMERS = 4_000
SKU = "BIG"
REFERENCE = "PO-CRASH-1"
KILL_AT_WAL_BYTES = 8 * 1024 * 1024  # uncommitted pages spilled: the transaction is running
START = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)
BIN = Path(sys.executable).with_name("backorder")
T = TypeVar("T")


def stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f")


def connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None, timeout=60)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA busy_timeout=60000")
    return conn


def seed_waiting_lines(path: Path, rng: random.Random) -> int:
    """One SKU, CUSTOMERS customers, LINES one-line orders each fully backordered; returns the
    units they wait for. One transaction of bulk inserts."""
    conn = connect(path)
    now = stamp(START)
    conn.execute("BEGIN IMMEDIATE")
    conn.execute(
        "INSERT INTO products (sku, name, price_minor, currency, backorder_policy, created_at, "
        "updated_at) VALUES (?, 'Big seller', 1000, 'EUR', 'allow', ?, ?)",
        (SKU, now, now),
    )
    conn.executemany(
        "INSERT INTO customers (id, name, tier, default_fulfilment, locale, created_at) "
        "VALUES (?, ?, ?, 'ship_partial', 'en', ?)",
        [
            (
                n,
                f"Customer {n}",
                rng.choices(("critical", "priority", "standard"), (5, 15, 80))[0],
                now,
            )
            for n in range(1, CUSTOMERS + 1)
        ],
    )
    conn.executemany(
        "INSERT INTO orders (id, customer_id, fulfilment, paid_priority, placed_at, channel, "
        "currency) VALUES (?, ?, 'ship_partial', ?, ?, 'api', 'EUR')",
        [
            (
                n,
                rng.randint(1, CUSTOMERS),
                "expedited" if rng.random() < 0.1 else "normal",
                stamp(START + timedelta(seconds=n)),
            )
            for n in range(1, LINES + 1)
        ],
    )
    quantities = [rng.randint(1, 5) for _ in range(LINES)]
    conn.executemany(
        "INSERT INTO order_lines (id, order_id, line_no, sku, qty, allocated, backordered, "
        "shipped, cancelled, unit_price_minor) VALUES (?, ?, 1, ?, ?, 0, ?, 0, 0, 1000)",
        [(n, n, SKU, qty, qty) for n, qty in enumerate(quantities, start=1)],
    )
    conn.execute("COMMIT")
    conn.close()
    return sum(quantities)


def backorder(url: str, *args: str) -> list[str]:
    return [str(BIN), "--database-url", url, *args]


def receive_command(url: str, units: int) -> list[str]:
    return backorder(url, "receive", SKU, str(units), "--reference", REFERENCE)


def kill_mid_transaction(url: str, units: int, wal: Path, log: Path) -> None:
    """Start the receipt; SIGKILL it once the WAL holds KILL_AT_WAL_BYTES."""
    with log.open("w") as output:
        process = subprocess.Popen(
            receive_command(url, units), stdout=output, stderr=subprocess.STDOUT
        )
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(
                f"the receipt ended (exit {process.returncode}) before the WAL reached "
                f"{KILL_AT_WAL_BYTES} bytes: {log.read_text()[-2000:]}"
            )
        if wal.exists() and wal.stat().st_size >= KILL_AT_WAL_BYTES:
            os.kill(process.pid, signal.SIGKILL)
            process.wait(30)
            return
        time.sleep(0.01)
    process.kill()
    pytest.fail("the WAL never grew: is the receipt running at all?")


def run_cli(*command: str) -> subprocess.CompletedProcess:
    return subprocess.run(command, capture_output=True, text=True, timeout=600)


def figures(path: Path) -> dict[str, int]:
    conn = connect(path)
    try:
        row = conn.execute(
            "SELECT (SELECT COALESCE(SUM(on_hand), 0) FROM stock WHERE sku = :s), "
            "(SELECT COALESCE(SUM(allocated), 0) FROM stock WHERE sku = :s), "
            "(SELECT SUM(allocated) FROM order_lines WHERE sku = :s), "
            "(SELECT SUM(backordered) FROM order_lines WHERE sku = :s), "
            "(SELECT COUNT(*) FROM order_lines WHERE allocated > qty), "
            "(SELECT COUNT(*) FROM ledger WHERE reference = :r), "
            "(SELECT COALESCE(SUM(delta), 0) FROM ledger WHERE sku = :s), "
            "(SELECT COUNT(*) FROM allocation_log WHERE reference = :r)",
            {"s": SKU, "r": REFERENCE},
        ).fetchone()
    finally:
        conn.close()
    names = (
        "on_hand",
        "allocated",
        "lines_allocated",
        "lines_waiting",
        "lines_over_qty",
        "ledger_rows",
        "ledger_total",
        "log_rows",
    )
    return dict(zip(names, row, strict=True))


def timed(timings: dict[str, float], name: str, action: Callable[[], T]) -> T:
    started = time.monotonic()
    result = action()
    timings[name] = time.monotonic() - started
    return result


def assert_check_passes(url: str, timings: dict[str, float], name: str) -> None:
    check = timed(timings, name, lambda: run_cli(*backorder(url, "check")))
    assert check.returncode == 0, check.stdout + check.stderr


@pytest.mark.soak
def test_a_receipt_killed_mid_transaction_leaves_a_sound_database_and_a_retry_counts_once(
    tmp_path, capsys
):
    path, timings = tmp_path / "crash.db", {}
    url = f"sqlite:///{path}"
    build(Settings(database_url=url)).close()  # the schema, by the migrations
    waiting = timed(timings, "seed", lambda: seed_waiting_lines(path, random.Random(6)))
    received = waiting - waiting // 10  # most lines are served, some still wait

    wal, log = path.with_name("crash.db-wal"), tmp_path / "receive.log"
    timed(timings, "receipt until killed", lambda: kill_mid_transaction(url, received, wal, log))
    assert_check_passes(url, timings, "check")
    assert figures(path) == {
        "on_hand": 0,
        "allocated": 0,
        "lines_allocated": 0,
        "lines_waiting": waiting,
        "lines_over_qty": 0,
        "ledger_rows": 0,
        "ledger_total": 0,
        "log_rows": 0,
    }

    retry = timed(timings, "receipt again", lambda: run_cli(*receive_command(url, received)))
    assert retry.returncode == 0, retry.stdout + retry.stderr
    after = figures(path)
    assert after["on_hand"] == after["ledger_total"] == received  # received once
    assert after["allocated"] == after["lines_allocated"] == min(received, waiting)
    assert after["lines_waiting"] == waiting - min(received, waiting)
    assert (after["lines_over_qty"], after["ledger_rows"]) == (0, 1)

    again = run_cli(*receive_command(url, received))
    assert again.returncode == 0 and "already received" in again.stdout, again.stdout
    assert figures(path) == after
    assert_check_passes(url, timings, "check again")
    with capsys.disabled():  # in CI's log too
        print(report(waiting, received, after, timings), flush=True)


def report(waiting: int, received: int, after: dict, timings: dict[str, float]) -> str:
    spent = ", ".join(f"{name} {seconds:.1f} s" for name, seconds in timings.items())
    return (
        f"\ncrash safety (SQLite): {LINES:,} lines wait for {waiting:,} units, {received:,} "
        f"received; killed mid-transaction, then the retry wrote {after['log_rows']:,} "
        f"allocation-log rows once; {spent}"
    )
