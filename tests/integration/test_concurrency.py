"""Many clients at once on SQLite and PostgreSQL: no oversell, no lost update, no deadlock.

Every client is a thread using the App's one `uow` object (each `with` opens its own
connection). All clients are released by one barrier; a monitor reads the stock while
they run; at the end every invariant of DESIGN.md §3 is checked.
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from dataclasses import dataclass, field

import pytest

from backorder.adapters.db import raw
from backorder.adapters.db import uow as uow_module
from backorder.adapters.db.store import SqlStore
from backorder.domain.errors import Conflict, InsufficientStock, InvalidInput, ShipmentNotAllowed
from backorder.domain.model import BackorderPolicy, Product, Tier
from backorder.service import catalog, orders, queries, stock
from tests.integration.test_b01_b02_concurrent import JOIN_TIMEOUT, together

EXPECTED_REFUSALS = (InsufficientStock, InvalidInput, ShipmentNotAllowed)
CLIENTS = 16
STEPS = 12  # commands per client: 192 in all, a few seconds on either database

HOT, A, B = "HOT", "A", "B"
SPREAD = tuple(f"S{n:02d}" for n in range(8))
HOT_BACKORDER_LIMIT = 12
# sku: (policy, backorder limit, units on hand at the start)
CATALOG = {
    HOT: (BackorderPolicy.ALLOW, HOT_BACKORDER_LIMIT, 20),
    A: (BackorderPolicy.ALLOW, None, 10),
    B: (BackorderPolicy.ALLOW, None, 10),
    **{sku: (BackorderPolicy.DENY, 0, 5) for sku in SPREAD},
}


@pytest.fixture
def retries(monkeypatch) -> list[str]:
    """Every lock conflict the unit of work turned into a retry (deadlocks included)."""
    seen: list[str] = []
    is_retryable = uow_module._is_retryable

    def recording(exc: BaseException) -> bool:
        if is_retryable(exc):
            code = getattr(getattr(exc, "orig", None), "sqlstate", None)
            seen.append(f"{code}: {str(exc).splitlines()[0]}")
            return True
        return False

    monkeypatch.setattr(uow_module, "_is_retryable", recording)
    return seen


def test_one_unit_of_work_object_gives_each_thread_its_own_connection(any_app):
    reader = any_app.uow.reader()
    both_inside = threading.Barrier(2, timeout=10)
    stores = []

    def look() -> None:
        with reader:
            both_inside.wait()
            stores.append(reader.store)
            both_inside.wait()

    together([look, look])

    assert len({id(store) for store in stores}) == 2
    assert stores[0].conn is not stores[1].conn


def test_orders_naming_two_skus_in_opposite_orders_never_deadlock(any_app, clock, retries):
    """16 clients × 4 orders, half listing [B, A] and half [A, B], with cancels between:
    the locks are always taken A then B, so no transaction ever waits in a cycle."""
    now = clock()
    setup_catalog(any_app, now, {A: CATALOG[A], B: CATALOG[B]})
    people = setup_customers(any_app, now, CLIENTS)

    def client(index: int):
        pair = [A, B] if index % 2 else [B, A]
        cmd = orders.PlaceOrder(people[index], [orders.OrderLineIn(sku, 1) for sku in pair])

        def run() -> list[int]:
            placed = [orders.place_order(any_app.uow, cmd, now).id for _ in range(4)]
            for order_id in placed[::2]:
                orders.cancel_order(any_app.uow, order_id, now)
            return placed

        return run

    results = together([client(index) for index in range(CLIENTS)])

    assert [r for r in results if isinstance(r, Exception)] == []
    assert retries == []  # not even one deadlock to retry
    for sku in (A, B):  # 64 ordered, 32 cancelled: 32 wait for or hold the 10 units
        [row] = queries.stock(any_app.uow, sku)
        assert (row.on_hand, row.allocated) == (10, 10)
        assert line_totals(any_app, sku) == {"allocated": 10, "backordered": 22, "cancelled": 32}
    assert queries.check(any_app.uow) == []


def test_a_deadlock_from_locks_taken_in_opposite_orders_is_retried_until_both_succeed(
    pg_app, clock, retries, monkeypatch
):
    """The control for the test above: break the lock order on purpose and PostgreSQL
    finds the cycle; the runner then retries the victim, so both checkouts succeed."""
    now = clock()
    setup_catalog(pg_app, now, {A: CATALOG[A], B: CATALOG[B]})
    ann, bob = setup_customers(pg_app, now, 2)
    halfway, mode = threading.Barrier(2, timeout=10), threading.local()

    def lock_in_the_callers_order(self, skus) -> None:
        # on the driver's cursor, as the store locks: its errors must be retried too
        for sku in sorted(skus, reverse=mode.reverse):
            raw.fetchall(self.conn, "SELECT sku FROM products WHERE sku = ? FOR UPDATE", (sku,))
            if not getattr(mode, "waited", False):  # first attempt: both hold one lock
                mode.waited = True
                halfway.wait()

    def checkout(customer_id: int, reverse: bool):
        cmd = orders.PlaceOrder(customer_id, [orders.OrderLineIn(A, 1), orders.OrderLineIn(B, 1)])

        def run():
            mode.reverse = reverse
            return orders.place_order(pg_app.uow, cmd, now)

        return run

    monkeypatch.setattr(SqlStore, "lock_skus", lock_in_the_callers_order)
    results = together([checkout(ann, False), checkout(bob, True)])

    assert [type(r).__name__ for r in results] == ["OrderView", "OrderView"]
    assert [r.split(":")[0] for r in retries] == ["40P01"]  # one deadlock, retried once
    for sku in (A, B):
        assert [(s.on_hand, s.allocated) for s in queries.stock(pg_app.uow, sku)] == [(10, 2)]
    assert queries.check(pg_app.uow) == []


def test_sixteen_clients_ordering_receiving_cancelling_and_editing_keep_every_invariant(
    any_app, clock, retries
):
    """16 clients × 12 commands: orders for HOT (20 on hand, at most 12 may wait), for
    A and B listed in opposite orders, and for 8 SKUs without backorders (5 on hand each);
    receipts, cancels, line cancels, quantity edits and shipments in between."""
    now = clock()
    setup_catalog(any_app, now, CATALOG)
    people = setup_customers(any_app, now, CLIENTS)
    clients = [Client(any_app.uow, now, index, people[index]) for index in range(CLIENTS)]
    monitor = StockMonitor(any_app.uow)

    monitor.start()
    outcomes = together([client.run for client in clients])
    monitor.stop()

    assert [o for o in outcomes if o is not None] == []  # every client ended normally
    assert [u for c in clients for u in c.unexpected] == []  # only domain refusals
    ops = sum((c.ops for c in clients), Counter())
    assert set(ops) == set(Client.KINDS) and ops.total() == CLIENTS * STEPS
    assert sum((c.refusals for c in clients), Counter())["InsufficientStock"] > 0
    assert [r for r in retries if r.startswith("40P01") or "locked" in r] == []  # no deadlock
    assert monitor.samples > 0 and monitor.breaches == []  # never negative, at any moment
    received = Counter({sku: units for sku, (_, _, units) in CATALOG.items()})
    received.update(sum((c.received for c in clients), Counter()))
    assert_stock_adds_up(any_app, received)
    assert sum_backordered(any_app, HOT) <= HOT_BACKORDER_LIMIT
    assert idle_units_while_lines_wait(any_app) == {}
    assert queries.check(any_app.uow) == []


# -- the clients ----------------------------------------------------------------------------


@dataclass
class Client:
    """One customer's session: a seeded mix of commands, bounded in count."""

    KINDS = ("hot", "pair", "spread", "receive", "cancel", "cancel_line", "edit", "ship")

    uow: object
    now: object
    index: int
    customer_id: int
    ops: Counter = field(default_factory=Counter)
    refusals: Counter = field(default_factory=Counter)
    received: Counter = field(default_factory=Counter)
    unexpected: list[str] = field(default_factory=list)
    mine: list[int] = field(default_factory=list)

    def run(self) -> None:
        rng = random.Random(7919 * (self.index + 1))
        for step in range(STEPS):
            kind = self.KINDS[step % len(self.KINDS)] if step < 8 else rng.choice(self.KINDS)
            self.ops[kind] += 1
            try:
                getattr(self, kind)(rng, step)
            except EXPECTED_REFUSALS as refusal:
                self.refusals[type(refusal).__name__] += 1
            except Exception as error:  # anything else fails the test, with its story
                self.unexpected.append(f"client {self.index} {kind}: {error!r}")

    def place(self, lines: list[tuple[str, int]]) -> None:
        cmd = orders.PlaceOrder(self.customer_id, [orders.OrderLineIn(s, q) for s, q in lines])
        self.mine.append(orders.place_order(self.uow, cmd, self.now).id)

    def hot(self, rng, step) -> None:
        self.place([(HOT, rng.randint(1, 3))])

    def pair(self, rng, step) -> None:
        lines = [(B, rng.randint(1, 2)), (A, rng.randint(1, 2)), (HOT, 1)]
        self.place(lines if self.index % 2 else lines[::-1])

    def spread(self, rng, step) -> None:
        self.place([(rng.choice(SPREAD), rng.randint(1, 3)), (rng.choice(SPREAD), 1)])

    def receive(self, rng, step) -> None:
        sku, units = rng.choice((HOT, HOT, A, B, *SPREAD)), rng.randint(1, 4)
        reference = f"receipt {self.index}-{step}"
        stock.receive_stock(self.uow, sku, "main", units, self.now, reference=reference)
        self.received[sku] += units

    def an_order(self, rng) -> orders.OrderView | None:
        return queries.order(self.uow, rng.choice(self.mine)) if self.mine else None

    def cancel(self, rng, step) -> None:
        if order := self.an_order(rng):
            try:
                orders.cancel_order(self.uow, order.id, self.now)
            except Conflict as refusal:  # another client shipped all of it first: refused
                assert "has shipped in full" in refusal.message, refusal
                self.refusals["ShippedInFull"] += 1

    def cancel_line(self, rng, step) -> None:
        if order := self.an_order(rng):
            line = rng.choice(order.lines)
            try:
                orders.cancel_line(self.uow, order.id, line.id, self.now)
            except Conflict as refusal:  # the line shipped in full: refused, as for an order
                assert "has shipped in full" in refusal.message, refusal
                self.refusals["ShippedInFull"] += 1

    def edit(self, rng, step) -> None:
        if order := self.an_order(rng):
            line = rng.choice(order.lines)
            new_qty = max(1, line.qty + rng.choice((-1, 1, 2)))
            orders.change_line_qty(self.uow, order.id, line.id, new_qty, self.now)

    def ship(self, rng, step) -> None:
        if order := self.an_order(rng):
            orders.ship_order(self.uow, order.id, self.now)


class StockMonitor:
    """Reads every stock row again and again while the clients run."""

    def __init__(self, uow) -> None:
        self.uow = uow
        self.samples = 0
        self.breaches: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=JOIN_TIMEOUT)
        assert not self._thread.is_alive(), "the stock monitor hangs"

    def _watch(self) -> None:
        while not self._stop.is_set():
            for row in queries.stock(self.uow):
                if not 0 <= row.allocated <= row.on_hand:
                    self.breaches.append(f"{row.sku}: {row.on_hand}/{row.allocated}")
            self.samples += 1
            time.sleep(0.005)


# -- setup and sums -------------------------------------------------------------------------


def setup_catalog(app, now, products: dict) -> None:
    for sku, (policy, limit, units) in products.items():
        catalog.save_product(app.uow, Product(sku, sku, 1000, "EUR", policy, limit), now)
        stock.receive_stock(app.uow, sku, "main", units, now, reference=f"initial {sku}")


def setup_customers(app, now, count: int) -> list[int]:
    tiers = (Tier.STANDARD, Tier.PRIORITY, Tier.CRITICAL)
    return [
        catalog.create_customer(app.uow, catalog.CustomerIn(f"C{n}", tier=tiers[n % 3]), now).id
        for n in range(count)
    ]


def all_lines(app):
    return [line for order in queries.orders(app.uow, limit=100_000) for line in order.lines]


def line_totals(app, sku: str) -> dict[str, int]:
    lines = [line for line in all_lines(app) if line.sku == sku]
    return {
        part: sum(getattr(line, part) for line in lines)
        for part in ("allocated", "backordered", "cancelled")
    }


def sum_backordered(app, sku: str) -> int:
    return line_totals(app, sku)["backordered"]


def assert_stock_adds_up(app, received: Counter) -> None:
    """on_hand = received − shipped, and shipped + allocated never exceeds received."""
    shipped = Counter()
    for line in all_lines(app):
        shipped[line.sku] += line.shipped
    for row in queries.stock(app.uow):
        assert 0 <= row.allocated <= row.on_hand, row
        assert row.on_hand == received[row.sku] - shipped[row.sku], row
        assert shipped[row.sku] + row.allocated <= received[row.sku], row


def idle_units_while_lines_wait(app) -> dict[str, int]:
    """SKUs with free units and a non-empty queue: a receipt or cancel forgot the queue."""
    idle = {}
    for row in queries.stock(app.uow):
        if row.on_hand > row.allocated and queries.queue(app.uow, row.sku):
            idle[row.sku] = row.on_hand - row.allocated
    return idle


def test_deliveries_racing_orders_on_the_same_skus_hand_out_every_unit_once(
    any_app, clock, retries
):
    """8 clients order A and B (both listed in either order) while 8 receive deliveries of A
    and B (lines in either order): every delivery locks its SKUs in SKU order as orders do,
    so nothing deadlocks; afterwards every received unit is on hand, allocated units never
    pass on hand, and each line's parts add up (queries.check)."""
    from backorder.service import deliveries

    now = clock()
    setup_catalog(any_app, now, {A: CATALOG[A], B: CATALOG[B]})
    people = setup_customers(any_app, now, CLIENTS)

    def orderer(index: int):
        pair = [A, B] if index % 2 else [B, A]
        cmd = orders.PlaceOrder(people[index], [orders.OrderLineIn(sku, 2) for sku in pair])
        return lambda: [orders.place_order(any_app.uow, cmd, now).id for _ in range(3)]

    def receiver(index: int):
        pair = [A, B] if index % 2 else [B, A]
        note = [deliveries.DeliveryLine(sku, "main", 1 + index % 3) for sku in pair]
        return lambda: [
            deliveries.receive_delivery(any_app.uow, note, now, f"DN-{index}-{n}") for n in range(3)
        ]

    calls = [orderer(i) if i % 2 else receiver(i) for i in range(CLIENTS)]
    results = together(calls)

    assert [r for r in results if isinstance(r, Exception)] == []
    assert [r for r in retries if r.startswith("40P01")] == []  # no deadlock
    received = sum(3 * (1 + i % 3) for i in range(0, CLIENTS, 2))  # per SKU
    for sku in (A, B):
        [row] = queries.stock(any_app.uow, sku)
        demand = 2 * 3 * (CLIENTS // 2)
        assert row.on_hand == CATALOG[sku][2] + received
        assert row.allocated == min(row.on_hand, demand)  # no unit idle while a line waits
    assert queries.check(any_app.uow) == []
