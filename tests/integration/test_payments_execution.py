"""Intents executed after commit: timeouts, unreachable gateways and crashes are retried with
the same idempotency key; renewals before capture; grace periods; deposits; the manual
gateway; orders without payment details."""

from __future__ import annotations

import pytest

from backorder.bootstrap import build
from backorder.config import Settings
from backorder.domain.errors import NotFound, ShipmentNotAllowed
from backorder.domain.model import BackorderPolicy
from backorder.domain.payments import Policy
from backorder.service import orders, payment_commands, queries, stock
from backorder.service import payment_executor as executor
from backorder.service import payment_records as records
from backorder.service.payment_views import PaymentIn
from tests.integration import payments_helpers as kit
from tests.integration.payments_helpers import (
    EUR,
    customer,
    events,
    moved,
    paid,
    place,
    product,
    run,
    run_all,
    stock_of,
)

sandbox, shop = kit.sandbox, kit.shop  # fixtures


def test_an_answer_that_comes_too_late_is_asked_again_and_charged_once(shop, sandbox):
    product(shop, "A", 10 * EUR, on_hand=1)
    order = place(shop, customer(shop), ("A", 1))
    run(shop)
    sandbox.plan("capture", "timeout")  # the capture happens; its answer misses the timeout

    orders.ship_order(shop.uow, order.id, shop.clock())
    run(shop)

    assert paid(shop, order.id).captured == 10 * EUR
    assert moved(sandbox, "capture", order.id) == [10 * EUR]


def test_an_unreachable_gateway_is_retried_later_with_the_same_key(shop, sandbox, clock):
    product(shop, "A", 10 * EUR, on_hand=1)
    order = place(shop, customer(shop), ("A", 1))
    run(shop)
    orders.ship_order(shop.uow, order.id, shop.clock())
    sandbox.plan("capture", "error", times=3)  # every quick retry of this round fails

    assert run(shop) == {"retry": 1}
    assert run(shop) == {}  # not due yet
    [capture] = [i for i in paid(shop, order.id).intents if i.kind == "capture"]
    assert (capture.status, capture.attempts) == ("pending", 1)

    clock.advance(seconds=30)
    assert run(shop) == {"succeeded": 1}
    assert paid(shop, order.id).captured == 10 * EUR
    assert moved(sandbox, "capture", order.id) == [10 * EUR]


def test_a_crash_between_the_gateway_call_and_its_record_charges_once(
    shop, sandbox, clock, monkeypatch
):
    product(shop, "A", 10 * EUR, on_hand=1)
    order = place(shop, customer(shop), ("A", 1))
    run(shop)
    orders.ship_order(shop.uow, order.id, shop.clock())
    record = executor.record

    def crash_on_capture(uow, intent, kind, *args, **kwargs):
        if kind == "capture":
            raise SystemExit("the process died after the gateway captured")
        return record(uow, intent, kind, *args, **kwargs)

    monkeypatch.setattr(executor, "record", crash_on_capture)
    with pytest.raises(SystemExit):
        run(shop)
    monkeypatch.setattr(executor, "record", record)
    assert moved(sandbox, "capture", order.id) == [10 * EUR]  # money moved, nothing recorded
    assert paid(shop, order.id).captured == 0
    assert run(shop) == {}  # still leased by the dead runner

    clock.advance(minutes=3)
    assert run(shop) == {"succeeded": 1}
    assert paid(shop, order.id).captured == 10 * EUR
    assert moved(sandbox, "capture", order.id) == [10 * EUR]


def test_an_authorization_lapsing_soon_is_renewed_before_the_capture(shop, sandbox, clock):
    product(shop, "A", 100 * EUR, on_hand=1)
    order = place(shop, customer(shop), ("A", 1))
    run(shop)
    clock.advance(days=6, hours=12)  # half a day left: inside the 24 h margin

    orders.ship_order(shop.uow, order.id, shop.clock())
    run(shop)

    after = paid(shop, order.id)
    old, new = after.authorizations
    assert (after.authorized, after.captured, after.voided) == (200 * EUR, 100 * EUR, 100 * EUR)
    assert (old["status"], new["status"]) == ("voided", "captured")
    assert moved(sandbox, "capture", order.id) == [100 * EUR]


def test_the_sweep_renews_authorizations_of_waiting_orders_before_they_lapse(shop, sandbox, clock):
    product(shop, "A", 100 * EUR, on_hand=0)
    order = place(shop, customer(shop), ("A", 1))
    run(shop)
    clock.advance(days=5)
    assert run_all(shop)["sweep"]["renewals"] == 0
    clock.advance(days=1, hours=1)

    assert run_all(shop)["sweep"]["renewals"] == 1
    assert run_all(shop)["sweep"]["renewals"] == 0

    after = paid(shop, order.id)
    assert [a["status"] for a in after.authorizations] == ["voided", "open"]
    assert (after.authorized, after.voided, after.status) == (200 * EUR, 100 * EUR, "authorized")


def test_after_the_grace_period_unpaid_units_go_to_the_next_in_line(shop, sandbox, clock):
    product(shop, "A", 100 * EUR, on_hand=1, policy=BackorderPolicy.DENY)
    late = place(shop, customer(shop, "Ann"), ("A", 1), method="tok_decline")
    run(shop)
    assert stock_of(shop, "A")["available"] == 0  # kept for Ann during the grace period
    with pytest.raises(ShipmentNotAllowed):
        orders.ship_order(shop.uow, late.id, shop.clock())

    clock.advance(hours=49)
    assert run_all(shop)["sweep"]["released"] == 1
    assert stock_of(shop, "A")["available"] == 1
    assert events(shop, "payment_units_released", late.id) == 1
    prompt = place(shop, customer(shop, "Bob"), ("A", 1))
    assert prompt.lines[0].allocated == 1

    payment_commands.retry_payment(shop.uow, late.id, shop.clock(), method="tok_visa")
    run(shop)  # paid at last, but the unit is gone and A may not be backordered

    [line] = queries.order(shop.uow, late.id).lines
    assert (line.allocated, line.backordered, line.cancelled) == (0, 0, 1)
    after = paid(shop, late.id)
    assert (after.authorized, after.captured, after.voided) == (100 * EUR, 0, 100 * EUR)
    assert stock_of(shop, "A") == {"on_hand": 1, "allocated": 1, "available": 0, "backordered": 0}
    assert queries.check(shop.uow) == []


def test_a_late_payment_for_a_backorderable_item_waits_in_the_queue(shop, sandbox, clock):
    product(shop, "A", 100 * EUR, on_hand=1, policy=BackorderPolicy.ALLOW)
    late = place(shop, customer(shop, "Ann"), ("A", 1), method="tok_decline")
    run(shop)
    clock.advance(hours=49)
    run_all(shop)
    stock.receive_stock(shop.uow, "A", "main", 1, shop.clock(), reference="PO-1")
    assert queries.order(shop.uow, late.id).lines[0].backordered == 1  # not served: unpaid

    payment_commands.retry_payment(shop.uow, late.id, shop.clock(), method="tok_visa")
    run(shop)

    assert queries.order(shop.uow, late.id).lines[0].allocated == 1
    assert paid(shop, late.id).status == "authorized"
    assert queries.check(shop.uow) == []


def test_a_deposit_is_taken_at_order_and_the_balance_as_units_ship(shop, sandbox):
    product(shop, "A", 100 * EUR, on_hand=1)
    product(shop, "B", 100 * EUR, on_hand=0)
    order = place(shop, customer(shop), ("A", 1), ("B", 1), policy=Policy.DEPOSIT, deposit=30)
    run(shop)
    assert (paid(shop, order.id).authorized, paid(shop, order.id).captured) == (200 * EUR, 60 * EUR)

    orders.cancel_line(shop.uow, order.id, order.lines[1].id, shop.clock())
    run(shop)  # B will not ship: the deposit on it comes back
    assert paid(shop, order.id).refunded == 30 * EUR

    orders.ship_order(shop.uow, order.id, shop.clock())
    run(shop)
    after = paid(shop, order.id)
    assert (after.captured, after.refunded, after.voided) == (130 * EUR, 30 * EUR, 70 * EUR)
    assert after.captured - after.refunded == 100 * EUR  # exactly the unit that shipped
    assert moved(sandbox, "capture", order.id) == [60 * EUR, 70 * EUR]
    assert queries.check(shop.uow) == []


def test_reducing_a_paid_line_refunds_the_units_that_will_not_ship(shop, sandbox):
    product(shop, "A", 10 * EUR, on_hand=10)
    order = place(shop, customer(shop), ("A", 5), policy=Policy.ON_ALLOCATION)
    run(shop)
    orders.change_line_qty(shop.uow, order.id, order.lines[0].id, 3, shop.clock())
    run(shop)
    after = paid(shop, order.id)
    assert (after.captured, after.refunded) == (50 * EUR, 20 * EUR)
    assert queries.check(shop.uow) == []


def test_the_manual_gateway_captures_when_the_operator_marks_the_order_paid(tmp_path, clock):
    app = build(
        Settings(database_url=f"sqlite:///{tmp_path / 'm.db'}", payment_gateway="manual"),
        clock=clock,
    )
    product(app, "A", 10 * EUR, on_hand=2)
    order = place(app, customer(app), ("A", 2), payment=PaymentIn("manual"))
    run(app)
    orders.ship_order(app.uow, order.id, app.clock())
    run(app)
    assert (paid(app, order.id).captured, paid(app, order.id).outstanding) == (0, 0)

    assert records.mark_paid(app.uow, order.id, app.clock()) == 1
    assert records.mark_paid(app.uow, order.id, app.clock()) == 0
    after = paid(app, order.id)
    assert (after.authorized, after.captured, after.status) == (20 * EUR, 20 * EUR, "captured")
    app.close()


def test_an_order_without_payment_details_works_as_before_in_a_paying_shop(shop, sandbox):
    product(shop, "A", 10 * EUR, on_hand=2)
    cmd = orders.PlaceOrder(customer(shop), [orders.OrderLineIn("A", 2)])
    order = orders.place_order(shop.uow, cmd, shop.clock())
    orders.ship_order(shop.uow, order.id, shop.clock(), {order.lines[0].id: 1})
    orders.cancel_order(shop.uow, order.id, shop.clock())
    run(shop)
    with pytest.raises(NotFound):
        paid(shop, order.id)
    assert sandbox.state()["movements"] == []
    assert stock_of(shop, "A")["on_hand"] == 1 and stock_of(shop, "A")["allocated"] == 0
