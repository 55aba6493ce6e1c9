"""The payment scenarios of ../shared/acceptance/scenarios.md, against the sandbox gateway
over real HTTP on loopback. Amounts are stated in euros (`EUR` minor units each)."""

from __future__ import annotations

from backorder.domain.errors import InsufficientStock
from backorder.domain.model import BackorderPolicy
from backorder.domain.payments import Policy
from backorder.service import orders, payment_commands, queries, stock
from backorder.service.payment_views import PaymentIn, PreAuthorization
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
from tests.integration.test_b01_b02_concurrent import together

sandbox, shop, any_shop = kit.sandbox, kit.shop, kit.any_shop  # fixtures


def test_b48_split_shipment_captures_each_part_once_and_never_a_third_time(shop, sandbox):
    product(shop, "A", 25 * EUR, on_hand=1)
    product(shop, "B", 25 * EUR, on_hand=0)
    order = place(shop, customer(shop), ("A", 1), ("B", 1))
    run(shop)
    assert paid(shop, order.id).authorized == 50 * EUR

    orders.ship_order(shop.uow, order.id, shop.clock())
    run(shop)
    after_a = paid(shop, order.id)
    assert (after_a.captured, after_a.status) == (25 * EUR, "partially_captured")

    stock.receive_stock(shop.uow, "B", "main", 1, shop.clock(), reference="PO-B")
    orders.ship_order(shop.uow, order.id, shop.clock())
    run(shop)
    run(shop)  # nothing is left to run: no third capture
    after_b = paid(shop, order.id)
    assert (after_b.captured, after_b.status) == (50 * EUR, "captured")
    assert [a["remaining"] for a in after_b.authorizations] == [0]
    assert moved(sandbox, "capture", order.id) == [25 * EUR, 25 * EUR]
    assert moved(sandbox, "void", order.id) == []
    assert queries.check(shop.uow) == []


def test_b14_cancel_after_partial_capture_keeps_paid_units_and_voids_the_rest(shop, sandbox):
    product(shop, "X", 10 * EUR, on_hand=100)
    product(shop, "Y", 10 * EUR, on_hand=100)
    order = place(shop, customer(shop), ("X", 10), ("Y", 10))
    run(shop)
    assert paid(shop, order.id).authorized == 200 * EUR
    x_line, y_line = (line.id for line in order.lines)

    payment_commands.capture_now(shop.uow, order.id, shop.clock(), {x_line: 7, y_line: 6})
    run(shop)
    assert paid(shop, order.id).captured == 130 * EUR

    orders.cancel_order(shop.uow, order.id, shop.clock())
    run(shop)

    assert stock_of(shop, "X") | {"backordered": 0} == {
        "on_hand": 100,
        "allocated": 7,
        "available": 93,
        "backordered": 0,
    }
    assert stock_of(shop, "Y")["allocated"] == 6 and stock_of(shop, "Y")["available"] == 94
    after = paid(shop, order.id)
    assert (after.captured, after.voided, after.refunded) == (130 * EUR, 70 * EUR, 0)
    assert moved(sandbox, "void", order.id) == [70 * EUR]
    assert queries.check(shop.uow) == []


def test_b50_authorization_expired_while_waiting_is_renewed_then_captured_once(shop, sandbox):
    product(shop, "A", 100 * EUR, on_hand=0, policy=BackorderPolicy.ALLOW)
    order = place(shop, customer(shop), ("A", 1))
    run(shop)
    first = paid(shop, order.id).authorizations[0]
    assert first["amount"] == 100 * EUR

    shop.clock.advance(days=8)
    sandbox.plan("authorize", "decline")
    run_all(shop)  # the renewal is declined
    declined = queries.order(shop.uow, order.id)
    assert declined.status == "backordered" and declined.lines[0].backordered == 1
    assert paid(shop, order.id).status == "payment_required"
    assert events(shop, "payment_failed", order.id) == 1
    assert events(shop, "payment_required", order.id) == 1

    payment_commands.retry_payment(shop.uow, order.id, shop.clock())
    run(shop)  # the second re-authorization succeeds
    stock.receive_stock(shop.uow, "A", "main", 1, shop.clock(), reference="PO-1")
    orders.ship_order(shop.uow, order.id, shop.clock())
    run_all(shop)

    after = paid(shop, order.id)
    old, new = after.authorizations
    assert (after.captured, after.authorized, after.status) == (100 * EUR, 200 * EUR, "captured")
    assert (old["status"], old["captured"]) == ("expired", 0)
    assert (new["status"], new["captured"]) == ("captured", 100 * EUR)
    captures = sandbox.state()["captures"].values()
    assert [(c["authorization"], c["amount"]) for c in captures] == [(new["reference"], 100 * EUR)]
    assert queries.check(shop.uow) == []


def test_b10_refund_with_restock_then_cancel_refunds_40_not_80(shop, sandbox):
    product(shop, "A", 20 * EUR, on_hand=10)
    order = place(shop, customer(shop), ("A", 2), policy=Policy.ON_ALLOCATION)
    run(shop)
    assert (paid(shop, order.id).captured, stock_of(shop, "A")["allocated"]) == (40 * EUR, 2)

    line_id = order.lines[0].id
    payment_commands.refund_line(shop.uow, order.id, line_id, shop.clock(), 2, restock=True)
    run(shop)
    assert stock_of(shop, "A")["allocated"] == 0 and stock_of(shop, "A")["available"] == 10
    assert paid(shop, order.id).refunded == 40 * EUR

    orders.cancel_order(shop.uow, order.id, shop.clock())
    run(shop)
    assert stock_of(shop, "A") == {"on_hand": 10, "allocated": 0, "available": 10, "backordered": 0}
    assert paid(shop, order.id).refunded == 40 * EUR
    assert moved(sandbox, "refund", order.id) == [40 * EUR]
    assert queries.check(shop.uow) == []


def test_b21_declined_then_retried_with_another_method_is_captured_once(shop, sandbox):
    product(shop, "A", 100 * EUR, on_hand=1)
    order = place(shop, customer(shop), ("A", 1), policy=Policy.ON_ALLOCATION, method="tok_decline")
    run(shop)
    assert paid(shop, order.id).status == "payment_required"
    assert stock_of(shop, "A")["allocated"] == 1  # the customer's own hold stays theirs

    retried = payment_commands.retry_payment(shop.uow, order.id, shop.clock(), method="tok_visa")
    assert retried.status == "payment_required"  # until the gateway says yes
    run(shop)

    after = paid(shop, order.id)
    assert (after.captured, after.status) == (100 * EUR, "captured")
    assert stock_of(shop, "A")["allocated"] == 1 and stock_of(shop, "A")["available"] == 0
    assert moved(sandbox, "capture", order.id) == [100 * EUR]
    assert queries.check(shop.uow) == []


def test_b01_a_refused_order_has_its_checkout_authorization_voided(any_shop, sandbox):
    product(any_shop, "A", 10 * EUR, on_hand=5, policy=BackorderPolicy.DENY)
    gateway = any_shop.gateways["sandbox"]
    holds = [
        gateway.authorize(
            amount=30 * EUR,
            currency="EUR",
            method="tok_visa",
            key=f"checkout-{n}",
            reference=f"cart-{n}",
        )
        for n in (1, 2)
    ]
    calls = []
    for hold, who in zip(holds, ("Ann", "Bob"), strict=True):
        pre = PreAuthorization(hold.reference, hold.amount, hold.expires_at)
        cmd = orders.PlaceOrder(
            customer(any_shop, who),
            [orders.OrderLineIn("A", 3)],
            payment=PaymentIn("sandbox", authorization=pre),
        )
        calls.append(lambda cmd=cmd: orders.place_order(any_shop.uow, cmd, any_shop.clock()))

    results = together(calls)
    run(any_shop)

    refused = [i for i, r in enumerate(results) if isinstance(r, InsufficientStock)]
    assert len(refused) == 1
    voided = sandbox.state()["authorizations"][holds[refused[0]].reference]
    assert (voided["status"], voided["captured"], voided["voided"]) == ("voided", 0, 30 * EUR)
    accepted = next(r for r in results if not isinstance(r, Exception))
    assert paid(any_shop, accepted.id).authorized == 30 * EUR
    assert stock_of(any_shop, "A") == {
        "on_hand": 5,
        "allocated": 3,
        "available": 2,
        "backordered": 0,
    }
    assert queries.check(any_shop.uow) == []
