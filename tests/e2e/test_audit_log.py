"""Operator actions through the API and the command line go to the audit log (issue 6): who,
what, to which subject, why and the numbers, in the action's own transaction; a refused
action leaves no row."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from backorder.bootstrap import build
from backorder.config import Settings
from backorder.domain.model import BackorderPolicy, Product
from backorder.domain.roles import Role
from backorder.entrypoints import cli
from backorder.entrypoints.api.app import create_app
from backorder.service import audit, auth, catalog, stock

PRICE = 1250


@pytest.fixture
def shop(tmp_path, clock):
    """Keys asked for, the manual gateway, one product with 10 on hand and one customer."""
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'audit.db'}", api_auth=True, payment_gateway="manual"
    )
    backend = build(settings, clock)
    now = clock()
    product = Product("A", "Anvil", PRICE, "EUR", BackorderPolicy.ALLOW)
    catalog.save_product(backend.uow, product, now)
    stock.receive_stock(backend.uow, "A", "main", 10, now, reference="PO-1")
    catalog.create_customer(backend.uow, catalog.CustomerIn("Ann"), now)
    yield backend
    backend.close()


@pytest.fixture
def api(shop, clock):
    """A client and a header per key: `ops` (operator), `shop` (integration), `ann` (customer)."""
    now, uow = clock(), shop.uow
    ops_key, ops = auth.create_key(uow, "ops", Role.OPERATOR, now)
    made = {
        "ops": ops_key,
        "shop": auth.create_key(uow, "shop", Role.INTEGRATION, now)[0],
        "viewer": auth.create_key(uow, "viewer", Role.VIEWER, now)[0],
        "ann": auth.create_key(uow, "ann", Role.CUSTOMER, now, 1)[0],
    }
    headers = {name: {"Authorization": f"Bearer {key}"} for name, key in made.items()}
    with TestClient(create_app(shop, release_loop=False)) as client:
        yield client, headers, f"api:ops (key {ops['id']})"


def _rows(backend) -> list[dict]:
    return audit.entries(backend.uow, 100)


def _row(entry: dict) -> tuple:
    return entry["actor"], entry["action"], entry["subject"], entry["reason"]


def _order(client, headers, qty: int, payment: bool = False) -> dict:
    body = {"customer_id": 1, "lines": [{"sku": "A", "qty": qty}]}
    if payment:
        body["payment"] = {"gateway": "manual"}
    placed = client.post("/orders", json=body, headers=headers["shop"])
    assert placed.status_code == 201, placed.text
    return placed.json()


# -- stock adjustments ------------------------------------------------------------------------


def test_an_api_adjustment_is_audited_with_the_key_that_made_it_and_its_numbers(api, shop):
    client, headers, ops = api
    taken = client.post(
        "/adjustments",
        json={
            "sku": "A",
            "delta": -3,
            "reason": "damaged",
            "reference": "RMA-4",
            "note": " dropped by the forklift ",
        },
        headers=headers["ops"],
    )
    assert taken.status_code == 201, taken.text
    counted = client.post(
        "/adjustments", json={"sku": "A", "count": 9, "reason": "count"}, headers=headers["ops"]
    )
    assert counted.status_code == 201, counted.text

    second, first = _rows(shop)
    assert _row(first) == (ops, "adjust_stock", "sku A @ main", "damaged: dropped by the forklift")
    assert {k: first["detail"][k] for k in ("change", "on_hand_before", "on_hand")} == {
        "change": -3,
        "on_hand_before": 10,
        "on_hand": 7,
    }
    assert (first["detail"]["reference"], first["created_at"]) == ("RMA-4", shop.clock())
    assert _row(second) == (ops, "adjust_stock", "sku A @ main", "count")
    assert (second["detail"]["count"], second["detail"]["change"]) == (9, 2)


def test_a_refused_adjustment_leaves_no_audit_row(api, shop):
    client, headers, _ = api
    _order(client, headers, 8)  # 8 of the 10 units are allocated

    below = client.post("/adjustments", json={"sku": "A", "delta": -3}, headers=headers["ops"])
    assert (below.status_code, below.json()["code"]) == (409, "stock_would_go_negative")
    unknown = client.post("/adjustments", json={"sku": "B", "delta": 1}, headers=headers["ops"])
    assert unknown.status_code == 404
    lower = client.post("/adjustments", json={"sku": "A", "delta": 1}, headers=headers["shop"])
    assert lower.status_code == 403
    same = client.post("/adjustments", json={"sku": "A", "count": 10}, headers=headers["ops"])
    assert (same.status_code, same.json()["change"]) == (201, 0)  # nothing changed: no row

    assert _rows(shop) == []


def test_without_keys_the_api_names_itself_in_the_audit_log(app):
    catalog.save_product(app.uow, Product("A", "Anvil", PRICE, "EUR"), app.clock())
    with TestClient(create_app(app, release_loop=False)) as client:
        client.post("/adjustments", json={"sku": "A", "delta": 4, "reason": "found"})
        [entry] = client.get("/audit").json()
    assert (entry["actor"], entry["reason"], entry["detail"]["on_hand"]) == (
        "api (auth off)",
        "found",
        4,
    )


# -- cancels ----------------------------------------------------------------------------------


def test_operator_cancels_are_audited_once_and_a_customers_own_cancel_is_not(api, shop):
    client, headers, ops = api
    first, second, third = (_order(client, headers, 2) for _ in range(3))
    line = first["lines"][0]["id"]
    url = f"/orders/{first['id']}/lines/{line}/cancel"

    assert client.post(url, json={"reason": "phoned"}, headers=headers["ops"]).status_code == 200
    assert client.post(url, json={"reason": "again"}, headers=headers["ops"]).status_code == 200
    cancel = f"/orders/{second['id']}/cancel"
    assert client.post(cancel, json={"reason": "fraud"}, headers=headers["ops"]).status_code == 200
    own = f"/orders/{third['id']}/lines/{third['lines'][0]['id']}/cancel"
    assert client.post(own, headers=headers["ann"]).status_code == 200

    order_row, line_row = _rows(shop)
    assert _row(line_row) == (ops, "cancel_line", f"line {line}", "phoned")
    assert line_row["detail"]["lines"] == [
        {"line_id": line, "sku": "A", "released": 2, "cancelled": 2}
    ]
    assert _row(order_row) == (ops, "cancel_order", f"order {second['id']}", "fraud")
    assert order_row["detail"]["lines"][0]["cancelled"] == 2
    # an order's history holds its lines' rows too, and no other order's
    history = client.get(
        "/audit", params={"subject": f"order {first['id']}"}, headers=headers["ops"]
    )
    assert [(r["action"], r["subject"]) for r in history.json()] == [
        ("cancel_line", f"line {line}")
    ]


# -- payments ---------------------------------------------------------------------------------


def test_a_manual_capture_and_mark_paid_are_audited_with_the_amount(api, shop):
    client, headers, ops = api
    order = _order(client, headers, 2, payment=True)
    url = f"/orders/{order['id']}/payments"

    captured = client.post(
        f"{url}/capture", json={"reason": "charge before shipping"}, headers=headers["ops"]
    )
    assert captured.status_code == 200, captured.text
    again = client.post(f"{url}/capture", headers=headers["ops"])
    assert again.status_code == 409  # nothing left to charge: refused, not logged
    paid = client.post(f"{url}/mark-paid", json={"reason": "bank transfer"}, headers=headers["ops"])
    assert paid.json()["confirmed"] == 1

    marked, capture = _rows(shop)
    assert _row(capture) == (
        ops,
        "capture_payment",
        f"order {order['id']}",
        "charge before shipping",
    )
    assert capture["detail"] == {
        "amount_minor": 2 * PRICE,
        "currency": "EUR",
        "lines": [{"line_id": order["lines"][0]["id"], "units": 2}],
    }
    assert _row(marked) == (ops, "mark_paid", f"order {order['id']}", "bank transfer")
    assert marked["detail"] == {"captures": 1, "amount_minor": 2 * PRICE, "currency": "EUR"}


# -- reading the log --------------------------------------------------------------------------


def test_get_audit_filters_by_subject_and_needs_a_staff_key(api):
    client, headers, ops = api
    for delta in (1, 2):
        client.post("/adjustments", json={"sku": "A", "delta": delta}, headers=headers["ops"])
    order = _order(client, headers, 1)
    client.post(f"/orders/{order['id']}/cancel", headers=headers["ops"])

    listed = client.get("/audit", params={"limit": 2}, headers=headers["viewer"]).json()
    assert [e["action"] for e in listed] == ["cancel_order", "adjust_stock"]
    stock_rows = client.get(
        "/audit", params={"subject": "sku A @ main"}, headers=headers["viewer"]
    ).json()
    assert [e["detail"]["change"] for e in stock_rows] == [2, 1]
    assert client.get("/audit", headers=headers["ann"]).status_code == 403
    assert client.get("/audit").status_code == 401


# -- the command line -------------------------------------------------------------------------


@pytest.fixture
def run_cli(shop, monkeypatch):
    """`backorder ...` on the shop's database, run by the OS user `kim`."""
    monkeypatch.setenv("LOGNAME", "kim")
    monkeypatch.setenv("BACKORDER_PAYMENT_GATEWAY", "manual")

    def invoke(*args: str, as_json: bool = True):
        cli.backend.cache_clear()
        options = ["--database-url", shop.settings.database_url] + ["--json"] * as_json
        try:
            return CliRunner().invoke(cli.app, [*options, *args])
        finally:
            cli.backend.cache_clear()

    return invoke


def test_cli_adjustments_cancels_and_captures_are_audited_as_the_os_user(api, shop, run_cli):
    client, headers, _ = api
    order = _order(client, headers, 2, payment=True)
    other = _order(client, headers, 1)

    assert run_cli("adjust", "A", "--delta", "-1", "--reason", "damaged").exit_code == 0
    assert run_cli("adjust", "A", "--delta", "-99").exit_code == 4  # refused: no row
    capture = run_cli("payment", "capture", str(order["id"]), "--reason", "asked")
    assert capture.exit_code == 0, capture.output
    assert run_cli("order", "cancel", str(other["id"]), "--reason", "dup").exit_code == 0

    cancel, captured, adjusted = _rows(shop)
    assert _row(adjusted) == ("cli:kim", "adjust_stock", "sku A @ main", "damaged")
    assert (adjusted["detail"]["change"], adjusted["detail"]["on_hand"]) == (-1, 9)
    assert _row(captured) == ("cli:kim", "capture_payment", f"order {order['id']}", "asked")
    assert captured["detail"]["amount_minor"] == 2 * PRICE
    assert _row(cancel) == ("cli:kim", "cancel_order", f"order {other['id']}", "dup")


def test_cli_audit_lists_the_log_latest_first(shop, run_cli):
    run_cli("adjust", "A", "--delta", "2", "--reason", "found", "--note", "under the shelf")
    run_cli("adjust", "A", "--count", "5", "--reason", "count")

    listed = run_cli("audit", "--subject", "sku A @ main", "--limit", "1")

    assert listed.exit_code == 0, listed.output
    assert '"reason": "count"' in listed.output and '"found"' not in listed.output
    text = run_cli("audit", as_json=False).output
    assert "cli:kim: adjust_stock sku A @ main (found: under the shelf)" in text
    assert '"change": 2' in text and "None" not in text  # the numbers as JSON, not a repr


def test_get_audit_pages_back_from_the_last_id_seen(api, shop):
    client, headers, _ = api
    for delta in (1, 2, 3, 4, 5):
        body = {"sku": "A", "delta": delta, "reason": "found"}
        assert client.post("/adjustments", json=body, headers=headers["ops"]).status_code == 201
    every = [r["id"] for r in client.get("/audit", headers=headers["ops"]).json()]

    pages, before = [], None
    while page := [
        r["id"]
        for r in client.get(
            "/audit",
            params={"limit": 2} | ({"before_id": before} if before else {}),
            headers=headers["ops"],
        ).json()
    ]:
        pages.append(page)
        before = page[-1]

    assert len(every) == 5 and [i for page in pages for i in page] == every
