"""Every endpoint declares its role; anonymous callers and lower roles are refused; a customer
key reaches only that customer's orders."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from backorder.bootstrap import build
from backorder.config import Settings
from backorder.domain.model import BackorderPolicy, Product
from backorder.domain.roles import RANK, Role
from backorder.entrypoints.api.app import create_app
from backorder.entrypoints.api.auth import CUSTOMERS_KEY, ROLE_KEY
from backorder.service import auth, catalog, orders

LOWER = {Role.INTEGRATION: Role.VIEWER, Role.OPERATOR: Role.INTEGRATION, Role.ADMIN: Role.OPERATOR}


@pytest.fixture
def secured(tmp_path, clock):
    backend = build(Settings(database_url=f"sqlite:///{tmp_path / 'a.db'}", api_auth=True), clock)
    uow, now = backend.uow, clock()
    keys = {role: auth.create_key(uow, role.value, role, now)[0] for role in RANK}
    catalog.save_product(uow, Product("A", "Anvil", 100, "EUR", BackorderPolicy.ALLOW), now)
    ann, bob = (catalog.create_customer(uow, catalog.CustomerIn(n), now) for n in ("Ann", "Bob"))
    own = orders.place_order(uow, orders.PlaceOrder(ann.id, [orders.OrderLineIn("A", 1)]), now)
    other = orders.place_order(uow, orders.PlaceOrder(bob.id, [orders.OrderLineIn("A", 1)]), now)
    keys[Role.CUSTOMER] = auth.create_key(uow, "ann", Role.CUSTOMER, now, ann.id)[0]
    with TestClient(create_app(backend, release_loop=False)) as client:
        yield client, keys, own, other
    backend.close()


def _operations(client):
    for path, methods in client.get("/openapi.json").json()["paths"].items():
        for method, operation in methods.items():
            yield path, method, operation


def _call(client, method, path, key=None):
    url = re.sub(r"\{[^}]+\}", "1", path)
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    body = {} if method in ("post", "put", "patch") else None
    return client.request(method.upper(), url, headers=headers, json=body)


def test_every_endpoint_declares_the_role_it_needs(secured):
    client, *_ = secured
    undeclared = [f"{m.upper()} {p}" for p, m, op in _operations(client) if ROLE_KEY not in op]
    assert undeclared == []


def test_every_endpoint_refuses_anonymous_callers_lower_roles_and_foreign_customer_keys(secured):
    client, keys, *_ = secured
    checked = 0
    for path, method, operation in _operations(client):
        needed = operation[ROLE_KEY]
        if needed == "public":
            continue
        assert _call(client, method, path).status_code == 401, f"{method} {path} anonymous"
        lower = LOWER.get(Role(needed))
        if lower is not None:
            response = _call(client, method, path, keys[lower])
            assert response.status_code == 403, f"{method} {path} as {lower}"
        if not operation[CUSTOMERS_KEY]:
            response = _call(client, method, path, keys[Role.CUSTOMER])
            assert response.status_code == 403, f"{method} {path} as a customer"
        checked += 1
    assert checked >= 40


def test_a_customer_key_sees_only_its_own_orders(secured):
    client, keys, own, other = secured
    headers = {"Authorization": f"Bearer {keys[Role.CUSTOMER]}"}
    assert client.get(f"/orders/{own.id}", headers=headers).status_code == 200
    assert client.get(f"/orders/{other.id}", headers=headers).status_code == 404
    assert [o["id"] for o in client.get("/orders", headers=headers).json()] == [own.id]
    tampered = client.post(f"/orders/{other.id}/lines/{other.lines[0].id}/cancel", headers=headers)
    assert tampered.status_code == 404
    viewer = {"Authorization": f"Bearer {keys[Role.VIEWER]}"}
    assert client.get(f"/orders/{other.id}", headers=viewer).json()["lines"][0]["cancelled"] == 0


def test_keys_are_kept_hashed_and_a_revoked_key_stops_working(secured, tmp_path):
    client, keys, *_ = secured
    admin = {"Authorization": f"Bearer {keys[Role.ADMIN]}"}
    made = client.post(
        "/api-keys", json={"name": "shop", "role": "integration"}, headers=admin
    ).json()
    shop = {"Authorization": f"Bearer {made['key']}"}
    assert client.get("/stock", headers=shop).status_code == 200
    listed = client.get("/api-keys", headers=admin).json()
    assert all("key" not in row and "key_hash" not in row for row in listed)
    backend = client.app.state.backend
    with backend.engine.connect() as conn:
        stored = [tuple(r) for r in conn.execute(text("SELECT * FROM api_keys"))]
    assert not any(made["key"] in str(value) for row in stored for value in row)

    client.post(f"/api-keys/{made['id']}/revoke", headers=admin)
    refused = client.get("/stock", headers=shop)
    assert (refused.status_code, refused.json()["code"]) == (401, "unauthenticated")
