"""Idempotency-Key on POST: the first answer again, or 409 for another body."""

from __future__ import annotations

import hashlib

import pytest
from fastapi.testclient import TestClient

from backorder.entrypoints.api.app import create_app
from backorder.service import idempotency


@pytest.fixture
def client(app):
    with TestClient(create_app(app, release_loop=False)) as client:
        client.post(
            "/products",
            json={"sku": "A", "name": "A", "price_minor": 100, "backorder_policy": "allow"},
        )
        yield client


def test_the_same_key_and_body_returns_the_first_response_and_changes_nothing(client, clock):
    headers = {"Idempotency-Key": "rcpt-1"}
    first = client.post("/receipts", json={"sku": "A", "qty": 5}, headers=headers)
    clock.advance(hours=23)
    again = client.post("/receipts", json={"sku": "A", "qty": 5}, headers=headers)
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    assert client.get("/stock", params={"sku": "A"}).json()[0]["on_hand"] == 5


def test_the_same_key_with_another_body_is_a_clear_conflict(client):
    headers = {"Idempotency-Key": "rcpt-2"}
    client.post("/receipts", json={"sku": "A", "qty": 5}, headers=headers)
    other = client.post("/receipts", json={"sku": "A", "qty": 6}, headers=headers)
    assert other.status_code == 409
    assert other.json()["details"] == {
        "field": "Idempotency-Key",
        "reason": "already used with another request body",
    }
    assert client.get("/stock", params={"sku": "A"}).json()[0]["on_hand"] == 5


def test_a_key_is_forgotten_after_24_hours(client, clock):
    headers = {"Idempotency-Key": "rcpt-3"}
    client.post("/receipts", json={"sku": "A", "qty": 5}, headers=headers)
    clock.advance(hours=24, seconds=1)
    client.post("/receipts", json={"sku": "A", "qty": 5}, headers=headers)
    assert client.get("/stock", params={"sku": "A"}).json()[0]["on_hand"] == 10


def test_a_refused_request_is_replayed_as_refused(client):
    customer = client.post("/customers", json={"name": "Ann"}).json()["id"]
    body = {"customer_id": customer, "lines": [{"sku": "NOPE", "qty": 1}]}
    headers = {"Idempotency-Key": "order-1"}
    first = client.post("/orders", json=body, headers=headers)
    again = client.post("/orders", json=body, headers=headers)
    assert (first.status_code, again.status_code) == (422, 422)
    assert again.json() == first.json()


def test_a_reservation_left_by_a_killed_process_is_taken_over_after_two_minutes(client, clock):
    backend = client.app.state.backend
    body = b'{"sku": "A", "qty": 5}'
    # A process reserved the key and died before it could run or record the request.
    fingerprint = hashlib.sha256(b"/receipts?\n" + body).hexdigest()
    assert idempotency.reserve(backend.uow, "rcpt-9", fingerprint, clock()).action == "run"
    headers = {"Idempotency-Key": "rcpt-9", "content-type": "application/json"}
    assert client.post("/receipts", content=body, headers=headers).status_code == 409
    clock.advance(minutes=2)
    retried = client.post("/receipts", content=body, headers=headers)
    assert retried.status_code == 201
    assert client.get("/stock", params={"sku": "A"}).json()[0]["on_hand"] == 5
