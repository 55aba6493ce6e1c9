"""Merchant webhooks through a real HTTP receiver: signed, filtered, retried, dead-lettered."""

from __future__ import annotations

import pytest

from backorder.domain.errors import InvalidInput
from backorder.service import notify_admin, stock
from backorder.service.notifications import DispatchPolicy, backoff

from .notify_support import (
    SECRET,
    SmtpSink,
    WebhookReceiver,
    add_customer,
    add_product,
    dispatcher,
    place,
    text_of,
)


def add_endpoint(app, receiver: WebhookReceiver, *kinds: str) -> int:
    return notify_admin.add_webhook(app.uow, receiver.url, app.clock(), kinds, SECRET).id


def test_b44_one_admin_alert_and_one_customer_notice_both_say_two(app):
    add_product(app, "A", on_hand=3)
    ann = add_customer(app, "Ann", "ann@example.com")
    with WebhookReceiver() as hook, SmtpSink() as smtp:
        add_endpoint(app, hook, "order_backordered")
        place(app, ann, "A", 5)
        dispatcher(app, smtp).run_until_idle()

    [alert] = hook.received
    assert alert.signature_ok
    assert alert.kind == "order_backordered"
    assert alert.body["data"]["backordered"] == 2
    assert [line["backordered"] for line in alert.body["data"]["lines"]] == [2]
    [notice] = smtp.inbox
    assert "2 units of Item A (A) are on backorder" in text_of(notice)


def test_every_event_reaches_an_unfiltered_endpoint_once_with_a_stable_key(app):
    add_product(app, "A", on_hand=0)
    ann = add_customer(app)
    with WebhookReceiver() as hook:
        endpoint = add_endpoint(app, hook)
        order = place(app, ann, "A", 2)
        stock.receive_stock(app.uow, "A", "main", 2, app.clock())
        dispatcher(app).run_until_idle()
        dispatcher(app).run_until_idle()

    kinds = [r.kind for r in hook.received]
    assert kinds[:2] == ["order_placed", "order_backordered"]
    assert "order_ready_to_ship" in kinds
    assert all(r.signature_ok for r in hook.received)
    assert max(hook.keys().values()) == 1
    first = hook.received[0]
    assert first.key == f"evt{first.body['event_id']}-webhook-ep{endpoint}"
    assert first.body["id"] == first.key and first.body["order_id"] == order.id


def test_a_filtered_endpoint_gets_only_its_kinds(app):
    add_product(app, "A", on_hand=0)
    ann = add_customer(app)
    with WebhookReceiver() as hook:
        add_endpoint(app, hook, "order_ready_to_ship")
        place(app, ann, "A", 1)
        stock.receive_stock(app.uow, "A", "main", 1, app.clock())
        dispatcher(app).run_until_idle()

    assert [r.kind for r in hook.received] == ["order_ready_to_ship"]


def test_retries_wait_for_next_attempt_at_with_doubling_backoff(app, clock):
    add_product(app, "A", on_hand=0)
    with WebhookReceiver(status=500) as hook:
        add_endpoint(app, hook, "order_placed")
        place(app, add_customer(app), "A", 1)
        worker = dispatcher(app, dispatch_backoff_seconds=30, dispatch_max_attempts=8)

        assert worker.run_until_idle().failed == 1
        assert worker.run_until_idle().idle  # not due yet
        clock.advance(seconds=29)
        assert worker.run_until_idle().idle
        clock.advance(seconds=1)
        assert worker.run_until_idle().failed == 1  # 2nd try at +30 s
        clock.advance(seconds=59)
        assert worker.run_until_idle().idle
        clock.advance(seconds=1)
        assert worker.run_until_idle().failed == 1  # 3rd try 60 s later
        hook.status = 200
        clock.advance(seconds=120)
        assert worker.run_until_idle().sent == 1

    [delivery] = notify_admin.deliveries(app.uow)
    assert (delivery.status, delivery.attempts, delivery.last_error) == ("sent", 4, None)
    assert len(hook.received) == 1


def test_an_endpoint_that_always_fails_is_dead_lettered_after_n_attempts(app, clock):
    add_product(app, "A", on_hand=0)
    with WebhookReceiver(status=500) as hook:
        add_endpoint(app, hook, "order_placed")
        place(app, add_customer(app), "A", 1)
        worker = dispatcher(app, dispatch_max_attempts=3, dispatch_backoff_seconds=1)
        outcomes = []
        for _ in range(6):
            outcomes.append(worker.run_until_idle())
            clock.advance(hours=1)

    assert [(o.failed, o.dead) for o in outcomes] == [(1, 0), (1, 0), (0, 1)] + [(0, 0)] * 3
    [dead] = notify_admin.deliveries(app.uow, status="dead")
    assert dead.attempts == 3 and "HTTP 500" in dead.last_error


def test_a_dead_letter_can_be_retried_by_hand(app, clock):
    add_product(app, "A", on_hand=0)
    with WebhookReceiver(status=500) as hook:
        add_endpoint(app, hook, "order_placed")
        place(app, add_customer(app), "A", 1)
        worker = dispatcher(app, dispatch_max_attempts=1)
        worker.run_until_idle()
        [dead] = notify_admin.deliveries(app.uow, status="dead")
        hook.status = 200
        notify_admin.retry_delivery(app.uow, dead.id, clock())
        worker.run_until_idle()

    assert notify_admin.delivery(app.uow, dead.id).status == "sent"
    assert len(hook.received) == 1


def test_backoff_doubles_and_is_capped():
    policy = DispatchPolicy(backoff_seconds=30, backoff_max_seconds=100)
    assert [backoff(n, policy).total_seconds() for n in (1, 2, 3, 4)] == [30, 60, 100, 100]


def test_a_removed_endpoint_gets_nothing_more(app):
    add_product(app, "A", on_hand=0)
    with WebhookReceiver() as hook:
        endpoint = add_endpoint(app, hook)
        notify_admin.remove_webhook(app.uow, endpoint, app.clock())
        place(app, add_customer(app), "A", 1)
        dispatcher(app).run_until_idle()

    assert hook.received == []
    assert [e.active for e in notify_admin.webhooks(app.uow)] == [False]


def test_an_endpoint_needs_an_http_url():
    with pytest.raises(InvalidInput):
        notify_admin._webhook_values("ftp://example.com", (), None, None)
