"""Unit of work: one connection, one transaction, one store; retried on lock conflicts."""

from __future__ import annotations

import threading

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import IntegrityError, OperationalError

from ...service.ports import RetryableConflict
from .store import SqlStore

# PostgreSQL: deadlock_detected, serialization_failure, unique_violation (a concurrent
# duplicate of an idempotent command: the retry reads the first result).
_RETRYABLE_PG_CODES = {"40P01", "40001", "23505"}


class SqlUnitOfWork:
    """The App holds one instance for every thread: each thread's `with` gets its own
    connection and store, kept thread-local so concurrent commands never share them."""

    def __init__(
        self, engine: Engine, *, readonly: bool = False, shop_timezone: str = "UTC"
    ) -> None:
        self.engine = engine
        self.readonly = readonly
        self.shop_timezone = shop_timezone
        self._local = threading.local()

    @property
    def _conn(self) -> Connection | None:
        return getattr(self._local, "conn", None)

    @_conn.setter
    def _conn(self, conn: Connection | None) -> None:
        self._local.conn = conn

    @property
    def store(self) -> SqlStore:
        return self._local.store

    @store.setter
    def store(self, store: SqlStore) -> None:
        self._local.store = store

    def __enter__(self) -> SqlUnitOfWork:
        conn = self.engine.connect()
        if self.readonly:
            conn = conn.execution_options(readonly=True)
        conn.begin()
        self._conn = conn
        self.store = SqlStore(conn)
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        conn, self._conn = self._conn, None
        try:
            if conn is not None and conn.in_transaction():
                conn.rollback()
        finally:
            if conn is not None:
                conn.close()
        if exc is not None and _is_retryable(exc):
            raise RetryableConflict(str(exc)) from exc

    def commit(self) -> None:
        assert self._conn is not None, "commit outside a unit of work"
        try:
            self._conn.commit()
        except (IntegrityError, OperationalError) as error:
            if _is_retryable(error):
                raise RetryableConflict(str(error)) from error
            raise

    def reader(self) -> SqlUnitOfWork:
        return SqlUnitOfWork(self.engine, readonly=True, shop_timezone=self.shop_timezone)


def _is_retryable(exc: BaseException) -> bool:
    if not isinstance(exc, IntegrityError | OperationalError):
        return False
    code = getattr(getattr(exc, "orig", None), "sqlstate", None)
    if code in _RETRYABLE_PG_CODES:
        return True
    message = str(exc).lower()
    return "database is locked" in message or (
        "unique constraint failed" in message
        and ("orders.external_ref" in message or "command_keys.key" in message)
    )
