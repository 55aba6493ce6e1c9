"""Order intake on PostgreSQL with 1, 4 and 16 concurrent clients, as a ratio to a raw psycopg
loop issuing the same statements with the same number of clients, measured in the same run.

One PostgreSQL server: $BACKORDER_BENCH_PG_URL (an admin URL: fresh databases are created
and dropped in it) or a throwaway server started with tests.pg.PgServer (fsync off, as in
the tests: the figures are CPU and locking, not disk). Every client is a thread with its own
connection; the service's clients share its engine's pool. The catalog and order mix are
bench/intake.py's (one-line orders, 60 % for plentiful SKUs, 40 % for SKUs that run short
and go on backorder), so 16 clients contend for the same 100 product rows.

The raw loop mirrors what `place_order` issues on PostgreSQL (logged with echo): the
customer, the SKU lock (SELECT ... FOR UPDATE on the product row), the product, the
queue-first stock read, the customer's own holds, the position, the order, the line, the
stock update and holding per warehouse taken, the allocation log, the events, the SKU's
promises when the line waits, the order read back, commit. A traced single-client run checks
that both issue the same number of statements of each kind; afterwards each database must
hold the same allocated and backordered units per SKU, and the service's must pass
`queries.check`.

`python -m bench.postgres [--quick]`; `run(quick)` returns the printed lines.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import psycopg
from sqlalchemy import event

from backorder.bootstrap import App, build
from backorder.config import Settings
from backorder.service import orders, queries

from . import seed
from .intake import CUSTOMERS, PLENTY, SHORT_STOCK, order_specs, plentiful_skus, short_skus

CLIENTS = (1, 4, 16)
FULL_ORDERS = 2_000  # per client count, per side
QUICK_ORDERS = 800
TRACED_ORDERS = 100
TIMEZONE = "Europe/Istanbul"
START = datetime(2026, 12, 3, 9, 0)  # naive UTC, as the service stores it


# -- the server and its databases --------------------------------------------------------------


@contextmanager
def pg_admin_url():
    url = os.environ.get("BACKORDER_BENCH_PG_URL")
    if url:
        yield url
        return
    from tests.pg import PgServer

    server = PgServer()
    try:
        yield server.url
    finally:
        server.stop()


@contextmanager
def fresh_database(admin_url: str):
    from tests.pg import fresh_database as create

    url, drop = create(admin_url)
    try:
        yield url
    finally:
        drop()


def libpq_url(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://")


class Qmark:
    """seed.py's `?` statements on a psycopg connection."""

    def __init__(self, conn: psycopg.Connection) -> None:
        self.conn = conn

    def execute(self, sql: str, params: Sequence = ()):
        return self.conn.execute(sql.replace("?", "%s"), params)

    def executemany(self, sql: str, rows: Sequence) -> None:
        with self.conn.cursor() as cur:
            cur.executemany(sql.replace("?", "%s"), rows)


def prepare(url: str) -> None:
    """The schema (the service's migrations) and bench/intake.py's catalog and stock."""
    build(Settings(database_url=url, shop_timezone=TIMEZONE)).close()
    stamp = START.replace(tzinfo=UTC)
    with psycopg.connect(libpq_url(url)) as conn:
        q = Qmark(conn)
        seed.add_warehouse(q, "east", 1)
        seed.add_products(q, plentiful_skus() + short_skus(), stamp)
        seed.add_customers(q, CUSTOMERS, random.Random(11), stamp)
        levels = [(sku, "main", PLENTY) for sku in plentiful_skus()]
        levels += [(sku, wh, qty) for sku in short_skus() for wh, qty in SHORT_STOCK.items()]
        seed.add_stock(q, levels, stamp)
        conn.execute("SELECT setval(pg_get_serial_sequence('customers', 'id'), %s)", (CUSTOMERS,))


# -- the raw loop ------------------------------------------------------------------------------

SELECT_CUSTOMER = (
    "SELECT customers.id, customers.external_id, customers.name, customers.email, "
    "customers.tier, customers.default_fulfilment, customers.locale, customers.created_at "
    "FROM customers WHERE customers.id = %s"
)
LOCK_SKU = (
    "SELECT products.sku FROM products WHERE products.sku IN (%s) ORDER BY products.sku FOR UPDATE"
)
PRODUCT_COLUMNS = (
    "sku, name, price_minor, currency, backorder_policy, backorder_limit, release_at, "
    "created_at, updated_at, lead_time_days, safety_stock, preferred_supplier_id, max_wait_days"
)
SELECT_PRODUCTS = f"SELECT {PRODUCT_COLUMNS} FROM products WHERE products.sku IN (%s)"
SELECT_PRODUCT = f"SELECT {PRODUCT_COLUMNS} FROM products WHERE products.sku = %s"
SELECT_STOCK = (
    "SELECT stock.sku, stock.warehouse, stock.on_hand, stock.allocated, warehouses.rank "
    "FROM stock JOIN warehouses ON warehouses.code = stock.warehouse WHERE stock.sku = %s "
    "ORDER BY warehouses.rank, warehouses.code"
)
SELECT_WAITING = (
    "SELECT l.id, l.order_id, l.backordered, c.tier, o.paid_priority, o.requested_date, "
    "o.placed_at, l.priority_override FROM order_lines l JOIN orders o ON o.id = l.order_id "
    "JOIN customers c ON c.id = o.customer_id WHERE l.sku = %s AND l.backordered > %s"
)
SELECT_OWN_SUBSCRIPTIONS = (
    "SELECT w.id AS sid, w.status, h.id, h.subscription_id, h.customer_id, h.sku, h.warehouse, "
    "h.qty, h.status, h.created_at, h.expires_at, h.closed_at, h.order_id "
    "FROM waitlist_subscriptions w LEFT OUTER JOIN stock_holds h "
    "ON h.subscription_id = w.id AND h.status = %s WHERE w.customer_id = %s AND w.sku IN (%s) "
    "AND w.status IN (%s, %s) ORDER BY w.id"
)
INSERT_ORDER = (
    "INSERT INTO orders (external_ref, customer_id, fulfilment, paid_priority, requested_date, "
    "placed_at, channel, currency) VALUES (%s, %s, %s, %s, %s, %s, %s, %s) RETURNING orders.id"
)
INSERT_LINE = (
    "INSERT INTO order_lines (order_id, line_no, sku, qty, allocated, backordered, shipped, "
    "cancelled, unit_price_minor) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s) "
    "RETURNING order_lines.id"
)
TAKE_STOCK = (
    "UPDATE stock SET on_hand = (stock.on_hand + %s), allocated = (stock.allocated + %s) "
    "WHERE stock.sku = %s AND stock.warehouse = %s RETURNING stock.on_hand"
)
UPSERT_HOLDING = (
    "INSERT INTO line_allocations (line_id, warehouse, sku, qty) VALUES (%s, %s, %s, %s) "
    "ON CONFLICT (line_id, warehouse) DO UPDATE SET qty = line_allocations.qty + excluded.qty"
)
LOG_COLUMNS = (
    "sku, warehouse, line_id, order_id, qty, cause, reference, priority_key, reason, "
    "ahead_of_line_id, created_at"
)
INSERT_LOG = (
    f"INSERT INTO allocation_log ({LOG_COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, "
    "%s, %s)"
)
INSERT_EVENT = (
    "INSERT INTO events (kind, order_id, sku, payload, created_at) VALUES (%s, %s, %s, %s, %s)"
)
SELECT_LEAD_TIME = (
    "SELECT products.lead_time_days, suppliers.lead_time_days AS preferred FROM products "
    "LEFT OUTER JOIN suppliers ON suppliers.id = products.preferred_supplier_id "
    "WHERE products.sku = %s"
)
SELECT_OPEN_SUPPLY = (
    "SELECT po_lines.id, po_lines.expected_date, (po_lines.qty - po_lines.received) - "
    "po_lines.cancelled AS open FROM po_lines JOIN purchase_orders ON purchase_orders.id = "
    "po_lines.po_id WHERE po_lines.sku = %s AND purchase_orders.status IN (%s, %s) AND "
    "(po_lines.qty - po_lines.received) - po_lines.cancelled > %s"
)
SELECT_PROMISES = (
    "SELECT id, order_id, promised_date, promise_basis, promise_po_line_id, first_promised_date "
    "FROM order_lines WHERE order_lines.sku = %s AND order_lines.backordered > %s"
)
SET_PROMISE = (
    "UPDATE order_lines SET promised_date = %s, promise_basis = %s, promise_po_line_id = %s, "
    "first_promised_date = coalesce(order_lines.first_promised_date, %s), "
    "promise_changes = (order_lines.promise_changes + %s) WHERE order_lines.id = %s"
)
SELECT_ORDER = (
    "SELECT id, external_ref, customer_id, fulfilment, paid_priority, requested_date, "
    "placed_at, channel, currency FROM orders WHERE orders.id = %s"
)
SELECT_HOLDINGS = (
    "SELECT la.line_id, la.warehouse, la.qty FROM line_allocations la "
    "JOIN order_lines l ON l.id = la.line_id JOIN warehouses w ON w.code = la.warehouse "
    "WHERE l.order_id = %s AND la.qty > %s ORDER BY w.rank, w.code"
)
SELECT_LINES = (
    "SELECT id, order_id, line_no, sku, qty, allocated, backordered, shipped, cancelled, "
    "unit_price_minor, promised_date, promise_basis, promise_po_line_id, first_promised_date, "
    "promise_changes, priority_override FROM order_lines WHERE order_id = %s ORDER BY line_no"
)


def place_raw(conn: psycopg.Connection, customer_id: int, sku: str, qty: int, now: datetime):
    """A one-line `place_order` (ship_partial, no limit, no waitlist, no POs) in psycopg."""
    ex = conn.execute
    customer = ex(SELECT_CUSTOMER, (customer_id,)).fetchone()
    ex(LOCK_SKU, (sku,)).fetchall()
    product = ex(SELECT_PRODUCTS, (sku,)).fetchone()
    stock = ex(SELECT_STOCK, (sku,)).fetchall()  # queue first
    if any(on_hand > allocated for _, _, on_hand, allocated, _ in stock):
        assert not ex(SELECT_WAITING, (sku, 0)).fetchall(), "idle units and a queue: not mirrored"
    own = ex(SELECT_OWN_SUBSCRIPTIONS, ("active", customer_id, sku, "waiting", "held")).fetchall()
    assert not own and product[5] is None and customer[5] == "ship_partial", "not mirrored"
    stock = ex(SELECT_STOCK, (sku,)).fetchall()
    takes, left = [], qty
    for _, warehouse, on_hand, allocated, _ in stock:
        units = min(left, max(0, on_hand - allocated))
        if units:
            takes.append((warehouse, units))
            left -= units
    allocated = qty - left
    order_id = ex(
        INSERT_ORDER, (None, customer_id, customer[5], "normal", None, now, "api", product[3])
    ).fetchone()[0]
    line = (order_id, 1, sku, qty, allocated, left, 0, 0, product[2])
    line_id = ex(INSERT_LINE, line).fetchone()[0]
    for warehouse, units in takes:
        ex(TAKE_STOCK, (0, units, sku, warehouse)).fetchone()
        ex(UPSERT_HOLDING, (line_id, warehouse, sku, units))
    logs = [
        (
            sku,
            wh,
            line_id,
            order_id,
            units,
            "order",
            None,
            None,
            f"{units} unit(s) by order",
            None,
            now,
        )
        for wh, units in takes
    ]
    _insert_rows(conn, INSERT_LOG, logs)
    facts = {
        "line_id": line_id,
        "sku": sku,
        "qty": qty,
        "allocated": allocated,
        "backordered": left,
        "cancelled": 0,
        "preorder": False,
        "notify_at_checkout": product[4] == "allow_notify",
    }
    placed = {"order_id": order_id, "customer_id": customer_id, "lines": [facts]}
    events = [("order_placed", order_id, None, _payload(placed), now)]
    if left:
        events.append(
            ("order_backordered", order_id, None, _payload(dict(placed, backordered=left)), now)
        )
    _insert_rows(conn, INSERT_EVENT, events)
    if left:
        _repromise(conn, sku, now)
    ex(SELECT_ORDER, (order_id,)).fetchone()
    ex(SELECT_HOLDINGS, (order_id, 0)).fetchall()
    ex(SELECT_LINES, (order_id,)).fetchall()
    conn.commit()


def _insert_rows(conn: psycopg.Connection, sql: str, rows: list[tuple]) -> None:
    """One row: INSERT ... RETURNING id, as SQLAlchemy issues it; more: one executemany."""
    if len(rows) == 1:
        conn.execute(sql + " RETURNING id", rows[0]).fetchone()
    elif rows:
        with conn.cursor() as cur:
            cur.executemany(sql, rows)


def _payload(value: dict) -> str:
    return json.dumps(value, sort_keys=True, default=str)


def _repromise(conn: psycopg.Connection, sku: str, now: datetime) -> None:
    """Every waiting line of the SKU is promised today + lead time (no free stock, no POs)."""
    ex = conn.execute
    ex(SELECT_PRODUCT, (sku,)).fetchone()
    waiting = ex(SELECT_WAITING, (sku, 0)).fetchall()
    stock = ex(SELECT_STOCK, (sku,)).fetchall()
    lead_days = ex(SELECT_LEAD_TIME, (sku,)).fetchone()[0]
    incoming = ex(SELECT_OPEN_SUPPLY, (sku, "sent", "partially_received", 0)).fetchall()
    assert lead_days is not None and not incoming, "not mirrored"
    assert all(on_hand <= allocated for _, _, on_hand, allocated, _ in stock), "not mirrored"
    local = now.replace(tzinfo=UTC).astimezone(ZoneInfo(TIMEZONE)).date()
    promised = local + timedelta(days=lead_days)
    current = {row[0]: row for row in ex(SELECT_PROMISES, (sku, 0)).fetchall()}
    changed = []
    for line in waiting:
        _, _, old_date, old_basis, old_po, _ = current[line[0]]
        if (old_date, old_basis, old_po) != (promised, "lead_time", None):
            assert old_date is None, "a moved promise is not mirrored"
            changed.append((promised, "lead_time", None, promised, 0, line[0]))
    if len(changed) == 1:
        ex(SET_PROMISE, changed[0])
    elif changed:
        with conn.cursor() as cur:
            cur.executemany(SET_PROMISE, changed)


# -- the clients -------------------------------------------------------------------------------


def order_time(index: int) -> datetime:
    return START + timedelta(seconds=index)


def in_threads(clients: int, work: Sequence, make_worker: Callable[[], Callable]) -> float:
    """Seconds for `clients` threads to do `work` between them (item k to thread k % clients)."""
    workers = [make_worker() for _ in range(clients)]
    errors: list[BaseException] = []
    barrier = threading.Barrier(clients + 1)

    def client(n: int) -> None:
        barrier.wait()
        try:
            for item in work[n::clients]:
                workers[n](item)
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    for thread in threads:
        thread.start()
    barrier.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - started
    for worker in workers:
        getattr(worker, "close", lambda: None)()
    if errors:
        raise errors[0]
    return seconds


class RawClient:
    def __init__(self, url: str) -> None:
        self.conn = psycopg.connect(libpq_url(url))

    def __call__(self, item) -> None:
        index, spec = item
        place_raw(self.conn, spec.customer_id, spec.sku, spec.qty, order_time(index))

    def close(self) -> None:
        self.conn.close()


def service_worker(app: App) -> Callable:
    def place(item) -> None:
        index, spec = item
        line = orders.OrderLineIn(spec.sku, spec.qty)
        cmd = orders.PlaceOrder(spec.customer_id, [line])
        orders.place_order(app.uow, cmd, order_time(index).replace(tzinfo=UTC))

    return place


def service_app(url: str, _clients: int) -> App:
    app = build(Settings(database_url=url, shop_timezone=TIMEZONE), clock=lambda: START)
    return app


# -- checks ------------------------------------------------------------------------------------


def units_by_sku(url: str) -> dict:
    with psycopg.connect(libpq_url(url)) as conn:
        return {
            row[0]: row[1:]
            for row in conn.execute(
                "SELECT sku, count(*), sum(qty), sum(allocated), sum(backordered) "
                "FROM order_lines GROUP BY sku ORDER BY sku"
            )
        }


def counting(counts: Counter) -> type[psycopg.Cursor]:
    """A cursor class that counts what goes to the server, by first keyword (not the pool's
    liveness ping, `;`, on checkout)."""

    def count(sql) -> None:
        if str(sql).strip() != ";":
            counts.update([str(sql).split(None, 1)[0].upper()])

    class Cursor(psycopg.Cursor):
        def execute(self, sql, *args, **kw):
            count(sql)
            return super().execute(sql, *args, **kw)

        def executemany(self, sql, *args, **kw):
            count(sql)
            return super().executemany(sql, *args, **kw)

    return Cursor


def assert_same_statements(admin_url: str) -> None:
    """A single-client run of TRACED_ORDERS orders: the same statements of each kind."""
    numbered = list(enumerate(order_specs(TRACED_ORDERS)))
    with fresh_database(admin_url) as service_url, fresh_database(admin_url) as raw_url:
        prepare(service_url)
        prepare(raw_url)
        service_counts, raw_counts = Counter(), Counter()
        app = service_app(service_url, 1)
        # on the driver's connections: the service also runs statements on the raw cursor
        event.listen(
            app.engine,
            "connect",
            lambda dbapi, _record: setattr(dbapi, "cursor_factory", counting(service_counts)),
        )
        app.engine.dispose()
        place = service_worker(app)
        for item in numbered:
            place(item)
        app.close()
        raw = RawClient(raw_url)
        Cursor = counting(raw_counts)
        raw.conn.cursor_factory = Cursor
        for item in numbered:
            raw(item)
        raw.close()
        assert service_counts == raw_counts, (
            f"the raw loop no longer issues what the service issues (update bench/postgres.py): "
            f"service {dict(service_counts)}, raw {dict(raw_counts)}"
        )
        assert units_by_sku(service_url) == units_by_sku(raw_url), "the two runs disagree"


def measure(admin_url: str, clients: int, count: int) -> tuple[float, float, int]:
    """(service orders/s, raw orders/s, retries-free check) for `clients` clients; the two
    sides take turns, half the orders at a time, so both see the same machine."""
    work = list(enumerate(order_specs(count)))
    halves = (work[: count // 2], work[count // 2 :])
    with fresh_database(admin_url) as service_url, fresh_database(admin_url) as raw_url:
        prepare(service_url)
        prepare(raw_url)
        app = service_app(service_url, clients)
        service_s = raw_s = 0.0
        for half in halves:
            raw_s += in_threads(clients, half, lambda: RawClient(raw_url))
            service_s += in_threads(clients, half, lambda: service_worker(app))
        breaches = queries.check(app.uow)
        app.close()
        assert breaches == [], breaches
        mine, theirs = units_by_sku(service_url), units_by_sku(raw_url)
        # with several clients the arrival order differs; the totals per SKU may not
        assert {k: v[:3] for k, v in mine.items()} == {k: v[:3] for k, v in theirs.items()}
        assert all(v[2] + v[3] == v[1] for v in mine.values())
        waiting = sum(v[3] for v in mine.values())
    return count / service_s, count / raw_s, waiting


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.1f} / {five:.1f} / {fifteen:.1f} on {os.cpu_count()} cores"


def run(quick: bool) -> list[str]:
    count = QUICK_ORDERS if quick else FULL_ORDERS
    lines = []
    with pg_admin_url() as admin_url:
        assert_same_statements(admin_url)
        for clients in CLIENTS:
            before = load()
            service, raw, _ = measure(admin_url, clients, count)
            lines.append(
                f"postgres intake, {clients} clients: service {service:,.0f} orders/s, raw "
                f"{raw:,.0f} orders/s, ratio {service / raw:.2f}"
                + (" (target >= 0.70)" if clients == 16 else "")
                + f"; {count:,} orders each; {before}"
            )
            print(lines[-1], flush=True)
    return lines


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.postgres", description=__doc__)
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_ORDERS} orders a count")
    run(parser.parse_args(argv).quick)


if __name__ == "__main__":
    main()
