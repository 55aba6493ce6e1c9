"""Receipts and the queue: who gets arriving stock, and when (B26, B30, B32, preorders)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from backorder.domain.errors import InsufficientStock
from backorder.domain.model import BackorderPolicy, Tier
from backorder.service import catalog, orders, queries, stock

from .helpers import (
    add_customer,
    add_product,
    assert_invariants,
    backorder_notices,
    line_of,
    order_of,
    parts,
    place,
    ready_to_ship_notices,
    receive,
    stock_of,
)

ALLOW = BackorderPolicy.ALLOW


def test_b26_orders_from_every_channel_are_flagged_as_backordered(app):
    add_product(app, "A", policy=ALLOW)
    ann = add_customer(app)

    storefront = place(app, ann, ("A", 2), channel="storefront")
    api = place(app, ann, ("A", 2), channel="api")
    reorder = place(
        app, ann, *[(line.sku, line.qty) for line in storefront.lines], channel="reorder"
    )

    placed = [storefront, api, reorder]
    assert [order_of(app, o.id).channel for o in placed] == ["storefront", "api", "reorder"]
    for o in placed:
        assert (line_of(app, o.id).allocated, line_of(app, o.id).backordered) == (0, 2)
        assert backorder_notices(app, o.id) == 1
    assert backorder_notices(app) == 3
    assert stock_of(app, "A") == {"on_hand": 0, "allocated": 0, "available": 0, "backordered": 6}
    assert_invariants(app)


def test_b30_a_receipt_fills_a_line_waiting_for_two_and_says_ready_once(any_app):
    add_product(any_app, "A", policy=ALLOW)
    ann = add_customer(any_app)
    placed = place(any_app, ann, ("A", 2))
    assert line_of(any_app, placed.id).backordered == 2

    receive(any_app, "A", 2, reference="R-1")

    assert parts(line_of(any_app, placed.id)) == {
        "qty": 2,
        "allocated": 2,
        "backordered": 0,
        "shipped": 0,
        "cancelled": 0,
    }
    assert order_of(any_app, placed.id).status == "ready_to_ship"
    assert ready_to_ship_notices(any_app, placed.id) == 1
    assert stock_of(any_app, "A") == {
        "on_hand": 2,
        "allocated": 2,
        "available": 0,
        "backordered": 0,
    }
    assert_invariants(any_app)

    receive(any_app, "A", 3, reference="R-2")

    assert stock_of(any_app, "A") == {
        "on_hand": 5,
        "allocated": 2,
        "available": 3,
        "backordered": 0,
    }
    assert parts(line_of(any_app, placed.id))["allocated"] == 2
    assert ready_to_ship_notices(any_app) == 1
    assert_invariants(any_app)


def test_b32_scarce_stock_goes_to_the_earliest_due_date_not_the_first_created(any_app):
    add_product(any_app, "A", policy=ALLOW)
    ann = add_customer(any_app)
    due = {
        name: datetime(2027, 1, day, tzinfo=UTC) for name, day in (("D1", 1), ("D2", 4), ("D3", 2))
    }
    placed = {}
    for name in ("D1", "D2", "D3"):
        placed[name] = place(any_app, ann, ("A", 1), requested_date=due[name])
        any_app.clock.advance(minutes=1)

    receive(any_app, "A", 2)

    got = {name: parts(line_of(any_app, o.id)) for name, o in placed.items()}
    assert {name: (p["allocated"], p["backordered"]) for name, p in got.items()} == {
        "D1": (1, 0),
        "D2": (0, 1),
        "D3": (1, 0),
    }
    assert stock_of(any_app, "A") == {
        "on_hand": 2,
        "allocated": 2,
        "available": 0,
        "backordered": 1,
    }
    assert_invariants(any_app)


def test_b32_a_tie_on_due_date_is_broken_by_order_time(app):
    add_product(app, "A", policy=ALLOW)
    ann, bob = add_customer(app, "Ann"), add_customer(app, "Bob")
    due = datetime(2027, 1, 2, tzinfo=UTC)
    early = place(app, ann, ("A", 1), requested_date=due)
    app.clock.advance(minutes=5)
    late = place(app, bob, ("A", 1), requested_date=due)

    receive(app, "A", 1)

    assert (line_of(app, early.id).allocated, line_of(app, late.id).allocated) == (1, 0)
    [decision] = [e for e in queries.allocation_log(app.uow, "A") if e.cause == "receipt"]
    assert (decision.order_id, decision.ahead_of_line_id) == (early.id, late.lines[0].id)
    assert_invariants(app)


def test_receipt_goes_to_critical_customer_first_then_first_come(app):
    add_product(app, "A", policy=ALLOW)
    ann = add_customer(app, "Ann")
    bob = add_customer(app, "Bob", tier=Tier.CRITICAL)
    cat = add_customer(app, "Cat", tier=Tier.PRIORITY)
    standard = place(app, ann, ("A", 2))
    app.clock.advance(minutes=1)
    critical = place(app, bob, ("A", 2))
    app.clock.advance(minutes=1)
    priority = place(app, cat, ("A", 2))

    receive(app, "A", 5)

    assert [line_of(app, o.id).allocated for o in (critical, priority, standard)] == [2, 2, 1]
    assert [e.order_id for e in queries.queue(app.uow, "A")] == [standard.id]
    assert stock_of(app, "A") == {"on_hand": 5, "allocated": 5, "available": 0, "backordered": 1}
    assert_invariants(app)


def _preorder_setup(app, policy: BackorderPolicy = BackorderPolicy.DENY) -> None:
    """Product P released in 10 days, 5 units already in the warehouse."""
    add_product(app, "P", policy=policy, release_at=app.clock() + timedelta(days=10))
    receive(app, "P", 5)


def test_preorder_lines_wait_even_when_stock_exists(any_app):
    _preorder_setup(any_app)
    ann = add_customer(any_app)

    placed = place(any_app, ann, ("P", 2))

    assert parts(placed.lines[0]) == {
        "qty": 2,
        "allocated": 0,
        "backordered": 2,
        "shipped": 0,
        "cancelled": 0,
    }
    [notice] = queries.events(any_app.uow, kind="order_backordered")
    assert [x["preorder"] for x in notice.payload["lines"]] == [True]
    assert stock.release_preorders(any_app.uow, any_app.clock()) == {}
    assert stock_of(any_app, "P") == {
        "on_hand": 5,
        "allocated": 0,
        "available": 5,
        "backordered": 2,
    }
    assert_invariants(any_app)


def test_preorders_are_served_at_release_critical_tier_first(any_app):
    _preorder_setup(any_app)
    ann = add_customer(any_app, "Ann")
    bob = add_customer(any_app, "Bob", tier=Tier.CRITICAL)
    cat = add_customer(any_app, "Cat")
    first = place(any_app, ann, ("P", 2))
    any_app.clock.advance(hours=1)
    critical = place(any_app, bob, ("P", 2))
    any_app.clock.advance(hours=1)
    last = place(any_app, cat, ("P", 2))

    any_app.clock.advance(days=11)
    served = stock.release_preorders(any_app.uow, any_app.clock())

    assert served == {"P": 5}
    assert [line_of(any_app, o.id).allocated for o in (critical, first, last)] == [2, 2, 1]
    assert line_of(any_app, last.id).backordered == 1
    assert ready_to_ship_notices(any_app) == 2
    assert stock_of(any_app, "P") == {
        "on_hand": 5,
        "allocated": 5,
        "available": 0,
        "backordered": 1,
    }
    assert stock.release_preorders(any_app.uow, any_app.clock()) == {}
    assert_invariants(any_app)


def test_an_order_placed_after_release_does_not_overtake_waiting_preorders(app):
    _preorder_setup(app)
    ann, bob = add_customer(app, "Ann"), add_customer(app, "Bob")
    preorder = place(app, ann, ("P", 4))
    app.clock.advance(days=11)  # released, but the release job has not run yet

    with pytest.raises(InsufficientStock) as refused:
        place(app, bob, ("P", 4))
    walk_in = place(app, bob, ("P", 1))

    assert [(s.asked, s.available) for s in refused.value.shortages] == [(4, 1)]
    assert parts(line_of(app, preorder.id)) == {
        "qty": 4,
        "allocated": 4,
        "backordered": 0,
        "shipped": 0,
        "cancelled": 0,
    }
    assert line_of(app, walk_in.id).allocated == 1
    assert ready_to_ship_notices(app, preorder.id) == 1
    assert stock_of(app, "P") == {"on_hand": 5, "allocated": 5, "available": 0, "backordered": 0}
    assert_invariants(app)


def test_growing_a_line_after_release_does_not_overtake_waiting_preorders(app):
    _preorder_setup(app, BackorderPolicy.ALLOW)
    ann, bob = add_customer(app, "Ann"), add_customer(app, "Bob")
    first = place(app, ann, ("P", 4))
    app.clock.advance(minutes=1)
    second = place(app, bob, ("P", 1))
    app.clock.advance(days=11)  # released, but the release job has not run yet

    orders.change_line_qty(app.uow, second.id, second.lines[0].id, 2, app.clock())

    assert parts(line_of(app, first.id)) == {
        "qty": 4,
        "allocated": 4,
        "backordered": 0,
        "shipped": 0,
        "cancelled": 0,
    }
    assert parts(line_of(app, second.id)) == {
        "qty": 2,
        "allocated": 1,
        "backordered": 1,
        "shipped": 0,
        "cancelled": 0,
    }
    assert stock_of(app, "P") == {"on_hand": 5, "allocated": 5, "available": 0, "backordered": 1}
    assert_invariants(app)


def test_b52_a_release_at_midnight_madrid_happens_at_2300_utc(any_app):
    any_app.clock.now = datetime(2021, 12, 31, 22, 59, tzinfo=UTC)
    add_product(any_app, "P", release_at=datetime(2022, 1, 1, tzinfo=ZoneInfo("Europe/Madrid")))
    receive(any_app, "P", 5)
    ann, bob = add_customer(any_app, "Ann"), add_customer(any_app, "Bob")

    stored = catalog.get_product(any_app.uow, "P").release_at
    before = place(any_app, ann, ("P", 1))
    any_app.clock.advance(minutes=1)
    after = place(any_app, bob, ("P", 1))

    assert stored == datetime(2021, 12, 31, 23, 0, tzinfo=UTC)
    assert [x["preorder"] for x in _placed_lines(any_app, before.id)] == [True]
    assert [x["preorder"] for x in _placed_lines(any_app, after.id)] == [False]
    assert (line_of(any_app, before.id).allocated, line_of(any_app, after.id).allocated) == (1, 1)
    assert stock_of(any_app, "P") == {
        "on_hand": 5,
        "allocated": 2,
        "available": 3,
        "backordered": 0,
    }
    assert_invariants(any_app)


def _placed_lines(app, order_id: int) -> list[dict]:
    [placed] = queries.events(app.uow, kind="order_placed", order_id=order_id)
    return placed.payload["lines"]
