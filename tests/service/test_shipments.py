"""Shipments: a reference names one shipment (a retry repeats it, other units or another
order under it are refused), and a shipment of no units is a mistake in the request."""

from __future__ import annotations

import pytest

from backorder.domain.errors import Conflict, InvalidInput
from backorder.service import orders, queries

from ..acceptance.helpers import (
    add_customer,
    add_product,
    assert_invariants,
    count_events,
    line_of,
    parts,
    place,
    receive,
    stock_of,
)


def _two_orders(app) -> tuple[int, int, int, int]:
    """Ann orders 4 of A and Bob 2, all allocated from the 10 on hand: (order, line) each."""
    add_product(app, "A")
    receive(app, "A", 10)
    ann = place(app, add_customer(app, "Ann"), ("A", 4))
    bob = place(app, add_customer(app, "Bob"), ("A", 2))
    return ann.id, ann.lines[0].id, bob.id, bob.lines[0].id


def _ship(app, order_id: int, quantities: dict[int, int] | None, reference: str | None = None):
    return orders.ship_order(app.uow, order_id, app.clock(), quantities, reference)


def _state(app, *order_ids: int) -> tuple:
    """What a refused shipment must leave as it was: lines, stock, ledger, events."""
    lines = [parts(line_of(app, order_id)) for order_id in order_ids]
    ledger = len(queries.ledger(app.uow, "A"))
    return lines, stock_of(app, "A"), ledger, count_events(app, "shipment_shipped")


def test_a_shipment_reference_reused_with_other_units_is_refused_and_ships_nothing(any_app):
    order_id, line_id, _, _ = _two_orders(any_app)
    first = _ship(any_app, order_id, {line_id: 1}, "S1")
    before = _state(any_app, order_id)

    with pytest.raises(Conflict, match="'S1'") as refused:
        _ship(any_app, order_id, {line_id: 3}, "S1")

    assert refused.value.details["field"] == "reference"
    assert refused.value.details["shipment_id"] == first["shipment_id"]
    assert _state(any_app, order_id) == before
    assert parts(line_of(any_app, order_id))["shipped"] == 1
    assert_invariants(any_app)


def test_a_shipment_reference_reused_on_another_order_is_refused_and_ships_nothing(any_app):
    ann_order, ann_line, bob_order, bob_line = _two_orders(any_app)
    _ship(any_app, ann_order, {ann_line: 1}, "S1")
    before = _state(any_app, ann_order, bob_order)

    with pytest.raises(Conflict, match="'S1'") as refused:
        _ship(any_app, bob_order, {bob_line: 1}, "S1")

    assert refused.value.details["field"] == "reference"
    assert refused.value.details["order_id"] == ann_order
    assert _state(any_app, ann_order, bob_order) == before
    assert_invariants(any_app)


def test_a_retry_with_the_same_reference_and_units_repeats_the_first_shipment(app):
    order_id, line_id, _, _ = _two_orders(app)
    first = _ship(app, order_id, {line_id: 1}, "S1")
    before = _state(app, order_id)

    again = _ship(app, order_id, {line_id: 1}, "S1")

    assert (again["repeated"], again["shipment_id"]) == (True, first["shipment_id"])
    assert _state(app, order_id) == before


def test_a_retry_of_shipping_everything_repeats_the_first_shipment(app):
    """Leaving quantities out asks for what was allocated when the reference first shipped:
    a retry without them, or naming those units, gets that shipment."""
    order_id, line_id, _, _ = _two_orders(app)
    first = _ship(app, order_id, None, "S-ALL")
    before = _state(app, order_id)

    assert _ship(app, order_id, None, "S-ALL")["shipment_id"] == first["shipment_id"]
    assert _ship(app, order_id, {line_id: 4}, "S-ALL")["repeated"] is True
    assert _state(app, order_id) == before
    assert parts(line_of(app, order_id))["shipped"] == 4


def test_shipping_zero_units_of_a_line_is_refused_naming_the_line(any_app):
    order_id, line_id, _, _ = _two_orders(any_app)
    before = _state(any_app, order_id)

    with pytest.raises(InvalidInput) as refused:
        _ship(any_app, order_id, {line_id: 0})

    assert refused.value.details == {
        "field": f"quantities[{line_id}]",
        "reason": "must be at least 1",
    }
    assert _state(any_app, order_id) == before


def test_shipping_zero_units_of_every_line_named_is_refused(app):
    add_product(app, "A")
    add_product(app, "B")
    receive(app, "A", 2)
    receive(app, "B", 2)
    placed = place(app, add_customer(app), ("A", 2), ("B", 2))

    with pytest.raises(InvalidInput) as refused:
        _ship(app, placed.id, {line.id: 0 for line in placed.lines})

    assert refused.value.details["field"] == "quantities"
    assert count_events(app, "shipment_shipped") == 0


def test_empty_quantities_are_refused_and_leaving_them_out_ships_everything(any_app):
    order_id, line_id, _, _ = _two_orders(any_app)
    before = _state(any_app, order_id)

    with pytest.raises(InvalidInput) as refused:
        _ship(any_app, order_id, {})

    assert refused.value.details["field"] == "quantities"
    assert "leave quantities out to ship everything allocated" in refused.value.message
    assert _state(any_app, order_id) == before
    shipped = _ship(any_app, order_id, None)
    assert [(row["line_id"], row["qty"]) for row in shipped["lines"]] == [(line_id, 4)]
    assert_invariants(any_app)
