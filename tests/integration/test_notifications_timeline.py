"""An order's timeline: every event and every message about it, in time order (API and CLI)."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from backorder.entrypoints import cli
from backorder.entrypoints.api.app import create_app
from backorder.service import stock

from .notify_support import (
    SECRET,
    SmtpSink,
    WebhookReceiver,
    add_customer,
    add_product,
    dispatcher,
    place,
)


@pytest.fixture
def client(app):
    with TestClient(create_app(app, release_loop=False)) as client:
        yield client


def backordered_then_ready(app, clock, client) -> int:
    """An order of 2 backordered, then received: two customer e-mails and one webhook."""
    add_product(app, "A", on_hand=0)
    ann = add_customer(app, "Ann", "ann@example.com")
    with SmtpSink() as smtp, WebhookReceiver() as hook:
        body = {"url": hook.url, "event_kinds": ["order_ready_to_ship"], "secret": SECRET}
        assert client.post("/webhooks", json=body).status_code == 201
        order = place(app, ann, "A", 2)
        clock.advance(minutes=1)
        dispatcher(app, smtp).run_until_idle()
        clock.advance(hours=1)
        stock.receive_stock(app.uow, "A", "main", 2, clock())
        clock.advance(minutes=1)
        dispatcher(app, smtp).run_until_idle()
    assert len(smtp.inbox) == 2 and len(hook.received) == 1
    return order.id


def test_the_timeline_lists_events_and_messages_in_time_order(app, clock, client):
    order_id = backordered_then_ready(app, clock, client)

    timeline = client.get(f"/orders/{order_id}/timeline").json()

    assert [(e["entry"], e["kind"]) for e in timeline] == [
        ("event", "order_placed"),
        ("event", "order_backordered"),
        ("message", "order_backordered"),
        ("event", "order_ready_to_ship"),
        ("message", "order_ready_to_ship"),
        ("message", "order_ready_to_ship"),
    ]
    email = timeline[2]["details"]
    assert (email["channel"], email["recipient"], email["status"]) == (
        "email",
        "ann@example.com",
        "sent",
    )
    assert email["subject"] == f"Backorder notice: order {order_id}"
    assert {m["details"]["channel"] for m in timeline[4:]} == {"email", "webhook"}
    assert timeline == sorted(timeline, key=lambda e: e["at"])


def test_the_timeline_of_an_unknown_order_is_404(client):
    assert client.get("/orders/999/timeline").status_code == 404


def test_the_cli_prints_the_same_timeline(app, clock, client):
    order_id = backordered_then_ready(app, clock, client)
    cli.backend.cache_clear()
    try:
        result = CliRunner().invoke(
            cli.app,
            [
                "--json",
                "--database-url",
                app.settings.database_url,
                "order",
                "timeline",
                str(order_id),
            ],
        )
    finally:
        cli.backend.cache_clear()

    assert result.exit_code == 0, result.output
    assert [e["kind"] for e in json.loads(result.output)][:3] == [
        "order_placed",
        "order_backordered",
        "order_backordered",
    ]


def test_opt_outs_through_the_api(app, client):
    ann = add_customer(app, "Ann", "ann@example.com")

    assert client.post(f"/customers/{ann}/opt-outs", json={"channel": "email"}).json() == {
        "customer_id": ann,
        "opted_out": ["email"],
    }
    assert client.get(f"/customers/{ann}/opt-outs").json()["opted_out"] == ["email"]
    assert client.delete(f"/customers/{ann}/opt-outs/email").json()["opted_out"] == []
    assert client.post(f"/customers/{ann}/opt-outs", json={"channel": "pigeon"}).status_code == 422
    assert client.get("/customers/999/opt-outs").status_code == 404


def test_webhooks_through_the_api_show_the_secret_once(client):
    created = client.post("/webhooks", json={"url": "https://merchant.example/hook"}).json()

    assert len(created["secret"]) == 64 and created["event_kinds"] == []
    [listed] = client.get("/webhooks").json()
    assert "secret" not in listed and listed["active"] is True
    assert client.delete(f"/webhooks/{created['id']}").json()["active"] is False
    assert client.post("/webhooks", json={"url": "mailto:x@y"}).status_code == 422


def test_the_delivery_log_shows_dead_letters(app, clock, client):
    add_product(app, "A", on_hand=0)
    with WebhookReceiver(status=500) as hook:
        client.post("/webhooks", json={"url": hook.url, "event_kinds": ["order_placed"]})
        place(app, add_customer(app), "A", 1)
        dispatcher(app, dispatch_max_attempts=1).run_until_idle()

    [dead] = client.get("/deliveries", params={"status": "dead"}).json()
    assert dead["channel"] == "webhook" and "HTTP 500" in dead["last_error"]
    assert "body" not in dead
    full = client.get(f"/deliveries/{dead['id']}").json()
    assert json.loads(full["body"])["kind"] == "order_placed"
    assert client.post(f"/deliveries/{dead['id']}/retry").json()["status"] == "pending"
