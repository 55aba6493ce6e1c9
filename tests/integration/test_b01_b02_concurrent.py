"""B01 and B02: checkouts that really race for the last units, on SQLite and PostgreSQL.

"Concurrently" means every request is released by one `threading.Barrier` at the same
instant, and (for B01) that the second checkout is proven to stay outside the critical
section while the first is inside it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from sqlalchemy.exc import IntegrityError

from backorder.adapters.db.store import SqlStore
from backorder.adapters.db.uow import SqlUnitOfWork
from backorder.domain.errors import InsufficientStock
from backorder.domain.model import BackorderPolicy, Product
from backorder.service import catalog, orders, queries, stock
from backorder.service.views import OrderView

JOIN_TIMEOUT = 30  # seconds; a thread still running after this is a deadlock


def together(calls: list[Callable[[], object]]) -> list[object]:
    """Run the calls in as many threads, released at one instant; each result or exception.

    Daemon threads joined with a timeout: a deadlock fails the test instead of hanging it.
    """
    start = threading.Barrier(len(calls))
    results: list[object] = [None] * len(calls)

    def run(index: int) -> None:
        start.wait(timeout=JOIN_TIMEOUT)
        try:
            results[index] = calls[index]()
        except Exception as error:  # the test decides which errors were expected
            results[index] = error

    threads = [threading.Thread(target=run, args=(i,), daemon=True) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + JOIN_TIMEOUT
    for thread in threads:
        thread.join(timeout=max(0.0, deadline - time.monotonic()))
    stuck = sum(thread.is_alive() for thread in threads)
    assert stuck == 0, f"{stuck} of {len(threads)} threads still running after {JOIN_TIMEOUT} s"
    return results


def accepted(results: list[object]) -> list[OrderView]:
    return [r for r in results if isinstance(r, OrderView)]


def refused(results: list[object]) -> list[InsufficientStock]:
    return [r for r in results if isinstance(r, InsufficientStock)]


def seed(app, now, on_hand: int, policy=BackorderPolicy.DENY, limit: int | None = None) -> None:
    catalog.save_product(app.uow, Product("A", "Widget", 1000, "EUR", policy, limit), now)
    stock.receive_stock(app.uow, "A", "main", on_hand, now, reference="initial")


def customers(app, now, count: int) -> list[int]:
    return [
        catalog.create_customer(app.uow, catalog.CustomerIn(f"Customer {n}"), now).id
        for n in range(1, count + 1)
    ]


def order_a(app, now, customer_id: int, qty: int) -> Callable[[], OrderView]:
    cmd = orders.PlaceOrder(customer_id, [orders.OrderLineIn("A", qty)])
    return lambda: orders.place_order(app.uow, cmd, now)


def stock_of_a(app) -> tuple[int, int, int]:
    [row] = queries.stock(app.uow, "A")
    return row.on_hand, row.allocated, row.on_hand - row.allocated


def line_totals(app, sku: str) -> tuple[int, int]:
    """(allocated, backordered) summed over every order line of the SKU."""
    lines = [line for o in queries.orders(app.uow, limit=10_000) for line in o.lines]
    mine = [line for line in lines if line.sku == sku]
    return sum(line.allocated for line in mine), sum(line.backordered for line in mine)


# -- B01 ------------------------------------------------------------------------------------


def test_two_concurrent_orders_for_the_last_units_oversell_nothing(any_app, clock):
    now = clock()
    seed(any_app, now, on_hand=5)
    ann, bob = customers(any_app, now, 2)

    results = together([order_a(any_app, now, ann, 3), order_a(any_app, now, bob, 3)])

    assert len(accepted(results)) == 1
    [refusal] = refused(results)
    assert refusal.shortages[0].available == 2
    assert len(queries.orders(any_app.uow)) == 1  # the refused order left no record
    assert stock_of_a(any_app) == (5, 3, 2)
    assert line_totals(any_app, "A") == (3, 0)
    assert queries.check(any_app.uow) == []


def test_with_unlimited_backorders_both_racing_orders_are_taken_and_one_unit_waits(any_app, clock):
    now = clock()
    seed(any_app, now, on_hand=5, policy=BackorderPolicy.ALLOW, limit=None)
    ann, bob = customers(any_app, now, 2)

    results = together([order_a(any_app, now, ann, 3), order_a(any_app, now, bob, 3)])

    first, second = sorted(accepted(results), key=lambda o: o.id)
    assert (first.lines[0].allocated, first.lines[0].backordered) == (3, 0)
    assert (second.lines[0].allocated, second.lines[0].backordered) == (2, 1)
    assert stock_of_a(any_app) == (5, 5, 0)
    assert line_totals(any_app, "A") == (5, 1)
    [notice] = queries.events(any_app.uow, kind="order_backordered")
    assert notice.order_id == second.id
    assert queries.check(any_app.uow) == []


def test_the_sku_lock_keeps_the_second_checkout_out_until_the_first_commits(
    any_app, clock, monkeypatch
):
    """Inside the critical section (after the lock, before the commit) each checkout waits
    up to 1 s for the other. With the lock, the other can never arrive: the wait times
    out, the first commits, and only then does the second read the stock (2 left, not 5).
    """
    now = clock()
    seed(any_app, now, on_hand=5)
    ann, bob = customers(any_app, now, 2)
    seen = install_meeting_point(monkeypatch, timeout=1.0)

    results = together([order_a(any_app, now, ann, 3), order_a(any_app, now, bob, 3)])

    assert seen.rival_racing == [True, True]  # each time the other had begun already
    assert seen.met == [False, False]  # yet they were never both inside at once
    assert seen.available == [5, 2]  # the second read came after the first commit
    assert len(accepted(results)) == 1 and len(refused(results)) == 1
    assert stock_of_a(any_app) == (5, 3, 2)
    assert queries.check(any_app.uow) == []


def test_without_the_sku_lock_both_checkouts_would_read_the_same_stock(pg_app, clock, monkeypatch):
    """The control for the test above: it does detect two checkouts inside at once."""
    now = clock()
    seed(pg_app, now, on_hand=5)
    ann, bob = customers(pg_app, now, 2)
    seen = install_meeting_point(monkeypatch, timeout=10.0)
    monkeypatch.setattr(SqlStore, "lock_skus", lambda self, skus: None)

    results = together([order_a(pg_app, now, ann, 3), order_a(pg_app, now, bob, 3)])

    assert seen.rival_racing == [True, True]
    assert seen.met == [True, True]
    assert seen.available == [5, 5]
    # Only the CHECK constraint (allocated <= on_hand) stops the oversell, with a raw error.
    [failure] = [r for r in results if isinstance(r, Exception)]
    assert isinstance(failure, IntegrityError) and "allocated_within_on_hand" in str(failure)
    assert len(accepted(results)) == 1
    assert stock_of_a(pg_app) == (5, 3, 2)


class MeetingPoint:
    """Each checkout's first stock read (made under the SKU lock) waits there for the other.

    Before waiting, it makes sure the rival has already begun its own transaction, so the
    rival is racing for the lock (blocked in BEGIN IMMEDIATE or in SELECT ... FOR UPDATE).
    """

    def __init__(self, timeout: float) -> None:
        self.barrier = threading.Barrier(2, timeout=timeout)
        self.begun = 0
        self.changed = threading.Condition()
        self.rival_racing: list[bool] = []
        self.met: list[bool] = []
        self.available: list[int] = []
        self.thread = threading.local()

    def first_read(self, levels) -> None:
        self.available.append(sum(level.available for level in levels))
        with self.changed:  # both transactions begun: this one and the rival's
            self.rival_racing.append(self.changed.wait_for(lambda: self.begun >= 2, timeout=5))
        try:
            self.barrier.wait()
            self.met.append(True)
        except threading.BrokenBarrierError:
            self.met.append(False)


def install_meeting_point(monkeypatch, timeout: float) -> MeetingPoint:
    seen = MeetingPoint(timeout)
    read_stock, begin = SqlStore.stock_levels, SqlUnitOfWork.__enter__

    def begin_and_say_so(self):
        if not self.readonly:
            with seen.changed:
                seen.begun += 1
                seen.changed.notify_all()
        return begin(self)

    def read_then_wait(self, sku):
        levels = read_stock(self, sku)
        if not getattr(seen.thread, "done", False):
            seen.thread.done = True
            seen.first_read(levels)
        return levels

    monkeypatch.setattr(SqlUnitOfWork, "__enter__", begin_and_say_so)
    monkeypatch.setattr(SqlStore, "stock_levels", read_then_wait)
    return seen


# -- B02 ------------------------------------------------------------------------------------


def test_concurrent_single_unit_orders_lose_no_update_of_the_allocated_counter(any_app, clock):
    now = clock()
    seed(any_app, now, on_hand=10)
    people = customers(any_app, now, 22)

    pair = together([order_a(any_app, now, person, 1) for person in people[:2]])

    assert len(accepted(pair)) == 2
    assert stock_of_a(any_app) == (10, 2, 8)
    assert queries.check(any_app.uow) == []

    crowd = together([order_a(any_app, now, person, 1) for person in people[2:]])

    assert len(crowd) == 20
    assert len(accepted(crowd)) == 8
    assert len(refused(crowd)) == 12
    assert stock_of_a(any_app) == (10, 10, 0)
    assert line_totals(any_app, "A") == (10, 0)
    assert queries.check(any_app.uow) == []
