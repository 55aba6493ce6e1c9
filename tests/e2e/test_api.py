"""The HTTP API over the service, in-process (the real server process is tested elsewhere)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from backorder.entrypoints.api.app import create_app


def subset(row: dict, **expected) -> bool:
    return {k: row.get(k) for k in expected} == expected


@pytest.fixture
def client(app):
    with TestClient(create_app(app, release_loop=False)) as client:
        yield client


def _setup(client, on_hand=2, policy="allow"):
    assert (
        client.post(
            "/products",
            json={"sku": "A", "name": "Widget", "price_minor": 1250, "backorder_policy": policy},
        ).status_code
        == 201
    )
    client.post("/receipts", json={"sku": "A", "qty": on_hand, "reference": "init"})
    ann = client.post("/customers", json={"name": "Ann"}).json()
    vip = client.post("/customers", json={"name": "Vip", "tier": "critical"}).json()
    return ann["id"], vip["id"]


def test_order_goes_on_backorder_and_a_receipt_serves_the_critical_customer_first(client, clock):
    ann, vip = _setup(client)
    first = client.post("/orders", json={"customer_id": ann, "lines": [{"sku": "A", "qty": 3}]})
    assert first.status_code == 201
    assert subset(first.json()["lines"][0], allocated=2, backordered=1)
    clock.advance(minutes=5)
    second = client.post(
        "/orders", json={"customer_id": vip, "lines": [{"sku": "A", "qty": 2}]}
    ).json()
    queue = client.get("/skus/A/queue").json()
    assert [(q["position"], q["order_id"], q["allocated"], q["backordered"]) for q in queue] == [
        (1, second["id"], 0, 2),
        (2, first.json()["id"], 2, 1),  # part-served: 2 allocated at order, 1 waits
    ]

    receipt = client.post("/receipts", json={"sku": "A", "qty": 2, "reference": "PO-7"}).json()

    assert receipt["allocated_to_lines"] == 2
    assert client.get(f"/orders/{second['id']}").json()["status"] == "ready_to_ship"
    assert client.get(f"/orders/{first.json()['id']}").json()["lines"][0]["backordered"] == 1
    log = client.get("/allocation-log", params={"sku": "A", "order_id": second["id"]}).json()
    assert [(e["qty"], e["cause"], e["reference"]) for e in log] == [(2, "receipt", "PO-7")]
    why = client.get(
        "/explain",
        params={"sku": "A", "first_order": second["id"], "second_order": first.json()["id"]},
    ).json()
    assert "by customer tier: critical before standard" in why["verdict"]
    assert client.get("/check").json() == {"ok": True, "breaches": []}


def test_a_retried_order_with_the_same_external_ref_returns_the_first_order(client):
    ann, _ = _setup(client)
    body = {"customer_id": ann, "lines": [{"sku": "A", "qty": 1}], "external_ref": "shop-1001"}
    first = client.post("/orders", json=body)
    again = client.post("/orders", json=body)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["id"] == first.json()["id"]
    assert len(client.get("/orders").json()) == 1
    assert client.get("/stock", params={"sku": "A"}).json()[0]["allocated"] == 1


def test_another_order_under_a_known_external_ref_is_refused_not_taken_for_the_first(client):
    ann, vip = _setup(client)
    body = {"customer_id": ann, "lines": [{"sku": "A", "qty": 1}], "external_ref": "shop-1002"}
    first = client.post("/orders", json=body)
    split = body | {"lines": [{"sku": "A", "qty": 1}]}  # the same order, written again
    more = body | {"lines": [{"sku": "A", "qty": 2}]}
    other_customer = body | {"customer_id": vip}

    assert client.post("/orders", json=split).json()["id"] == first.json()["id"]
    for changed in (more, other_customer):
        refused = client.post("/orders", json=changed)
        assert refused.status_code == 409, refused.text
        assert refused.json()["details"]["order_id"] == first.json()["id"]
        assert "external_ref" in refused.json()["message"]
    assert len(client.get("/orders").json()) == 1
    assert client.get("/stock", params={"sku": "A"}).json()[0]["allocated"] == 1


def test_a_denied_order_lists_every_short_sku_and_changes_nothing(client):
    ann, _ = _setup(client, on_hand=1, policy="deny")
    client.post("/products", json={"sku": "B", "name": "Bolt", "price_minor": 10})
    response = client.post(
        "/orders",
        json={
            "customer_id": ann,
            "lines": [{"sku": "A", "qty": 2}, {"sku": "B", "qty": 1}, {"sku": "A", "qty": 1}],
        },
    )
    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "insufficient_stock"
    shortages = {s["sku"]: (s["asked"], s["available"]) for s in body["details"]["shortages"]}
    assert shortages == {"A": (3, 1), "B": (1, 0)}
    assert client.get("/orders").json() == []
    assert client.get("/stock", params={"sku": "A"}).json()[0]["allocated"] == 0


def test_bad_input_names_the_field_and_the_reason(client):
    ann, _ = _setup(client)
    response = client.post("/orders", json={"customer_id": ann, "lines": [{"sku": "A", "qty": 0}]})
    assert response.status_code == 422
    assert response.json()["code"] == "invalid_input"
    assert response.json()["details"]["field"] == "lines.0.qty"
    unknown = client.post("/orders", json={"customer_id": ann, "lines": [{"sku": "ZZ", "qty": 1}]})
    assert unknown.status_code == 422
    assert unknown.json()["details"] == {"field": "lines[0].sku", "reason": "unknown SKU 'ZZ'"}
    assert client.get("/orders/999").status_code == 404


def test_cancel_twice_releases_once_and_ship_lowers_on_hand(client):
    ann, _ = _setup(client, on_hand=5)
    order = client.post(
        "/orders", json={"customer_id": ann, "lines": [{"sku": "A", "qty": 3}]}
    ).json()
    line_id = order["lines"][0]["id"]
    client.patch(f"/orders/{order['id']}/lines/{line_id}", json={"qty": 4})
    shipped = client.post(
        f"/orders/{order['id']}/shipments", json={"quantities": {str(line_id): 1}}
    )
    assert shipped.status_code == 201
    for _ in range(2):
        cancelled = client.post(f"/orders/{order['id']}/cancel").json()
    assert subset(cancelled["lines"][0], qty=4, shipped=1, cancelled=3, allocated=0)
    stock = client.get("/stock", params={"sku": "A"}).json()[0]
    assert subset(stock, on_hand=4, allocated=0, available=4)
    kinds = [e["kind"] for e in client.get(f"/orders/{order['id']}/events").json()]
    # a closed order asks for feedback once (issue 8)
    assert kinds == ["order_placed", "shipment_shipped", "order_cancelled", "feedback_requested"]


def test_a_reused_shipment_reference_answers_409_and_empty_quantities_422(client):
    ann, _ = _setup(client, on_hand=4)
    order = client.post(
        "/orders", json={"customer_id": ann, "lines": [{"sku": "A", "qty": 4}]}
    ).json()
    url, line = f"/orders/{order['id']}/shipments", str(order["lines"][0]["id"])
    first = client.post(url, json={"reference": "S1", "quantities": {line: 1}})
    again = client.post(url, json={"reference": "S1", "quantities": {line: 1}})
    reused = client.post(url, json={"reference": "S1", "quantities": {line: 3}})
    empty = client.post(url, json={"quantities": {}})

    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["repeated"] is True
    assert (reused.status_code, reused.json()["details"]["field"]) == (409, "reference")
    assert (empty.status_code, empty.json()["details"]["field"]) == (422, "quantities")
    assert subset(client.get("/stock", params={"sku": "A"}).json()[0], on_hand=3, allocated=3)


def test_openapi_lists_the_core_endpoints(client):
    paths = client.get("/openapi.json").json()["paths"]
    for path in (
        "/orders",
        "/receipts",
        "/skus/{sku}/queue",
        "/allocation-log",
        "/check",
        "/explain",
    ):
        assert path in paths


def test_purchase_order_slip_moves_the_promise_and_the_quote_reads_it(client):
    ann, _ = _setup(client, on_hand=0)
    order = client.post(
        "/orders", json={"customer_id": ann, "lines": [{"sku": "A", "qty": 2}]}
    ).json()
    supplier = client.post("/suppliers", json={"name": "Acme", "lead_time_days": 14}).json()
    po = client.post(
        "/purchase-orders",
        json={
            "supplier_id": supplier["id"],
            "lines": [{"sku": "A", "qty": 5, "expected_date": "2026-12-10"}],
        },
    ).json()
    assert po["status"] == "sent" and po["lines"][0]["open_qty"] == 5
    line = client.get(f"/orders/{order['id']}").json()["lines"][0]
    assert (line["promised_date"], line["promise_basis"]) == ("2026-12-10", "purchase_order")

    moved = client.patch(f"/po-lines/{po['lines'][0]['id']}", json={"expected_date": "2026-12-17"})
    assert moved.status_code == 200
    delayed = client.get("/events", params={"kind": "promise_delayed"}).json()
    assert [(e["payload"]["previous_date"], e["payload"]["promised_date"]) for e in delayed] == [
        ("2026-12-10", "2026-12-17")
    ]
    quote = client.get("/availability", params=[("sku", "A"), ("qty", 3)]).json()
    assert subset(quote[0], ship_now=0, backordered=3, promised_date="2026-12-17", orderable=True)
    view = client.get("/skus/A").json()
    assert [(w["position"], w["promised_date"]) for w in view["waiting"]] == [(1, "2026-12-17")]
    received = client.post(f"/po-lines/{po['lines'][0]['id']}/receipts", json={"qty": 5}).json()
    assert received["allocated_to_lines"] == 2
    assert client.get("/check").json()["ok"] is True


def test_an_order_mixing_currencies_is_refused_on_the_line_that_differs(client):
    ann, _ = _setup(client)
    client.post(
        "/products", json={"sku": "T", "name": "Tea", "price_minor": 300, "currency": "TRY"}
    )
    response = client.post(
        "/orders",
        json={"customer_id": ann, "lines": [{"sku": "A", "qty": 1}, {"sku": "T", "qty": 1}]},
    )
    assert response.status_code == 422
    assert response.json()["details"] == {
        "field": "lines[1].sku",
        "reason": "'T' is priced in TRY, the order in USD",
    }
    assert client.get("/orders").json() == []


def test_the_openapi_bounds_of_prices_are_the_services(client):
    """A price the schema lets through must not be one the service then refuses."""
    from backorder.service.validation import MAX_QTY

    schemas = client.get("/openapi.json").json()["components"]["schemas"]
    assert schemas["ProductIn"]["properties"]["price_minor"]["maximum"] == MAX_QTY
    line = schemas["OrderLineIn"]["properties"]["unit_price_minor"]["anyOf"][0]
    assert line["maximum"] == MAX_QTY
    too_dear = {"sku": "P", "name": "P", "price_minor": MAX_QTY + 1}
    answer = client.post("/products", json=too_dear)
    assert answer.status_code == 422 and "price_minor" in answer.text
