"""Rows written on the driver's cursor must read back as SQLAlchemy's own: same text form of
times in SQLite (its text order is time order), same values on the way back."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from sqlalchemy import create_engine
from sqlalchemy.dialects import sqlite

from backorder.adapters.db import raw

TIMES = [
    datetime(2026, 12, 3, 9, 0, tzinfo=UTC),  # no microseconds: still written with them
    datetime(2026, 12, 3, 9, 0, 0, 1, tzinfo=UTC),
    datetime(2026, 12, 3, 23, 30, tzinfo=timezone(timedelta(hours=-5))),  # next day in UTC
]


@pytest.fixture
def conn():
    engine = create_engine("sqlite://")
    with engine.connect() as conn:
        yield conn


def test_times_are_written_as_sqlalchemy_writes_them_in_sqlite(conn):
    ours = raw.utc_param(conn)
    theirs = sqlite.DATETIME().bind_processor(sqlite.dialect())
    for moment in TIMES:
        naive = moment.astimezone(UTC).replace(tzinfo=None)
        assert ours(moment) == theirs(naive)
    assert ours(TIMES[2]) == "2026-12-04 04:30:00.000000"
    assert sorted(map(ours, TIMES)) == [ours(t) for t in sorted(TIMES)]


def test_times_and_dates_read_back_as_they_went_in(conn):
    write, read, day = raw.utc_param(conn), raw.utc_value(conn), raw.date_param(conn)
    for moment in TIMES:
        assert read(write(moment)) == moment
    assert (write(None), read(None), day(None)) == (None, None, None)
    assert day(date(2026, 1, 2)) == "2026-01-02"


def test_a_naive_time_is_refused(conn):
    with pytest.raises(ValueError, match="naive"):
        raw.utc_param(conn)(datetime(2026, 12, 3, 9, 0))


def test_statements_run_in_the_callers_transaction(conn):
    conn.exec_driver_sql("CREATE TABLE t (x INTEGER)")
    conn.commit()
    transaction = conn.begin()
    raw.executemany(conn, "INSERT INTO t (x) VALUES (?)", [(1,), (2,)])
    assert raw.fetchall(conn, "SELECT sum(x) FROM t WHERE x > ?", (0,)) == [(3,)]
    transaction.rollback()
    assert raw.fetchall(conn, "SELECT count(*) FROM t") == [(0,)]


def test_the_logged_priority_key_is_what_json_dumps_writes():
    from backorder.service.allocating import _iso, key_json

    keys = [
        (0, 2, 1, TIMES[0], TIMES[1], 7),
        (-3, 0, 0, TIMES[2], TIMES[2], 123456789),
        (4, 1, 1, TIMES[1].replace(microsecond=999999), TIMES[0], 1),
    ]
    for key in keys:
        assert key_json(key) == json.dumps(key, default=_iso)
    assert key_json([1, "x"]) == '[1, "x"]'  # any other key: json.dumps itself


def test_a_logged_line_shows_the_same_times_in_its_key_and_its_words():
    """log_row formats each time once and reuses it for the key and the words."""
    from backorder.domain.allocation import Grant, WaitingLine, describe_key, priority_key
    from backorder.domain.model import PaidPriority, Tier
    from backorder.service.allocating import _iso, log_row

    asked = WaitingLine(7, 3, "A", 2, Tier.CRITICAL, PaidPriority.NORMAL, TIMES[1], TIMES[0], -1)
    unasked = WaitingLine(8, 4, "A", 2, Tier.STANDARD, PaidPriority.EXPEDITED, TIMES[0], TIMES[0])
    for line in (asked, unasked):
        grant = Grant(line.line_id, line.order_id, "main", 1, priority_key(line), None)
        row = log_row("A", grant, line, "receipt", "R-1", TIMES[0])
        assert row.priority_key == json.dumps(priority_key(line), default=_iso)
        assert row.reason == f"1 unit(s) by receipt; {describe_key(line)}"
    assert f"due {TIMES[1].date()}, ordered {TIMES[0].date()}" in describe_key(asked)


def test_driver_errors_surface_as_sqlalchemys(conn):
    """The unit of work retries conflicts by SQLAlchemy's classes: a raw statement's error
    must be one of them (a deadlock on the driver's cursor went unretried before)."""
    from sqlalchemy.exc import IntegrityError, OperationalError

    conn.exec_driver_sql("CREATE TABLE u (x INTEGER UNIQUE)")
    conn.commit()
    raw.executemany(conn, "INSERT INTO u (x) VALUES (?)", [(1,)])
    with pytest.raises(IntegrityError):
        raw.executemany(conn, "INSERT INTO u (x) VALUES (?)", [(1,)])
    with pytest.raises(OperationalError):
        raw.fetchall(conn, "SELECT nope FROM u")


def test_grant_payload_is_the_json_text_json_dumps_writes():
    """Allocation events build their payload text directly; it must be what json.dumps with
    sorted keys writes, odd SKUs included, so readers see one form."""
    from backorder.service.allocating import grant_payload

    lines = {(7, "A-1"): 3, (9, 'say "hi"'): 1, (12, "çay/ÇAY"): 12_000}
    payload = {
        "order_id": 42,
        "lines": [{"line_id": lid, "sku": sku, "allocated": q} for (lid, sku), q in lines.items()],
    }
    text = grant_payload(42, lines, {})
    assert text == json.dumps(payload, sort_keys=True)
    assert json.loads(text)["lines"][1]["sku"] == 'say "hi"'
