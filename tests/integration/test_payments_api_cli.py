"""Payments over the HTTP API (intents run after each command) and the command line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from backorder.entrypoints.api.app import create_app
from tests.integration import payments_helpers as kit
from tests.integration.payments_helpers import EUR

sandbox, shop = kit.sandbox, kit.shop  # fixtures
BIN = Path(sys.executable).parent / "backorder"


@pytest.fixture
def client(shop):
    with TestClient(create_app(shop, release_loop=False)) as client:
        yield client


def _setup(client, on_hand: int = 5) -> int:
    client.post(
        "/products",
        json={
            "sku": "A",
            "name": "Anvil",
            "price_minor": 10 * EUR,
            "currency": "EUR",
            "backorder_policy": "allow",
        },
    )
    client.post("/receipts", json={"sku": "A", "qty": on_hand, "reference": "init"})
    return client.post("/customers", json={"name": "Ann"}).json()["id"]


def _order(client, ann: int, qty: int, **payment) -> dict:
    body = {
        "customer_id": ann,
        "lines": [{"sku": "A", "qty": qty}],
        "payment": {"method": "tok_visa", **payment},
    }
    response = client.post("/orders", json=body)
    assert response.status_code == 201, response.text
    return response.json()


def test_an_order_paid_through_the_api_is_authorized_captured_and_shown(client, sandbox):
    ann = _setup(client)
    order = _order(client, ann, 3)
    history = client.get(f"/orders/{order['id']}/payments").json()
    assert (history["status"], history["authorized"]) == ("authorized", 30 * EUR)

    two = {"quantities": {order["lines"][0]["id"]: 2}}
    client.post(f"/orders/{order['id']}/shipments", json=two)
    history = client.get(f"/orders/{order['id']}/payments").json()
    assert (history["status"], history["captured"]) == ("partially_captured", 20 * EUR)
    assert [op["kind"] for op in history["operations"]] == ["authorize", "capture"]

    client.post(f"/orders/{order['id']}/cancel")
    history = client.get(f"/orders/{order['id']}/payments").json()
    assert (history["captured"], history["voided"], history["status"]) == (
        20 * EUR,
        10 * EUR,
        "captured",
    )


def test_operator_actions_capture_refund_and_void(client, sandbox):
    ann = _setup(client)
    order = _order(client, ann, 4)
    line_id = order["lines"][0]["id"]
    url = f"/orders/{order['id']}/payments"

    captured = client.post(f"{url}/capture", json={"lines": {str(line_id): 3}})
    assert captured.status_code == 200, captured.text
    refunded = client.post(f"{url}/refund", json={"line_id": line_id, "units": 1})
    assert refunded.status_code == 200, refunded.text
    assert client.post(f"{url}/void").status_code == 200
    history = client.get(url).json()
    assert (history["captured"], history["refunded"], history["voided"]) == (
        30 * EUR,
        10 * EUR,
        10 * EUR,
    )
    assert client.get(f"/orders/{order['id']}").json()["lines"][0]["allocated"] == 3
    assert client.post(f"{url}/capture", json={"lines": {str(line_id): 9}}).status_code == 422
    assert client.get("/check").json()["ok"] is True


def test_a_declined_order_is_retried_by_the_customer(client, sandbox):
    ann = _setup(client)
    order = _order(client, ann, 1, method="tok_decline")
    url = f"/orders/{order['id']}/payments"
    assert client.get(url).json()["status"] == "payment_required"
    shipped = client.post(f"/orders/{order['id']}/shipments")
    assert (shipped.status_code, shipped.json()["code"]) == (409, "shipment_not_allowed")

    assert client.post(f"{url}/retry", json={"method": "tok_visa"}).status_code == 200
    assert client.get(url).json()["status"] == "authorized"
    assert client.post(f"/orders/{order['id']}/shipments").status_code == 201
    assert client.get(url).json()["captured"] == 10 * EUR


def test_payment_details_are_checked(client, sandbox):
    ann = _setup(client)
    unknown = client.post(
        "/orders",
        json={
            "customer_id": ann,
            "lines": [{"sku": "A", "qty": 1}],
            "payment": {"gateway": "nope"},
        },
    )
    assert (unknown.status_code, unknown.json()["details"]["field"]) == (422, "payment.gateway")
    plain = client.post("/orders", json={"customer_id": ann, "lines": [{"sku": "A", "qty": 1}]})
    assert client.get(f"/orders/{plain.json()['id']}/payments").status_code == 404
    assert client.post("/payments/webhooks/nope", content=b"{}").status_code == 404
    assert client.post("/payments/webhooks/sandbox", content=b"{}").status_code == 401
    assert client.post("/payments/run").json() == {
        "sweep": {"renewals": 0, "released": 0},
        "intents": {},
    }


def test_the_command_line_attaches_a_manual_payment_and_marks_it_paid(tmp_path):
    env = dict(
        os.environ,
        BACKORDER_DATABASE_URL=f"sqlite:///{tmp_path / 'cli.db'}",
        BACKORDER_PAYMENT_GATEWAY="manual",
    )

    def cli(*args: str) -> str:
        done = subprocess.run([BIN, *args], env=env, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout

    cli("product", "add", "MUG", "Mug", "--price", "12.50", "--currency", "EUR")
    cli("receive", "MUG", "2", "--reference", "PO-1")
    ann = json.loads(cli("--json", "customer", "add", "Ann"))["id"]
    order = json.loads(cli("--json", "order", "place", "--customer", str(ann), "--line", "MUG:2"))
    attached = cli("payment", "attach", str(order["id"]))
    assert "authorized 0.00 EUR" in attached  # the intent runs right after the command
    assert "authorized 25.00 EUR" in cli("payment", "show", str(order["id"]))

    cli("order", "ship", str(order["id"]))
    assert "1 capture(s) confirmed" in cli("payment", "mark-paid", str(order["id"]))
    shown = json.loads(cli("--json", "payment", "show", str(order["id"])))
    assert (shown["captured"], shown["status"]) == (2500, "captured")
    ran = json.loads(cli("--json", "payments", "run"))
    assert ran == {"sweep": {"renewals": 0, "released": 0}, "intents": {}}
