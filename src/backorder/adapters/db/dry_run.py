"""A unit of work that commits nothing: `backorder import --dry-run`.

One connection holds one outer transaction for the whole run; each command's `with uow:` is a
savepoint inside it, `commit()` releases the savepoint, leaving without commit rolls it back.
So commands run exactly as in a real import and see each other's writes (the second row of a
new SKU is reported as an update, an order that would find the stock taken by an earlier
row is refused), yet `discard()` rolls everything back and the database stays as it was.

The price: the outer transaction holds SQLite's write lock (other writers wait, up to the
busy timeout) or, on PostgreSQL, the row locks of the SKUs it touched, until the run ends.
"""

from __future__ import annotations

from sqlalchemy import Engine

from .store import SqlStore


class DryRunUnitOfWork:
    def __init__(self, engine: Engine, *, shop_timezone: str = "UTC") -> None:
        self.shop_timezone = shop_timezone
        self._conn = engine.connect()
        self._outer = self._conn.begin()  # SQLite: BEGIN IMMEDIATE (see engine.py)
        self.store = SqlStore(self._conn)
        self._savepoints: list = []

    def __enter__(self) -> DryRunUnitOfWork:
        self._savepoints.append(self._conn.begin_nested())
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        savepoint = self._savepoints.pop()
        if savepoint.is_active:
            savepoint.rollback()

    def commit(self) -> None:
        self._savepoints[-1].commit()

    def reader(self) -> _SameTransaction:
        """Reads inside the dry run's transaction, so they see what it would have written."""
        return _SameTransaction(self)

    def discard(self) -> None:
        """Roll back everything the run did and give the connection back."""
        try:
            self._outer.rollback()
        finally:
            self._conn.close()


class _SameTransaction:
    def __init__(self, uow: DryRunUnitOfWork) -> None:
        self.store = uow.store
        self.shop_timezone = uow.shop_timezone

    def __enter__(self) -> _SameTransaction:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        return None

    def reader(self) -> _SameTransaction:
        return self
