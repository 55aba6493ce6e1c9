"""Taking back received units that orders already hold (the adjustment side of B18)."""

from __future__ import annotations

import pytest

from backorder.domain.errors import StockWouldGoNegative
from backorder.service import orders, queries, stock

from .helpers import (
    add_customer,
    add_product,
    assert_invariants,
    line_of,
    place,
    receive,
    stock_of,
)


def _take_back(app, sku: str, qty: int, reference: str) -> dict:
    return stock.adjust_stock(
        app.uow,
        sku,
        "main",
        app.clock(),
        delta=-qty,
        reason="receipt_reversal",
        reference=reference,
    )


def test_taking_back_received_units_that_orders_hold_is_refused(any_app):
    add_product(any_app, "A")
    receive(any_app, "A", 10, reference="PO-1")
    ann = add_customer(any_app)
    placed = place(any_app, ann, ("A", 10))

    with pytest.raises(StockWouldGoNegative) as refused:
        _take_back(any_app, "A", 10, "PO-1")

    assert (refused.value.details["on_hand"], refused.value.details["allocated"]) == (10, 10)
    assert stock_of(any_app, "A") == {
        "on_hand": 10,
        "allocated": 10,
        "available": 0,
        "backordered": 0,
    }
    assert line_of(any_app, placed.id).allocated == 10
    assert [e.reason for e in queries.ledger(any_app.uow, "A")] == ["receipt"]
    assert_invariants(any_app)


def test_received_units_can_be_taken_back_once_their_order_is_cancelled(app):
    add_product(app, "A")
    receive(app, "A", 10, reference="PO-1")
    ann = add_customer(app)
    placed = place(app, ann, ("A", 10))
    orders.cancel_order(app.uow, placed.id, app.clock())

    result = _take_back(app, "A", 10, "PO-1")

    assert (result["change"], result["on_hand"]) == (-10, 0)
    assert stock_of(app, "A") == {"on_hand": 0, "allocated": 0, "available": 0, "backordered": 0}
    assert [e.delta for e in queries.ledger(app.uow, "A")] == [-10, 10]
    assert_invariants(app)
