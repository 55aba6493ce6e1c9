"""What both benchmarks share: scratch files on the repository's disk, raw connections, apps."""

from __future__ import annotations

import sqlite3
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

from sqlalchemy import event

from backorder.bootstrap import App, build
from backorder.config import Settings

T = TypeVar("T")
REPO = Path(__file__).resolve().parents[1]
SCRATCH = REPO / "bench" / "out"  # git-ignored, and on the same disk as the repository
START = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)
TIMEZONE = "Europe/Istanbul"
# Every row both runs write; they must match row for row.
WRITTEN_TABLES = (
    "orders",
    "order_lines",
    "line_allocations",
    "stock",
    "ledger",
    "allocation_log",
    "events",
    "command_keys",
)


@contextmanager
def scratch_dir() -> Iterator[Path]:
    SCRATCH.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="run-", dir=SCRATCH) as path:
        yield Path(path)


def build_app(path: Path, clock: Callable[[], datetime] = lambda: START) -> App:
    """A service app on a fresh SQLite file; `build` runs the migrations."""
    settings = Settings(database_url=f"sqlite:///{path}", shop_timezone=TIMEZONE)
    return build(settings, clock=clock)


def migrated_file(path: Path) -> Path:
    """A fresh database file with the service's schema, for the raw baseline."""
    build_app(path).close()
    return path


def raw_connect(path: Path) -> sqlite3.Connection:
    """The standard-library driver with the service's durability: WAL, synchronous=FULL."""
    conn = sqlite3.connect(path, isolation_level=None, timeout=60)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("PRAGMA foreign_keys=ON")
    conn.execute("PRAGMA busy_timeout=60000")
    return conn


def copy_database(source: Path, target: Path) -> Path:
    """A consistent copy through SQLite's backup API (the WAL included)."""
    src, dst = sqlite3.connect(source), sqlite3.connect(target)
    try:
        src.backup(dst)
    finally:
        src.close()
        dst.close()
    return target


def sql_time(value: datetime) -> str:
    """A UTC time as SQLAlchemy stores it in SQLite."""
    return value.astimezone(UTC).replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f")


def timed(fn: Callable[[], object]) -> float:
    """Seconds `fn` takes, by the monotonic high-resolution clock."""
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def timed_in_turns(
    batches: Sequence[T], service: Callable[[T], object], raw: Callable[[T], object]
) -> tuple[float, float]:
    """Seconds each side takes for all batches, run in turns batch by batch, so that both
    see the same machine (other processes, disk cache, write-back) at the same time."""
    service_seconds = raw_seconds = 0.0
    for batch in batches:
        raw_seconds += timed(lambda: raw(batch))  # noqa: B023 - called at once
        service_seconds += timed(lambda: service(batch))  # noqa: B023
    return service_seconds, raw_seconds


def in_batches(items: Sequence[T], size: int) -> list[Sequence[T]]:
    return [items[start : start + size] for start in range(0, len(items), size)]


def written_rows(path: Path) -> dict[str, list[tuple]]:
    """Every row of the tables a command writes, to show two runs did the same work."""
    conn = sqlite3.connect(path)
    try:
        return {
            table: conn.execute(f"SELECT * FROM {table} ORDER BY rowid").fetchall()
            for table in WRITTEN_TABLES
        }
    finally:
        conn.close()


def assert_same_rows(first: Path, second: Path) -> None:
    mine, theirs = written_rows(first), written_rows(second)
    for table in WRITTEN_TABLES:
        assert mine[table] == theirs[table], f"{table}: the service and the baseline disagree"


def trace_statements(conn: sqlite3.Connection) -> Counter:
    """Count the statements SQLite runs on `conn`, by first keyword (SELECT, INSERT, ...)."""
    counts: Counter = Counter()
    conn.set_trace_callback(lambda sql: counts.update([sql.split(None, 1)[0].upper()]))
    return counts


def trace_app_statements(app: App) -> Counter:
    """The same count for every connection the service's engine opens from now on."""
    counts: Counter = Counter()

    def on_connect(dbapi_connection, _record) -> None:
        dbapi_connection.set_trace_callback(
            lambda sql: counts.update([sql.split(None, 1)[0].upper()])
        )

    event.listen(app.engine, "connect", on_connect)
    app.engine.dispose()  # connections opened before the listener are not traced
    return counts
