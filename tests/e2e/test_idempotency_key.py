"""Idempotency-Key on POST: the first answer again, or 409 for another body."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from backorder.entrypoints.api.app import create_app


@pytest.fixture
def client(app):
    with TestClient(create_app(app, release_loop=False)) as client:
        client.post("/products", json={"sku": "A", "name": "A", "price_minor": 100,
                                       "backorder_policy": "allow"})  # fmt: skip
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
        "field": "Idempotency-Key", "reason": "already used with another request body"}  # fmt: skip
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
