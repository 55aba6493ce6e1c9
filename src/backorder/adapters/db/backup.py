"""Backup and restore: SQLite's online backup API; pg_dump / pg_restore on PostgreSQL."""

from __future__ import annotations

import glob
import shutil
import sqlite3
import subprocess
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.engine import make_url


def backup(engine: Engine, target: Path) -> None:
    """Copy a consistent snapshot while the service keeps running."""
    if engine.dialect.name == "sqlite":
        with _sqlite(engine) as source, sqlite3.connect(target) as copy:
            source.backup(copy)
        return
    _run(
        [
            _pg_tool("pg_dump"),
            "--format=custom",
            "--no-owner",
            f"--file={target}",
            _libpq_url(engine),
        ]
    )


def restore(engine: Engine, source: Path) -> None:
    """Replace the database's content with a backup (stop the service first)."""
    if not source.exists():
        raise FileNotFoundError(source)
    engine.dispose()
    if engine.dialect.name == "sqlite":
        with sqlite3.connect(source) as backup_copy, _sqlite(engine) as live:
            backup_copy.backup(live)
        return
    _run(
        [
            _pg_tool("pg_restore"),
            "--clean",
            "--if-exists",
            "--no-owner",
            "--single-transaction",
            f"--dbname={_libpq_url(engine)}",
            str(source),
        ]
    )


def _sqlite(engine: Engine) -> sqlite3.Connection:
    return sqlite3.connect(make_url(engine.url).database)


def _libpq_url(engine: Engine) -> str:
    return make_url(engine.url).set(drivername="postgresql").render_as_string(hide_password=False)


def _pg_tool(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    tool = found[-1] if found else shutil.which(name)
    if tool is None:
        raise RuntimeError(f"{name} not found: install the PostgreSQL client tools")
    return tool


def _run(command: list[str]) -> None:
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{Path(command[0]).name} failed: {done.stderr.strip()}")
