"""Cancels, partial shipments and repeated commands (B09, B22, invariants 5 and 6)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from backorder.bootstrap import build
from backorder.config import Settings
from backorder.domain.errors import Conflict, ShipmentNotAllowed
from backorder.domain.model import BackorderPolicy
from backorder.service import orders, queries
from backorder.service import payment_executor as executor
from backorder.service.payment_views import PaymentIn

from .helpers import (
    add_customer,
    add_product,
    assert_invariants,
    count_events,
    line_of,
    order_of,
    parts,
    place,
    ready_to_ship_notices,
    receive,
    stock_of,
)


def _ledger_rows_of(app, order_id: int) -> list:
    return [e for e in queries.ledger(app.uow) if e.reference == f"order {order_id}"]


def test_b09_cancelling_an_order_that_holds_no_stock_moves_no_stock(any_app):
    add_product(any_app, "A", release_at=any_app.clock() + timedelta(days=30))
    receive(any_app, "A", 5)
    ann = add_customer(any_app)
    placed = place(any_app, ann, ("A", 1))  # a preorder: it holds none of the 5 units
    assert parts(placed.lines[0])["allocated"] == 0

    orders.cancel_order(any_app.uow, placed.id, any_app.clock(), reason="payment abandoned")

    assert parts(line_of(any_app, placed.id)) == {
        "qty": 1,
        "allocated": 0,
        "backordered": 0,
        "shipped": 0,
        "cancelled": 1,
    }
    assert stock_of(any_app, "A") == {
        "on_hand": 5,
        "allocated": 0,
        "available": 5,
        "backordered": 0,
    }
    assert _ledger_rows_of(any_app, placed.id) == []
    assert [e.reason for e in queries.ledger(any_app.uow, "A")] == ["receipt"]
    [cancelled] = queries.events(any_app.uow, kind="order_cancelled")
    assert [x["released"] for x in cancelled.payload["lines"]] == [0]
    assert_invariants(any_app)


def test_b09_cancelling_a_fully_backordered_order_leaves_stock_untouched(app):
    add_product(app, "A", policy=BackorderPolicy.ALLOW)
    ann = add_customer(app)
    placed = place(app, ann, ("A", 3))

    orders.cancel_order(app.uow, placed.id, app.clock())

    assert parts(line_of(app, placed.id)) == {
        "qty": 3,
        "allocated": 0,
        "backordered": 0,
        "shipped": 0,
        "cancelled": 3,
    }
    assert stock_of(app, "A") == {"on_hand": 0, "allocated": 0, "available": 0, "backordered": 0}
    assert queries.ledger(app.uow) == []
    assert_invariants(app)


def test_b22_a_partial_shipment_keeps_every_untouched_line_open(any_app):
    add_product(any_app, "P1")
    add_product(any_app, "P2")
    receive(any_app, "P1", 10)
    receive(any_app, "P2", 10)
    ann = add_customer(any_app)
    placed = place(any_app, ann, ("P1", 10), ("P2", 10))
    p1, p2 = (line.id for line in placed.lines)

    first = orders.ship_order(any_app.uow, placed.id, any_app.clock(), {p1: 2, p2: 0})

    assert [(r["line_id"], r["qty"]) for r in first["lines"]] == [(p1, 2)]
    assert (line_of(any_app, placed.id, 1).allocated, line_of(any_app, placed.id, 2).allocated) == (
        8,
        10,
    )
    assert_invariants(any_app)

    second = orders.ship_order(any_app.uow, placed.id, any_app.clock(), {p1: 3, p2: 0})

    assert [(r["line_id"], r["qty"]) for r in second["lines"]] == [(p1, 3)]
    assert parts(line_of(any_app, placed.id, 1)) == {
        "qty": 10,
        "allocated": 5,
        "backordered": 0,
        "shipped": 5,
        "cancelled": 0,
    }
    assert parts(line_of(any_app, placed.id, 2)) == {
        "qty": 10,
        "allocated": 10,
        "backordered": 0,
        "shipped": 0,
        "cancelled": 0,
    }
    assert stock_of(any_app, "P1") == {
        "on_hand": 5,
        "allocated": 5,
        "available": 0,
        "backordered": 0,
    }
    assert stock_of(any_app, "P2") == {
        "on_hand": 10,
        "allocated": 10,
        "available": 0,
        "backordered": 0,
    }
    assert [e.delta for e in _ledger_rows_of(any_app, placed.id)] == [-3, -2]
    assert_invariants(any_app)


def test_shipping_more_than_a_line_holds_is_refused_without_side_effects(app):
    add_product(app, "A", policy=BackorderPolicy.ALLOW)
    receive(app, "A", 2)
    ann = add_customer(app)
    placed = place(app, ann, ("A", 3))

    with pytest.raises(ShipmentNotAllowed):
        orders.ship_order(app.uow, placed.id, app.clock(), {placed.lines[0].id: 3})

    assert parts(line_of(app, placed.id)) == {
        "qty": 3,
        "allocated": 2,
        "backordered": 1,
        "shipped": 0,
        "cancelled": 0,
    }
    assert stock_of(app, "A") == {"on_hand": 2, "allocated": 2, "available": 0, "backordered": 1}
    assert_invariants(app)


def test_repeating_a_receipt_with_the_same_reference_changes_nothing(any_app):
    add_product(any_app, "A", policy=BackorderPolicy.ALLOW)
    ann = add_customer(any_app)
    placed = place(any_app, ann, ("A", 3))

    first = receive(any_app, "A", 5, reference="GRN-7")
    again = receive(any_app, "A", 5, reference="GRN-7")

    assert (first["repeated"], again["repeated"]) == (False, True)
    assert {k: v for k, v in again.items() if k != "repeated"} == {
        k: v for k, v in first.items() if k != "repeated"
    }
    assert (first["on_hand"], first["allocated_to_lines"]) == (5, 3)
    assert stock_of(any_app, "A") == {
        "on_hand": 5,
        "allocated": 3,
        "available": 2,
        "backordered": 0,
    }
    assert len(queries.ledger(any_app.uow, "A")) == 1
    assert ready_to_ship_notices(any_app, placed.id) == 1
    assert_invariants(any_app)


def test_a_receipt_reference_reused_for_another_sku_is_refused_not_dropped(app):
    add_product(app, "A")
    add_product(app, "B")
    receive(app, "A", 5, reference="GRN-8")

    with pytest.raises(Conflict) as refused:
        receive(app, "B", 7, reference="GRN-8")

    assert refused.value.details["sku"] == "A"
    assert stock_of(app, "A")["on_hand"] == 5
    assert stock_of(app, "B")["on_hand"] == 0
    assert len(queries.ledger(app.uow)) == 1
    assert_invariants(app)


def test_a_receipt_reference_reused_with_another_quantity_is_refused(app):
    add_product(app, "A")
    receive(app, "A", 5, reference="GRN-9")

    with pytest.raises(Conflict):
        receive(app, "A", 6, reference="GRN-9")

    assert stock_of(app, "A")["on_hand"] == 5
    assert len(queries.ledger(app.uow, "A")) == 1
    assert_invariants(app)


def test_repeating_a_shipment_with_the_same_reference_ships_once(app):
    add_product(app, "A")
    receive(app, "A", 4)
    ann = add_customer(app)
    placed = place(app, ann, ("A", 4))
    line_id = placed.lines[0].id

    first = orders.ship_order(app.uow, placed.id, app.clock(), {line_id: 1}, reference="SH-1")
    again = orders.ship_order(app.uow, placed.id, app.clock(), {line_id: 1}, reference="SH-1")

    assert again["shipment_id"] == first["shipment_id"]
    assert again["repeated"] is True
    assert parts(line_of(app, placed.id)) == {
        "qty": 4,
        "allocated": 3,
        "backordered": 0,
        "shipped": 1,
        "cancelled": 0,
    }
    assert stock_of(app, "A") == {"on_hand": 3, "allocated": 3, "available": 0, "backordered": 0}
    assert count_events(app, "shipment_shipped") == 1
    assert_invariants(app)


def test_repeating_a_cancel_changes_nothing(any_app):
    add_product(any_app, "A")
    receive(any_app, "A", 10)
    ann = add_customer(any_app)
    placed = place(any_app, ann, ("A", 1))

    for _ in range(5):
        orders.cancel_order(any_app.uow, placed.id, any_app.clock())

    assert parts(line_of(any_app, placed.id)) == {
        "qty": 1,
        "allocated": 0,
        "backordered": 0,
        "shipped": 0,
        "cancelled": 1,
    }
    assert stock_of(any_app, "A") == {
        "on_hand": 10,
        "allocated": 0,
        "available": 10,
        "backordered": 0,
    }
    assert count_events(any_app, "order_cancelled") == 1
    assert len(queries.ledger(any_app.uow, "A")) == 1
    assert_invariants(any_app)


def test_cancel_after_a_partial_shipment_releases_only_what_the_line_still_holds(any_app):
    add_product(any_app, "A", policy=BackorderPolicy.ALLOW)
    receive(any_app, "A", 10)
    ann, bob = add_customer(any_app, "Ann"), add_customer(any_app, "Bob")
    placed = place(any_app, ann, ("A", 10))
    orders.ship_order(any_app.uow, placed.id, any_app.clock(), {placed.lines[0].id: 7})
    waiting = place(any_app, bob, ("A", 5))
    assert line_of(any_app, waiting.id).backordered == 5

    orders.cancel_order(any_app.uow, placed.id, any_app.clock())
    orders.cancel_order(any_app.uow, placed.id, any_app.clock())

    assert parts(line_of(any_app, placed.id)) == {
        "qty": 10,
        "allocated": 0,
        "backordered": 0,
        "shipped": 7,
        "cancelled": 3,
    }
    assert parts(line_of(any_app, waiting.id)) == {
        "qty": 5,
        "allocated": 3,
        "backordered": 2,
        "shipped": 0,
        "cancelled": 0,
    }
    assert stock_of(any_app, "A") == {
        "on_hand": 3,
        "allocated": 3,
        "available": 0,
        "backordered": 2,
    }
    [cancelled] = queries.events(any_app.uow, kind="order_cancelled")
    assert [(x["released"], x["cancelled"]) for x in cancelled.payload["lines"]] == [(3, 3)]
    assert order_of(any_app, placed.id).status == "shipped"
    assert_invariants(any_app)


def test_cancelling_an_order_shipped_in_full_is_refused_and_changes_nothing(any_app):
    """It used to answer 200 with the shipped order: a caller took the order for cancelled."""
    add_product(any_app, "A")
    receive(any_app, "A", 10)
    placed = place(any_app, add_customer(any_app), ("A", 4))
    orders.ship_order(any_app.uow, placed.id, any_app.clock(), {placed.lines[0].id: 4})

    with pytest.raises(Conflict, match="has shipped in full: nothing left to cancel") as refused:
        orders.cancel_order(any_app.uow, placed.id, any_app.clock())

    assert refused.value.details == {"field": "order_id", "order_id": placed.id}
    assert "refund" not in refused.value.message  # nothing was paid through the shop
    assert parts(line_of(any_app, placed.id))["shipped"] == 4
    assert parts(line_of(any_app, placed.id))["cancelled"] == 0
    assert stock_of(any_app, "A")["on_hand"] == 6
    assert count_events(any_app, "order_cancelled") == 0
    assert order_of(any_app, placed.id).status == "shipped"
    assert_invariants(any_app)


def test_cancelling_a_line_shipped_in_full_is_refused_and_changes_nothing(any_app):
    """It used to answer with the unchanged order, as if the line had been cancelled."""
    add_product(any_app, "A")
    receive(any_app, "A", 10)
    placed = place(any_app, add_customer(any_app), ("A", 4), ("A", 2))
    shipped, still_open = placed.lines
    orders.ship_order(any_app.uow, placed.id, any_app.clock(), {shipped.id: 4})

    with pytest.raises(Conflict, match="has shipped in full: nothing left to cancel$") as refused:
        orders.cancel_line(any_app.uow, placed.id, shipped.id, any_app.clock())

    assert refused.value.details == {
        "field": "line_id",
        "order_id": placed.id,
        "line_id": shipped.id,
    }
    assert parts(line_of(any_app, placed.id, 1)) == {
        "qty": 4,
        "allocated": 0,
        "backordered": 0,
        "shipped": 4,
        "cancelled": 0,
    }
    assert parts(line_of(any_app, placed.id, 2))["allocated"] == 2
    assert stock_of(any_app, "A") == {
        "on_hand": 6,
        "allocated": 2,
        "available": 4,
        "backordered": 0,
    }
    assert count_events(any_app, "line_cancelled") == 0
    assert_invariants(any_app)


def test_repeating_a_line_cancel_changes_nothing(app):
    add_product(app, "A")
    receive(app, "A", 10)
    placed = place(app, add_customer(app), ("A", 3))
    line_id = placed.lines[0].id

    for _ in range(3):
        orders.cancel_line(app.uow, placed.id, line_id, app.clock())

    assert parts(line_of(app, placed.id))["cancelled"] == 3
    assert stock_of(app, "A") == {"on_hand": 10, "allocated": 0, "available": 10, "backordered": 0}
    assert count_events(app, "line_cancelled") == 1
    assert_invariants(app)


@pytest.fixture
def paying_app(tmp_path, clock):
    """A shop that takes payments through the built-in manual gateway."""
    app = build(
        Settings(database_url=f"sqlite:///{tmp_path / 'paying.db'}", payment_gateway="manual"),
        clock=clock,
    )
    yield app
    app.close()


def test_a_paid_order_shipped_in_full_is_refused_with_the_refund_hint(paying_app):
    add_product(paying_app, "A")
    receive(paying_app, "A", 10)
    cmd = orders.PlaceOrder(
        add_customer(paying_app), [orders.OrderLineIn("A", 4)], payment=PaymentIn("manual")
    )
    placed = orders.place_order(paying_app.uow, cmd, paying_app.clock())
    executor.run_payment_intents(
        paying_app.uow, paying_app.gateways, paying_app.clock(), paying_app.payment_settings
    )
    orders.ship_order(paying_app.uow, placed.id, paying_app.clock())  # captures the 4 units
    line_id = placed.lines[0].id

    with pytest.raises(Conflict, match=r"nothing left to cancel \(refund it instead\)$"):
        orders.cancel_order(paying_app.uow, placed.id, paying_app.clock())
    with pytest.raises(Conflict, match=r"nothing left to cancel \(refund it instead\)$"):
        orders.cancel_line(paying_app.uow, placed.id, line_id, paying_app.clock())

    assert parts(line_of(paying_app, placed.id))["cancelled"] == 0
    assert count_events(paying_app, "line_cancelled") == 0
    assert count_events(paying_app, "order_cancelled") == 0
    assert_invariants(paying_app)
