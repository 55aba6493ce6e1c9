"""A delivery through the HTTP API and the command line."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from backorder.entrypoints.api.app import create_app
from tests.conftest import run_cli


@pytest.fixture
def client(app):
    with TestClient(create_app(app, release_loop=False)) as client:
        yield client


def _shop(client) -> dict[str, int]:
    """A and B out of stock; Ann waits for 3 A and 2 B, Bob for 1 B. Order ids by name."""
    for sku in "AB":
        product = {"sku": sku, "name": sku, "price_minor": 500, "backorder_policy": "allow"}
        assert client.post("/products", json=product).status_code == 201
    ann = client.post("/customers", json={"name": "Ann"}).json()["id"]
    bob = client.post("/customers", json={"name": "Bob"}).json()["id"]
    lines = [{"sku": "A", "qty": 3}, {"sku": "B", "qty": 2}]
    first = client.post("/orders", json={"customer_id": ann, "lines": lines}).json()
    second = client.post("/orders", json={"customer_id": bob, "lines": [{"sku": "B", "qty": 1}]})
    return {"ann": first["id"], "bob": second.json()["id"]}


def _on_hand(client) -> dict[str, int]:
    return {row["sku"]: row["on_hand"] for row in client.get("/stock").json()}


def test_post_delivery_notes_serves_every_sku_and_a_repeat_is_a_no_op(client):
    ids = _shop(client)
    note = {"reference": "DN-100", "lines": [{"sku": "A", "qty": 3}, {"sku": "B", "qty": 2}]}

    first = client.post("/delivery-notes", json=note)
    again = client.post("/delivery-notes", json=note)
    other = client.post("/delivery-notes", json=note | {"lines": [{"sku": "A", "qty": 1}]})

    assert first.status_code == 201, first.text
    assert (first.json()["allocated_to_lines"], first.json()["lines_served"]) == (5, 2)
    assert again.status_code == 200 and again.json()["repeated"] is True
    assert other.status_code == 409
    assert _on_hand(client) == {"A": 3, "B": 2}
    assert client.get(f"/orders/{ids['ann']}").json()["status"] == "ready_to_ship"
    bob = client.get(f"/orders/{ids['bob']}").json()
    assert bob["lines"][0]["backordered"] == 1  # Ann ordered first; B's 2 units were hers


@pytest.mark.parametrize(
    ("lines", "status", "field"),
    [
        ([{"sku": "A", "qty": 0}], 422, "qty"),
        ([], 422, "lines"),
        ([{"sku": "A", "qty": 1}, {"sku": "ZZ", "qty": 1}], 404, "sku"),
        ([{"sku": "A", "qty": 1, "warehouse": "attic"}], 404, "warehouse"),
    ],
)
def test_a_bad_delivery_is_refused_whole_with_the_field_named(client, lines, status, field):
    _shop(client)

    answer = client.post("/delivery-notes", json={"lines": lines})

    assert answer.status_code == status, answer.text
    assert field in answer.text
    assert _on_hand(client) == {}


def test_cli_receives_a_delivery_note_and_refuses_one_with_bad_rows(app, client, tmp_path):
    _shop(client)
    bad = tmp_path / "bad.csv"
    bad.write_text("sku,qty,warehouse\nA,3,\nB,two,main\n,1,main\n")
    good = tmp_path / "note.csv"
    good.write_text("sku,qty\nA,2\nB,3\nA,1\n")

    refused = run_cli(app, "receive-delivery", str(bad), "--reference", "DN-1")
    received = run_cli(app, "receive-delivery", str(good), "--reference", "DN-1")

    assert refused.exit_code != 0
    assert "row 3: qty: 'two'" in refused.output and "row 4: sku: empty" in refused.output
    assert received.exit_code == 0, received.output
    assert "received 6 unit(s) of 2 line(s): 6 unit(s) to 3 waiting line(s)" in received.output
    assert _on_hand(client) == {"A": 3, "B": 3}


@pytest.mark.parametrize(
    ("content", "refusal"),
    [
        (b"sku,qty,Warehouse \nA,1,east\n", None),  # any case and spacing: east, not main
        (b"sku,qty,location\nA,1,east\n", "unknown column(s) 'location'"),
        (b"sku,qty,sku\nA,1,B\n", "repeated column(s) sku"),
        (b"sku,qty\nA,1,east,extra\n", "row 2: 4 fields, the header has 2"),
        ("sku,qty\nA,\u00b2\nB,\u0663\n".encode(), "row 2: qty: '\u00b2' is not a positive"),
        (b"sku,qty\nA\xe9,1\n", "must be UTF-8 text"),
    ],
)
def test_cli_refuses_a_note_it_cannot_read_exactly(app, client, tmp_path, content, refusal):
    """A note is taken exactly or refused whole: a misread column must never send units to
    the default warehouse, and a file of another encoding is refused, not a traceback."""
    _shop(client)
    client.post("/warehouses", json={"code": "east", "name": "East", "rank": 1})
    note = tmp_path / "note.csv"
    note.write_bytes(content)

    result = run_cli(app, "receive-delivery", str(note))

    if refusal is None:
        assert result.exit_code == 0, result.output
        assert [(r["sku"], r["warehouse"]) for r in client.get("/stock").json()] == [("A", "east")]
    else:
        # refused with a message (SystemExit), not a traceback
        assert isinstance(result.exception, SystemExit), result.exception
        assert result.exit_code != 0
        assert refusal in result.output, result.output
        assert client.get("/stock").json() == []


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/delivery-notes", {"lines": [{"sku": "A", "qty": True}]}),
        ("/delivery-notes", {"lines": [{"sku": "A", "qty": "3"}]}),
        ("/delivery-notes", {"lines": [{"sku": "A", "qty": 2.0}]}),
        ("/receipts", {"sku": "A", "qty": True}),
        ("/adjustments", {"sku": "A", "delta": True}),
        ("/delivery-notes", {"reference": "", "lines": [{"sku": "A", "qty": 1}]}),
        ("/delivery-notes", {"reference": "   ", "lines": [{"sku": "A", "qty": 1}]}),
        ("/receipts", {"sku": "A", "qty": 1, "reference": " "}),
    ],
)
def test_numbers_are_not_converted_and_references_not_blank(client, path, body):
    """`true` is not 1 and "3" is not 3; a blank reference would make every repeat look new."""
    _shop(client)

    answer = client.post(path, json=body)

    assert answer.status_code == 422, answer.text
    assert _on_hand(client) == {}


def test_the_command_line_keeps_the_apis_rules(app, client, tmp_path):
    """A reason code the API refuses, and a blank reference, are refused by the CLI too."""
    _shop(client)
    client.post("/receipts", json={"sku": "A", "qty": 5})
    note = tmp_path / "note.csv"
    note.write_text("sku,qty\nA,1\n")

    refused = run_cli(app, "adjust", "A", "--delta", "-1", "--reason", "Bad Reason")
    blank = run_cli(app, "receive-delivery", str(note), "--reference", "  ")

    assert refused.exit_code != 0 and "reason: must be 1-30 lowercase" in refused.output
    assert blank.exit_code != 0 and "reference: must not be blank" in blank.output
    assert _on_hand(client) == {"A": 5}
    assert (
        client.post("/adjustments", json={"sku": "A", "delta": -1, "reason": "damaged"}).status_code
        == 201
    )


def test_events_page_forward_from_the_last_id_seen(client):
    _shop(client)  # 2 orders placed: events of their placement
    client.post("/delivery-notes", json={"lines": [{"sku": "A", "qty": 3}]})
    every = [e["id"] for e in client.get("/events").json()]
    assert len(every) >= 4

    pages, after = [], None
    while True:
        params = {"limit": 2} | ({"after_id": after} if after is not None else {})
        page = [e["id"] for e in client.get("/events", params=params).json()]
        if not page:
            break
        pages.append(page)
        after = page[-1]

    assert [i for page in pages for i in page] == every
    assert all(len(page) <= 2 for page in pages)


def test_a_purchase_order_is_received_whole_over_http_and_from_the_command_line(app, client):
    ids = _shop(client)
    supplier = client.post(
        "/suppliers", json={"name": "Acme", "lead_time_days": 7, "currency": "USD"}
    ).json()
    po = client.post(
        "/purchase-orders",
        json={
            "supplier_id": supplier["id"],
            "lines": [{"sku": "A", "qty": 3, "expected_date": "2026-12-20"}],
        },
    ).json()
    other = client.post(
        "/purchase-orders",
        json={
            "supplier_id": supplier["id"],
            "lines": [{"sku": "B", "qty": 3, "expected_date": "2026-12-20"}],
        },
    ).json()

    first = client.post(f"/purchase-orders/{po['id']}/receive")
    again = client.post(f"/purchase-orders/{po['id']}/receive")
    by_cli = run_cli(app, "--json", "po", "receive-all", str(other["id"]))

    assert (first.status_code, again.status_code) == (201, 200), first.text
    assert first.json()["lines"][0]["po_line_id"] == po["lines"][0]["id"]
    assert by_cli.exit_code == 0, by_cli.output
    statuses = [client.get(f"/purchase-orders/{p['id']}").json()["status"] for p in (po, other)]
    assert statuses == ["received", "received"]
    assert client.get(f"/orders/{ids['ann']}").json()["status"] == "ready_to_ship"
    assert _on_hand(client) == {"A": 3, "B": 3}


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/adjustments", {"sku": "A", "delta": 1, "reference": " "}),
        ("/orders/{ann}/shipments", {"reference": "  "}),
    ],
)
def test_blank_references_are_refused_on_every_path(client, path, body):
    ids = _shop(client)

    answer = client.post(path.format(**ids), json=body)

    assert answer.status_code == 422, answer.text
    assert "reference" in answer.text


def test_small_things_a_tester_tripped_on(app, client, tmp_path):
    """A blank reference is explained in words, the CSV takes the API's po_line_id name,
    an unknown PO status is refused, and a note of several lines stays one audit line."""
    _shop(client)
    blank = client.post("/receipts", json={"sku": "A", "qty": 1, "reference": " "})
    note = tmp_path / "note.csv"
    note.write_text("sku,qty,PO_LINE_ID\nA,1,\n")
    client.post("/receipts", json={"sku": "A", "qty": 5})

    received = run_cli(app, "receive-delivery", str(note))
    bogus = client.get("/purchase-orders", params={"status": "bogus"})
    noted = run_cli(
        app, "adjust", "A", "--delta", "-1", "--reason", "damaged", "--note", "wet\nbox"
    )

    assert blank.status_code == 422 and "must not be blank" in blank.text
    assert received.exit_code == 0, received.output
    assert bogus.status_code == 422 and "status" in bogus.text
    assert noted.exit_code == 0, noted.output
    audit = run_cli(app, "audit", "--limit", "1").output
    assert "(damaged: wet box)" in audit and audit.count("\n") == 1


def test_the_command_line_says_which_part_of_an_argument_is_wrong(app, client):
    """`po create --line MUG:5` was told to look like NAME:QTY; `MUG:-1` too; `--line x:1`
    on a shipment was a traceback; a quote that ships everything printed 'waits 0 until no
    date yet (None)'; a suggestion without a lead time 'arrives None'."""
    ids = _shop(client)
    client.post("/receipts", json={"sku": "A", "qty": 10})
    supplier = client.post("/suppliers", json={"name": "Acme", "lead_time_days": 0}).json()["id"]

    no_date = run_cli(app, "po", "create", "--supplier", str(supplier), "--line", "A:5")
    negative = run_cli(app, "order", "place", "--customer", "1", "--line", "A:-1")
    not_a_line = run_cli(app, "order", "ship", str(ids["ann"]), "--line", "x:1")
    quote = run_cli(app, "availability", "A:2")

    assert no_date.exit_code != 0 and "'A:5' must look like SKU:QTY:YYYY-MM-DD" in no_date.output
    assert "the quantity must be a whole number, 1 or more" in negative.output
    assert not_a_line.exit_code != 0 and "the line id must be a number" in not_a_line.output
    assert "Traceback" not in not_a_line.output
    assert quote.exit_code == 0 and quote.output.strip() == "A x2: ships now 2"
    assert len(client.get("/purchase-orders").json()) == 0


def test_a_body_that_is_no_json_and_a_reused_note_reference_are_explained_for_http(client):
    """A broken body named a field '0'; a reused note reference pointed HTTP callers at a
    command-line option."""
    _shop(client)
    broken = client.post(
        "/delivery-notes", content=b'{"lines": [', headers={"content-type": "application/json"}
    )
    note = {"reference": "DN-1", "lines": [{"sku": "A", "qty": 1}]}
    assert client.post("/delivery-notes", json=note).status_code == 201
    reused = client.post("/delivery-notes", json=note | {"lines": [{"sku": "B", "qty": 1}]})

    assert broken.status_code == 422
    assert broken.json()["details"]["field"] == "body"
    assert broken.json()["message"].startswith("body: not valid JSON")
    assert reused.status_code == 409 and "command line" not in reused.json()["message"]
    assert reused.json()["message"].endswith("give this delivery its own reference")
    assert _on_hand(client) == {"A": 1}  # the first note only
