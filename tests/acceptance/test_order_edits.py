"""Editing open orders: removing a line, changing a quantity up and down (B16, B19, B24, B29)."""

from __future__ import annotations

import pytest

from backorder.domain.errors import InsufficientStock
from backorder.domain.model import BackorderPolicy
from backorder.service import orders

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


def test_b16_removing_a_line_gives_its_reservation_back(any_app):
    add_product(any_app, "A")
    add_product(any_app, "B")
    receive(any_app, "A", 10)
    receive(any_app, "B", 10)
    ann = add_customer(any_app)
    placed = place(any_app, ann, ("A", 5), ("B", 3))
    b_line = line_of(any_app, placed.id, 2)

    orders.cancel_line(any_app.uow, placed.id, b_line.id, any_app.clock(), reason="removed")

    after = order_of(any_app, placed.id)
    assert [line.sku for line in after.lines if line.quantities.outstanding] == ["A"]
    assert parts(after.line(b_line.id)) == {
        "qty": 3,
        "allocated": 0,
        "backordered": 0,
        "shipped": 0,
        "cancelled": 3,
    }
    assert stock_of(any_app, "A") == {
        "on_hand": 10,
        "allocated": 5,
        "available": 5,
        "backordered": 0,
    }
    assert stock_of(any_app, "B") == {
        "on_hand": 10,
        "allocated": 0,
        "available": 10,
        "backordered": 0,
    }
    assert_invariants(any_app)


def test_b19_an_edit_counts_the_lines_own_reservation_as_available(any_app):
    add_product(any_app, "A")
    receive(any_app, "A", 12)
    ann = add_customer(any_app)
    placed = place(any_app, ann, ("A", 10))
    line_id = placed.lines[0].id
    assert stock_of(any_app, "A")["available"] == 2

    def edit(qty: int) -> None:
        orders.change_line_qty(any_app.uow, placed.id, line_id, qty, any_app.clock())

    edit(9)
    assert (line_of(any_app, placed.id).allocated, stock_of(any_app, "A")["available"]) == (9, 3)
    assert_invariants(any_app)

    edit(11)
    assert (line_of(any_app, placed.id).allocated, stock_of(any_app, "A")["available"]) == (11, 1)
    assert_invariants(any_app)

    with pytest.raises(InsufficientStock) as refused:
        edit(13)

    [shortage] = refused.value.shortages
    assert (shortage.asked, shortage.available) == (2, 1)
    assert parts(line_of(any_app, placed.id)) == {
        "qty": 11,
        "allocated": 11,
        "backordered": 0,
        "shipped": 0,
        "cancelled": 0,
    }
    assert stock_of(any_app, "A") == {
        "on_hand": 12,
        "allocated": 11,
        "available": 1,
        "backordered": 0,
    }
    assert_invariants(any_app)


def test_b24_raising_and_lowering_a_backordered_quantity_leaves_no_phantom_unit(app):
    add_product(app, "A", policy=BackorderPolicy.ALLOW)
    ann = add_customer(app)
    placed = place(app, ann, ("A", 1))
    line_id = placed.lines[0].id

    orders.change_line_qty(app.uow, placed.id, line_id, 2, app.clock())
    assert line_of(app, placed.id).backordered == 2
    orders.change_line_qty(app.uow, placed.id, line_id, 1, app.clock())

    assert parts(line_of(app, placed.id)) == {
        "qty": 1,
        "allocated": 0,
        "backordered": 1,
        "shipped": 0,
        "cancelled": 0,
    }
    assert stock_of(app, "A") == {"on_hand": 0, "allocated": 0, "available": 0, "backordered": 1}
    assert_invariants(app)


def test_b29_reducing_one_backorder_hands_no_free_unit_to_another(app):
    add_product(app, "A", policy=BackorderPolicy.ALLOW)
    ann = add_customer(app)
    o1 = place(app, ann, ("A", 1))
    o2 = place(app, ann, ("A", 2))
    o3 = place(app, ann, ("A", 1))
    assert stock_of(app, "A")["backordered"] == 4

    orders.change_line_qty(app.uow, o2.id, o2.lines[0].id, 1, app.clock())

    assert [line_of(app, o.id).backordered for o in (o1, o2, o3)] == [1, 1, 1]
    assert [line_of(app, o.id).allocated for o in (o1, o2, o3)] == [0, 0, 0]
    assert stock_of(app, "A") == {"on_hand": 0, "allocated": 0, "available": 0, "backordered": 3}
    assert ready_to_ship_notices(app) == 0
    assert backorder_notices(app) == 3
    assert_invariants(app)


def test_reducing_an_allocated_line_hands_the_freed_unit_to_the_next_in_line(app):
    add_product(app, "A", policy=BackorderPolicy.ALLOW)
    receive(app, "A", 2)
    ann, bob = add_customer(app, "Ann"), add_customer(app, "Bob")
    first = place(app, ann, ("A", 2))
    app.clock.advance(minutes=1)
    second = place(app, bob, ("A", 1))

    orders.change_line_qty(app.uow, first.id, first.lines[0].id, 1, app.clock())

    assert parts(line_of(app, first.id)) == {
        "qty": 1,
        "allocated": 1,
        "backordered": 0,
        "shipped": 0,
        "cancelled": 0,
    }
    assert parts(line_of(app, second.id)) == {
        "qty": 1,
        "allocated": 1,
        "backordered": 0,
        "shipped": 0,
        "cancelled": 0,
    }
    assert ready_to_ship_notices(app, second.id) == 1
    assert stock_of(app, "A") == {"on_hand": 2, "allocated": 2, "available": 0, "backordered": 0}
    assert_invariants(app)
