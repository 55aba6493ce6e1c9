"""Statements run straight on the driver's cursor, for the few that carry thousands of rows.

SQLAlchemy builds and type-processes every parameter row in Python; for a delivery or a full
promise recompute that costs more than running the statements. These run in the caller's
transaction (the same connection), and convert values as the columns' SQLAlchemy types would
store them, so rows written here read back the same as any other.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime
from functools import lru_cache

from sqlalchemy import Connection
from sqlalchemy.exc import DBAPIError


def placeholders(sql: str, conn: Connection) -> str:
    """Statements are written with `?`; psycopg wants `%s`. (So none of them may hold a
    literal `?` or `%`: values always go in as parameters.)"""
    return sql.replace("?", "%s") if conn.dialect.name == "postgresql" else sql


def marks(values: Sequence) -> str:
    """The `?, ?, ...` of an IN list of these values."""
    return ", ".join("?" * len(values))


def executemany(conn: Connection, sql: str, rows: Sequence[Sequence]) -> None:
    if rows:
        _run(conn, sql, lambda cursor, statement: cursor.executemany(statement, rows))


def execute(conn: Connection, sql: str, params: Sequence = ()) -> None:
    """A statement that returns no rows (psycopg refuses to fetch from one)."""
    _run(conn, sql, lambda cursor, statement: cursor.execute(statement, params))


def fetchall(conn: Connection, sql: str, params: Sequence = ()) -> list[tuple]:
    return _run(conn, sql, lambda cursor, statement: cursor.execute(statement, params).fetchall())


def _run(conn: Connection, sql: str, work: Callable):
    """`work(cursor, statement)` on a fresh cursor of the driver's connection. Its driver
    errors surface as SQLAlchemy's (IntegrityError, OperationalError...), as every other
    statement's do: the unit of work retries a deadlock or a lock timeout by those classes.
    (A plain try, not a context manager: an order runs fifteen of these.)"""
    cursor = conn.connection.dbapi_connection.cursor()
    try:
        return work(cursor, placeholders(sql, conn))
    except conn.dialect.loaded_dbapi.Error as error:
        raise DBAPIError.instance(
            sql, None, error, conn.dialect.loaded_dbapi.Error, dialect=conn.dialect
        ) from error
    finally:
        cursor.close()


def utc_param(conn: Connection) -> Callable[[datetime | None], object]:
    """An aware time as the UTCDateTime column stores it: naive UTC (text in SQLite)."""
    sqlite = conn.dialect.name == "sqlite"
    last: list = [None, None]  # most rows of one command carry its one `now`

    def convert(value: datetime | None):
        if value is None:
            return None
        if value is last[0]:
            return last[1]
        if value.tzinfo is None:
            raise ValueError("naive datetime given; pass an aware UTC datetime")
        naive = value.astimezone(UTC).replace(tzinfo=None)
        # SQLAlchemy's text form: microseconds always written, so text order is time order
        stored = naive.isoformat(" ", "microseconds") if sqlite else naive
        last[:] = value, stored
        return stored

    return convert


def date_param(conn: Connection) -> Callable[[date | None], object]:
    """A date as its column stores it (ISO text in SQLite: its driver's adapter is deprecated)."""
    if conn.dialect.name == "postgresql":
        return lambda day: day
    return lambda day: None if day is None else day.isoformat()


def utc_value(conn: Connection) -> Callable[[object], datetime | None]:
    """A UTCDateTime column's value as the driver returns it, as an aware UTC time."""
    sqlite = conn.dialect.name == "sqlite"
    seen: dict = {}  # the lines of one order share its times

    def convert(value) -> datetime | None:
        if value is None:
            return None
        known = seen.get(value)
        if known is None:
            known = seen[value] = (datetime.fromisoformat(value) if sqlite else value).replace(
                tzinfo=UTC
            )
        return known

    return convert


def date_value(conn: Connection) -> Callable[[object], date | None]:
    """A Date column's value as the driver returns it (SQLite: ISO text), as a date."""
    if conn.dialect.name == "postgresql":
        return lambda value: value
    return _iso_day


@lru_cache(maxsize=8192)  # a full recompute reads 100,000 lines of a few hundred dates
def _iso_day(value: str | None) -> date | None:
    return None if value is None else date.fromisoformat(value[:10])
