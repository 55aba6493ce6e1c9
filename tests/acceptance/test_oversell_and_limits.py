"""Placing orders: summed demand, several warehouses, backorder policy and limits (B04, B40,
B41, B43, B44, B57, cancel_remainder)."""

from __future__ import annotations

import pytest

from backorder.domain.errors import InsufficientStock
from backorder.domain.model import BackorderPolicy, Fulfilment
from backorder.service import catalog, orders, queries

from .helpers import (
    add_customer,
    add_product,
    assert_invariants,
    backorder_notices,
    line_of,
    parts,
    place,
    receive,
    stock_of,
)

ALLOW = BackorderPolicy.ALLOW
NOTIFY = BackorderPolicy.ALLOW_NOTIFY


def test_b04_two_lines_of_the_same_sku_are_summed_before_the_check(any_app):
    add_product(any_app, "A")
    receive(any_app, "A", 5)
    ann = add_customer(any_app)

    with pytest.raises(InsufficientStock) as refused:
        place(any_app, ann, ("A", 5), ("A", 5))

    [shortage] = refused.value.shortages
    assert (shortage.sku, shortage.asked, shortage.available) == ("A", 10, 5)
    assert stock_of(any_app, "A") == {
        "on_hand": 5,
        "allocated": 0,
        "available": 5,
        "backordered": 0,
    }
    assert queries.orders(any_app.uow) == []
    assert_invariants(any_app)


def test_b04_summed_lines_with_unlimited_backorders_allocate_five_and_owe_one(app):
    add_product(app, "A", policy=ALLOW)
    receive(app, "A", 5)
    ann = add_customer(app)

    placed = place(app, ann, ("A", 4), ("A", 2))

    first, second = placed.lines
    assert parts(first) == {
        "qty": 4,
        "allocated": 4,
        "backordered": 0,
        "shipped": 0,
        "cancelled": 0,
    }
    assert parts(second) == {
        "qty": 2,
        "allocated": 1,
        "backordered": 1,
        "shipped": 0,
        "cancelled": 0,
    }
    assert stock_of(app, "A") == {"on_hand": 5, "allocated": 5, "available": 0, "backordered": 1}
    assert backorder_notices(app, placed.id) == 1
    assert_invariants(app)


def test_b40_an_order_takes_stock_from_every_warehouse_in_rank_order(any_app):
    uow = any_app.uow
    catalog.save_warehouse(uow, "L1", "L1", rank=0)
    catalog.save_warehouse(uow, "L2", "L2", rank=1)
    add_product(any_app, "A")
    receive(any_app, "A", 1, warehouse="L1")
    receive(any_app, "A", 3, warehouse="L2")
    ann, bob = add_customer(any_app, "Ann"), add_customer(any_app, "Bob")

    first = place(any_app, ann, ("A", 4))
    with pytest.raises(InsufficientStock):
        place(any_app, bob, ("A", 1))

    assert line_of(any_app, first.id).holdings == (("L1", 1), ("L2", 3))
    assert stock_of(any_app, "A", "L1") == {
        "on_hand": 1,
        "allocated": 1,
        "available": 0,
        "backordered": 0,
    }
    assert stock_of(any_app, "A", "L2") == {
        "on_hand": 3,
        "allocated": 3,
        "available": 0,
        "backordered": 0,
    }
    assert len(queries.orders(uow)) == 1
    assert_invariants(any_app)

    shipment = orders.ship_order(uow, first.id, any_app.clock())

    assert [(r["warehouse"], r["qty"]) for r in shipment["lines"]] == [("L1", 1), ("L2", 3)]
    assert stock_of(any_app, "A", "L1")["on_hand"] == 0
    assert stock_of(any_app, "A", "L2")["on_hand"] == 0
    assert_invariants(any_app)


def test_b41_a_backorder_limit_of_five_survives_a_reload_and_caps_the_queue(any_app):
    add_product(any_app, "A", policy=ALLOW, limit=5)
    ann = add_customer(any_app)

    assert catalog.get_product(any_app.uow, "A").backorder_limit == 5
    first = place(any_app, ann, ("A", 3))
    second = place(any_app, ann, ("A", 2))
    with pytest.raises(InsufficientStock) as refused:
        place(any_app, ann, ("A", 1))

    assert refused.value.shortages[0].backorder_room == 0
    assert [line_of(any_app, o.id).backordered for o in (first, second)] == [3, 2]
    assert stock_of(any_app, "A") == {
        "on_hand": 0,
        "allocated": 0,
        "available": 0,
        "backordered": 5,
    }
    assert backorder_notices(any_app) == 2
    assert_invariants(any_app)


def test_b43_limit_one_allows_one_wait_limit_zero_none_and_null_any(app):
    add_product(app, "A", policy=ALLOW, limit=1)
    add_product(app, "B", policy=ALLOW, limit=0)
    add_product(app, "C", policy=ALLOW, limit=None)
    for sku in "ABC":
        receive(app, sku, 2)
    ann = add_customer(app)

    accepted = {"A": 0, "B": 0, "C": 0}
    for sku in "ABC":
        for _ in range(3):
            try:
                place(app, ann, (sku, 1))
            except InsufficientStock:
                continue
            accepted[sku] += 1

    assert accepted == {"A": 3, "B": 2, "C": 3}
    assert stock_of(app, "A") == {"on_hand": 2, "allocated": 2, "available": 0, "backordered": 1}
    assert stock_of(app, "B") == {"on_hand": 2, "allocated": 2, "available": 0, "backordered": 0}
    assert stock_of(app, "C") == {"on_hand": 2, "allocated": 2, "available": 0, "backordered": 1}
    assert backorder_notices(app) == 2
    assert_invariants(app)


def test_b44_the_backorder_notice_states_only_the_backordered_part(any_app):
    add_product(any_app, "A", policy=NOTIFY)
    receive(any_app, "A", 3)
    ann = add_customer(any_app)

    placed = place(any_app, ann, ("A", 5))

    assert parts(placed.lines[0]) == {
        "qty": 5,
        "allocated": 3,
        "backordered": 2,
        "shipped": 0,
        "cancelled": 0,
    }
    [notice] = queries.events(any_app.uow, kind="order_backordered")
    assert notice.order_id == placed.id
    assert notice.payload["backordered"] == 2
    assert [(x["sku"], x["backordered"]) for x in notice.payload["lines"]] == [("A", 2)]
    assert stock_of(any_app, "A") == {
        "on_hand": 3,
        "allocated": 3,
        "available": 0,
        "backordered": 2,
    }
    assert_invariants(any_app)


def test_b57_allow_notify_with_no_stock_accepts_the_order_and_says_so_at_checkout(app):
    add_product(app, "H", policy=NOTIFY)
    ann = add_customer(app)

    placed = place(app, ann, ("H", 2))

    assert parts(placed.lines[0]) == {
        "qty": 2,
        "allocated": 0,
        "backordered": 2,
        "shipped": 0,
        "cancelled": 0,
    }
    [notice] = queries.events(app.uow, kind="order_backordered")
    assert notice.payload["backordered"] == 2
    assert [x["notify_at_checkout"] for x in notice.payload["lines"]] == [True]
    assert stock_of(app, "H") == {"on_hand": 0, "allocated": 0, "available": 0, "backordered": 2}
    assert_invariants(app)


def test_cancel_remainder_takes_what_is_there_and_drops_the_rest(any_app):
    add_product(any_app, "A", policy=ALLOW)
    receive(any_app, "A", 3)
    ann = add_customer(any_app)

    placed = place(any_app, ann, ("A", 5), fulfilment=Fulfilment.CANCEL_REMAINDER)

    assert parts(placed.lines[0]) == {
        "qty": 5,
        "allocated": 3,
        "backordered": 0,
        "shipped": 0,
        "cancelled": 2,
    }
    assert backorder_notices(any_app) == 0
    assert stock_of(any_app, "A") == {
        "on_hand": 3,
        "allocated": 3,
        "available": 0,
        "backordered": 0,
    }
    assert_invariants(any_app)


def test_cancel_remainder_with_nothing_available_is_refused(app):
    add_product(app, "A", policy=ALLOW)
    ann = add_customer(app)

    with pytest.raises(InsufficientStock) as refused:
        place(app, ann, ("A", 5), fulfilment=Fulfilment.CANCEL_REMAINDER)

    assert [(s.sku, s.asked, s.available) for s in refused.value.shortages] == [("A", 5, 0)]
    assert queries.orders(app.uow) == []
    assert stock_of(app, "A") == {"on_hand": 0, "allocated": 0, "available": 0, "backordered": 0}
    assert_invariants(app)


def test_an_order_refused_for_two_skus_names_both_and_leaves_no_trace(app):
    add_product(app, "A")
    add_product(app, "B")
    receive(app, "A", 1)
    ann = add_customer(app)

    with pytest.raises(InsufficientStock) as refused:
        place(app, ann, ("B", 2), ("A", 2))

    assert [(s.sku, s.asked, s.available) for s in refused.value.shortages] == [
        ("A", 2, 1),
        ("B", 2, 0),
    ]
    assert queries.orders(app.uow) == []
    assert queries.events(app.uow) == []
    assert stock_of(app, "A") == {"on_hand": 1, "allocated": 0, "available": 1, "backordered": 0}
    assert_invariants(app)
