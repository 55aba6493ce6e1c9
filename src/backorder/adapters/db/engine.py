"""Engines for SQLite (embedded default) and PostgreSQL, with the durability we promise."""

from __future__ import annotations

from sqlalchemy import Engine, create_engine, event

from . import raw


def make_engine(url: str, *, pool_size: int = 20) -> Engine:
    if url.startswith("sqlite"):
        return _sqlite_engine(url)
    return create_engine(url, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True)


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


def _sqlite_engine(url: str) -> Engine:
    engine = create_engine(url, pool_size=20, max_overflow=40, connect_args={"timeout": 60})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        # Take transaction control away from the driver: we issue BEGIN ourselves.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        # FULL: an acknowledged order survives a power cut, not only a crash.
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=60000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        # Writers take the write lock up front, so no read-then-upgrade deadlock.
        # On the driver's cursor: every command begins here (its errors still SQLAlchemy's).
        readonly = conn.get_execution_options().get("readonly", False)
        raw.execute(conn, "BEGIN" if readonly else "BEGIN IMMEDIATE")

    return engine
