"""Gateway callbacks: signed, verified, and recorded once however often and however
concurrently they come (B06). The sandbox posts them to our API served on loopback."""

from __future__ import annotations

import time

import httpx

from backorder.adapters.payments.http_gateway import sign
from backorder.domain.model import BackorderPolicy
from backorder.domain.payments import Policy
from backorder.service import orders, queries
from backorder.service import payment_records as records
from tests.integration import payments_helpers as kit
from tests.integration.payments_helpers import (
    EUR,
    SECRET,
    customer,
    events,
    moved,
    paid,
    place,
    product,
    run,
    serving,
    stock_of,
)

sandbox, shop, any_shop, served = kit.sandbox, kit.shop, kit.any_shop, kit.served  # fixtures


def overlapping_callbacks(monkeypatch, delay: float = 0.3) -> list[tuple[float, float]]:
    """Record when each callback is inside the service, and hold it there a moment, so a
    concurrent duplicate arrives while the first is still working."""
    spans: list[tuple[float, float]] = []
    record_callback = records.record_callback

    def slow(*args, **kwargs):
        entered = time.monotonic()
        time.sleep(delay)
        try:
            return record_callback(*args, **kwargs)
        finally:
            spans.append((entered, time.monotonic()))

    monkeypatch.setattr(records, "record_callback", slow)
    return spans


def test_b06_a_duplicate_payment_confirmation_is_recorded_and_charged_once(
    any_shop, sandbox, clock, monkeypatch
):
    product(any_shop, "A", 100 * EUR, on_hand=1, policy=BackorderPolicy.DENY)
    order = place(
        any_shop, customer(any_shop), ("A", 1), policy=Policy.ON_ALLOCATION, method="tok_3ds"
    )
    run(any_shop)
    assert paid(any_shop, order.id).status == "awaiting_authorization"
    [authorization] = sandbox.state()["authorizations"]
    spans = overlapping_callbacks(monkeypatch)

    with serving(any_shop) as base:
        sandbox.set_webhooks(f"{base}/payments/webhooks/sandbox", copies=2)
        sandbox.confirm(authorization)  # "payment succeeded", delivered twice at once
        run(any_shop)  # the capture; its own callback comes twice as well
        clock.advance(seconds=5)
        first_event = sandbox.state()["events"][0]["id"]
        sandbox.redeliver(first_event)  # and once more, 5 s later

    first, second = sorted(spans)[:2]
    assert second[0] < first[1], "the two confirmations overlapped"
    after = paid(any_shop, order.id)
    assert (after.authorized, after.captured, after.status) == (100 * EUR, 100 * EUR, "captured")
    assert moved(sandbox, "capture", order.id) == [100 * EUR]
    assert events(any_shop, "payment_authorized", order.id) == 1
    assert events(any_shop, "payment_captured", order.id) == 1
    assert events(any_shop, "order_backordered") == 0
    assert stock_of(any_shop, "A") == {
        "on_hand": 1,
        "allocated": 1,
        "available": 0,
        "backordered": 0,
    }
    deliveries = [e["deliveries"] for e in sandbox.events]
    assert all(set(d) == {200} for d in deliveries), "every duplicate acknowledged"
    assert queries.check(any_shop.uow) == []


def test_a_declined_bank_check_reaches_the_order_by_callback(shop, sandbox, served):
    product(shop, "A", 100 * EUR, on_hand=1)
    order = place(shop, customer(shop), ("A", 1), method="tok_3ds")
    run(shop)
    [authorization] = sandbox.state()["authorizations"]

    sandbox.confirm(authorization, succeed=False)

    after = paid(shop, order.id)
    assert (after.status, after.authorized) == ("payment_required", 0)
    assert events(shop, "payment_failed", order.id) == 1
    assert events(shop, "payment_required", order.id) == 1
    assert stock_of(shop, "A")["allocated"] == 1  # kept for the grace period


def test_a_callback_with_a_wrong_signature_is_refused_and_changes_nothing(shop, sandbox, served):
    product(shop, "A", 100 * EUR, on_hand=1)
    order = place(shop, customer(shop), ("A", 1), method="tok_3ds")
    run(shop)
    [authorization] = sandbox.state()["authorizations"]
    key = f"order:{order.id}:authorize:1"
    body = (
        httpx.Client()
        .build_request(
            "POST",
            "http://x",
            json={
                "id": "evt_forged",
                "type": "authorization.succeeded",
                "data": {
                    "object": {
                        "id": authorization,
                        "object": "authorization",
                        "amount": 100 * EUR,
                        "status": "authorized",
                        "idempotency_key": key,
                    }
                },
            },
        )
        .content
    )
    url = f"{served}/payments/webhooks/sandbox"
    now = int(shop.clock().timestamp())

    def post(secret: str | None, stamp: int = now) -> httpx.Response:
        headers = {"gateway-signature": sign(secret, stamp, body)} if secret else {}
        return httpx.post(url, content=body, headers=headers)

    refused = [post("guess"), post(None), post(SECRET, now - 3600)]  # forged, unsigned, stale
    assert [r.status_code for r in refused] == [401, 401, 401]
    assert paid(shop, order.id).authorized == 0
    assert post(SECRET).json()["recorded"] is True
    assert paid(shop, order.id).authorized == 100 * EUR


def test_callbacks_racing_the_executor_record_each_outcome_once(shop, sandbox, served):
    """Every answer also comes as a callback, twice, before the executor reads the answer."""
    sandbox.set_webhooks(sandbox.webhook_url, copies=2)
    product(shop, "A", 10 * EUR, on_hand=5)
    order = place(shop, customer(shop), ("A", 3))
    run(shop)
    orders.ship_order(shop.uow, order.id, shop.clock(), {order.lines[0].id: 2})
    run(shop)
    orders.cancel_order(shop.uow, order.id, shop.clock())
    run(shop)

    after = paid(shop, order.id)
    assert (after.authorized, after.captured, after.voided) == (30 * EUR, 20 * EUR, 10 * EUR)
    keys = [op.idempotency_key for op in after.operations]
    assert len(keys) == len(set(keys)) == 3
    assert len(sandbox.events) == 3 and all(len(e["deliveries"]) == 2 for e in sandbox.events)
    assert queries.check(shop.uow) == []
