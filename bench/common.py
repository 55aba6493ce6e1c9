"""What both benchmarks share: scratch files on the repository's disk, raw connections, apps."""

from __future__ import annotations

import sqlite3
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from backorder.bootstrap import App, build
from backorder.config import Settings

REPO = Path(__file__).resolve().parents[1]
SCRATCH = REPO / "bench" / "out"  # git-ignored, and on the same disk as the repository
START = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)


@contextmanager
def scratch_dir() -> Iterator[Path]:
    SCRATCH.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="run-", dir=SCRATCH) as path:
        yield Path(path)


def build_app(path: Path, clock: Callable[[], datetime] = lambda: START) -> App:
    """A service app on a fresh SQLite file; `build` runs the migrations."""
    return build(Settings(database_url=f"sqlite:///{path}"), clock=clock)


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
