"""A supplier delivery of many SKUs in one transaction: the same outcome as one receipt per
SKU, one message per order, idempotent by reference, and all or nothing."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest

from backorder.bootstrap import build
from backorder.config import Settings
from backorder.domain.errors import Conflict, DomainError, NotFound
from backorder.domain.model import BackorderPolicy, PaidPriority, Product, Tier
from backorder.service import catalog, deliveries, orders, purchasing, queries, stock, waitlist
from backorder.service.deliveries import DeliveryLine

from ..conftest import FakeClock

# Two lines of A in two warehouses, a repeated line of B (summed), a preorder P whose units
# must wait for its release, and W, sold out (no backorders), with a waitlist subscriber.
DELIVERY = [
    DeliveryLine("A", "main", 4),
    DeliveryLine("A", "east", 2),
    DeliveryLine("B", "main", 3),
    DeliveryLine("C", "main", 10),
    DeliveryLine("P", "main", 5),
    DeliveryLine("W", "main", 2),
    DeliveryLine("B", "main", 1),
]


def _scenario(app, clock) -> dict[str, int]:
    """Queues on A, B, C and the preorder P, of every tier and paid priority; returns the
    order ids by name."""
    uow = app.uow
    catalog.save_warehouse(uow, "east", "East", rank=1)
    release = clock() + timedelta(days=30)
    for sku in "ABC":
        catalog.save_product(uow, Product(sku, sku, 100, "EUR", BackorderPolicy.ALLOW), clock())
    catalog.save_product(uow, Product("W", "W", 100, "EUR", BackorderPolicy.DENY), clock())
    catalog.save_product(
        uow, Product("P", "P", 100, "EUR", BackorderPolicy.ALLOW, release_at=release), clock()
    )
    stock.receive_stock(uow, "A", "main", 2, clock(), reference="opening")
    supplier = purchasing.create_supplier(uow, purchasing.SupplierIn("Acme", 14, "EUR"), clock())
    purchasing.create_purchase_order(
        uow, supplier.id, [purchasing.PoLineIn("B", 6, date(2026, 12, 20))], clock()
    )
    ann = catalog.create_customer(uow, catalog.CustomerIn("Ann"), clock()).id
    vip = catalog.create_customer(uow, catalog.CustomerIn("Vip", tier=Tier.CRITICAL), clock()).id
    pat = catalog.create_customer(uow, catalog.CustomerIn("Pat", tier=Tier.PRIORITY), clock()).id
    waitlist.subscribe(uow, "W", ann, clock())

    def place(name, customer, lines, **kw):
        clock.advance(minutes=5)
        cmd = orders.PlaceOrder(customer, [orders.OrderLineIn(s, q) for s, q in lines], **kw)
        return name, orders.place_order(uow, cmd, clock()).id

    return dict(
        [
            place("ann_ab", ann, [("A", 5), ("B", 2)]),
            place("vip_a", vip, [("A", 3)]),
            place("pat_bc", pat, [("B", 4), ("C", 1)], paid_priority=PaidPriority.EXPEDITED),
            place("ann_c", ann, [("C", 2)], requested_date=clock() + timedelta(days=2)),
            place("ann_p", ann, [("P", 2)]),
            place("vip_b", vip, [("B", 3)]),
        ]
    )


def _state(app) -> dict:
    """Everything a receipt changes but the events (which differ by design)."""
    queries_ = {
        "lines": "SELECT id, allocated, backordered, promised_date, promise_basis, "
        "promise_po_line_id, first_promised_date, promise_changes FROM order_lines ORDER BY id",
        "holdings": "SELECT line_id, warehouse, qty FROM line_allocations ORDER BY 1, 2",
        "stock": "SELECT sku, warehouse, on_hand, allocated FROM stock ORDER BY 1, 2",
        "ledger": "SELECT sku, warehouse, delta, on_hand_after, reason FROM ledger "
        "ORDER BY sku, warehouse, on_hand_after",
        "log": "SELECT sku, warehouse, line_id, order_id, qty, cause, priority_key, reason "
        "FROM allocation_log ORDER BY line_id, warehouse",
        "holds": "SELECT sku, warehouse, qty, status FROM stock_holds ORDER BY 1",
    }
    with app.engine.connect() as conn:
        state = {
            name: [tuple(str(v) for v in row) for row in conn.exec_driver_sql(sql)]
            for name, sql in queries_.items()
        }
    # "ahead of line N" names the first line left waiting, which differs when a SKU comes in
    # two receipts (A: main, then east) instead of one
    state["log"] = [
        (*row[:-1], re.sub(r"; ahead of line \d+", "", row[-1])) for row in state["log"]
    ]
    return state


def _fresh(tmp_path, name):
    clock = FakeClock()
    return build(Settings(database_url=f"sqlite:///{tmp_path / name}"), clock=clock), clock


def test_a_delivery_ends_as_one_receipt_per_sku_would(tmp_path):
    one_by_one, clock_a = _fresh(tmp_path, "receipts.db")
    delivered, clock_b = _fresh(tmp_path, "delivery.db")
    _scenario(one_by_one, clock_a)
    ids = _scenario(delivered, clock_b)
    # the two lines of B as one; A's main warehouse (rank 0) before east, as a delivery
    # hands out its units
    receipts = sorted(
        deliveries.merge_lines(DELIVERY), key=lambda d: (d.sku, d.warehouse != "main")
    )
    for line in receipts:
        stock.receive_stock(one_by_one.uow, line.sku, line.warehouse, line.qty, clock_a())

    result = deliveries.receive_delivery(delivered.uow, DELIVERY, clock_b(), reference="DN-1")

    assert _state(delivered) == _state(one_by_one)
    # A: 2 on hand went to ann at order; of 6 more, vip 3 first (critical), then ann's last 3.
    # B 4: vip 3 (critical), then pat 1 (priority) ahead of ann (standard). C 10: all of it.
    state = _state(delivered)
    assert ("A", "east", "2", "2") in state["stock"] and ("A", "main", "6", "6") in state["stock"]
    assert ("W", "main", "1", "active") in state["holds"]  # the subscriber's unit is held
    assert result["received_units"] == 27
    assert [(r["sku"], r["warehouse"], r["qty"]) for r in result["lines"]] == [
        ("A", "east", 2),
        ("A", "main", 4),
        ("B", "main", 4),
        ("C", "main", 10),
        ("P", "main", 5),
        ("W", "main", 2),
    ]
    assert result["by_sku"]["A"] == {"allocated_to_lines": 6, "lines_served": 2}
    assert result["by_sku"]["B"] == {"allocated_to_lines": 4, "lines_served": 2}
    assert result["by_sku"]["C"] == {"allocated_to_lines": 3, "lines_served": 2}
    assert "P" not in result["by_sku"]  # a preorder's units wait for its release
    order = queries.order(delivered.uow, ids["ann_ab"])
    assert [(line.sku, line.allocated, line.backordered) for line in order.lines] == [
        ("A", 5, 0),
        ("B", 0, 2),
    ]
    one_by_one.close()
    delivered.close()


def test_each_order_hears_of_a_delivery_once(app, clock):
    """pat ordered B and C and gets some of each: one receipt per SKU would tell them twice,
    a delivery tells them once."""
    ids = _scenario(app, clock)
    before = {e.id for e in queries.events(app.uow, limit=10_000)}

    deliveries.receive_delivery(app.uow, DELIVERY, clock())

    new = [e for e in queries.events(app.uow, limit=10_000) if e.id not in before]
    told = [e for e in new if e.kind in ("units_allocated", "order_ready_to_ship")]
    assert sorted(e.order_id for e in told) == sorted(
        [ids["ann_ab"], ids["vip_a"], ids["pat_bc"], ids["ann_c"], ids["vip_b"]]
    )
    [pat] = [e for e in told if e.order_id == ids["pat_bc"]]
    assert pat.kind == "units_allocated" and pat.sku is None  # 3 of B still wait
    assert sorted((x["sku"], x["allocated"]) for x in pat.payload["lines"]) == [
        ("B", 1),
        ("C", 1),
    ]
    [vip] = [e for e in told if e.order_id == ids["vip_a"]]
    assert (vip.kind, vip.sku) == ("order_ready_to_ship", "A")


def test_a_repeated_delivery_counts_once_and_another_under_its_reference_is_refused(any_app, clock):
    _scenario(any_app, clock)
    first = deliveries.receive_delivery(any_app.uow, DELIVERY, clock(), reference="DN-7")
    again = deliveries.receive_delivery(  # pasted with spaces around: the same reference
        any_app.uow, list(reversed(DELIVERY)), clock(), reference=" DN-7\t"
    )

    assert again["repeated"] and not first["repeated"]
    assert again["lines"] == first["lines"]
    levels = {(s.sku, s.warehouse): s.on_hand for s in queries.stock(any_app.uow)}
    assert levels[("C", "main")] == 10 and levels[("A", "main")] == 6
    with pytest.raises(Conflict) as refused:
        deliveries.receive_delivery(
            any_app.uow, [DeliveryLine("C", "main", 9)], clock(), reference="DN-7"
        )
    assert refused.value.details["reference"] == "DN-7"
    assert {(s.sku, s.warehouse): s.on_hand for s in queries.stock(any_app.uow)} == levels
    receipt = stock.receive_stock(any_app.uow, "C", "main", 1, clock(), reference="GRN-1 ")
    assert stock.receive_stock(any_app.uow, "C", "main", 1, clock(), reference="GRN-1")["repeated"]
    assert not receipt.get("repeated") and queries.stock(any_app.uow, "C")[0].on_hand == 11


@pytest.mark.parametrize(
    ("lines", "error", "field"),
    [
        ([DeliveryLine("A", "main", 1), DeliveryLine("NOPE", "main", 1)], NotFound, "sku"),
        ([DeliveryLine("A", "main", 1), DeliveryLine("C", "attic", 1)], NotFound, "warehouse"),
        ([DeliveryLine("NOPE", "attic", 1)], NotFound, "lines"),  # both named at once
        ([DeliveryLine("A", "main", 1), DeliveryLine("C", "main", 0)], DomainError, "lines[1].qty"),
        ([], DomainError, "lines"),
    ],
)
def test_a_bad_line_refuses_the_whole_delivery(app, clock, lines, error, field):
    _scenario(app, clock)
    before = _state(app)

    with pytest.raises(error) as refused:
        deliveries.receive_delivery(app.uow, lines, clock(), reference="DN-bad")

    assert refused.value.details.get("field") == field
    assert _state(app) == before
    # the reference stays free for the corrected delivery
    fixed = [DeliveryLine("A", "main", 1)]
    assert not deliveries.receive_delivery(app.uow, fixed, clock(), reference="DN-bad")["repeated"]


# -- against purchase orders -------------------------------------------------------------------


def _po(app, clock, lines, **kw):
    supplier = purchasing.create_supplier(
        app.uow, purchasing.SupplierIn("Bolt Co", 7, "EUR"), clock()
    )
    return purchasing.create_purchase_order(app.uow, supplier.id, lines, clock(), **kw)


def test_a_delivery_line_against_a_po_line_receives_it_and_no_longer_counts_it_as_supply(
    any_app, clock
):
    ids = _scenario(any_app, clock)
    [b_line] = queries.purchase_orders(any_app.uow)[0].lines  # B: 6 due 2026-12-20
    note = [DeliveryLine("B", "main", 4, b_line.id), DeliveryLine("B", "main", 1)]

    result = deliveries.receive_delivery(any_app.uow, note, clock(), reference="DN-PO")

    po = queries.purchase_orders(any_app.uow)[0]
    assert (po.status, po.lines[0].received, po.lines[0].open_qty) == ("partially_received", 4, 2)
    receipt = next(r for r in result["lines"] if r["po_line_id"] == b_line.id)
    assert receipt["receipt_id"] is not None
    # B: 5 received (vip 3, pat 2 of 4); pat's last 2 wait on the 2 still open on the PO;
    # ann's 2 wait with no date: nothing more is on order and B has no lead time
    pat = queries.order(any_app.uow, ids["pat_bc"]).lines[0]
    ann = queries.order(any_app.uow, ids["ann_ab"]).lines[1]
    assert (pat.allocated, pat.backordered) == (2, 2)
    assert (pat.promised_date, pat.promise_basis) == (date(2026, 12, 20), "purchase_order")
    assert (ann.promised_date, ann.promise_basis) == (None, "none")
    ledger = [(e.delta, e.reference) for e in queries.ledger(any_app.uow, "B", 10)]
    assert sorted(ledger) == [(1, "DN-PO"), (4, "DN-PO")]
    assert queries.check(any_app.uow) == []


def test_receiving_a_whole_purchase_order_takes_its_open_lines_once(app, clock):
    catalog.save_product(app.uow, Product("K", "K", 100, "EUR", BackorderPolicy.ALLOW), clock())
    catalog.save_product(app.uow, Product("L", "L", 100, "EUR", BackorderPolicy.ALLOW), clock())
    lines = [
        purchasing.PoLineIn("K", 5, date(2026, 12, 9)),
        purchasing.PoLineIn("L", 3, date(2026, 12, 9)),
    ]
    po = _po(app, clock, lines, reference="PO-77")
    purchasing.receive_po_line(app.uow, po.lines[0].id, 2, clock(), reference="part")

    whole = deliveries.receive_purchase_order(app.uow, po.id, clock())
    again = deliveries.receive_purchase_order(app.uow, po.id, clock())

    assert [(r["sku"], r["qty"]) for r in whole["lines"]] == [("K", 3), ("L", 3)]
    assert (whole["reference"], again["repeated"]) == ("PO-77", True)
    received = queries.purchase_order(app.uow, po.id)
    assert received.status == "received" and [line.open_qty for line in received.lines] == [0, 0]
    assert {s.sku: s.on_hand for s in queries.stock(app.uow)} == {"K": 5, "L": 3}


@pytest.mark.parametrize(
    ("line", "error", "field"),
    [
        (DeliveryLine("A", "main", 1, 9999), NotFound, "lines[A@main].po_line_id"),
        (DeliveryLine("C", "main", 1, "B-line"), DomainError, "lines[C@main].po_line_id"),
        (DeliveryLine("B", "east", 1, "B-line"), DomainError, "lines[B@east].po_line_id"),
    ],
)
def test_a_delivery_line_must_match_its_po_line(app, clock, line, error, field):
    _scenario(app, clock)
    b_line = queries.purchase_orders(app.uow)[0].lines[0].id
    if line.po_line_id == "B-line":
        line = DeliveryLine(line.sku, line.warehouse, line.qty, b_line)
    before = _state(app)

    with pytest.raises(error) as refused:
        deliveries.receive_delivery(app.uow, [line], clock())

    assert refused.value.details.get("field") == field
    assert _state(app) == before


def test_a_po_reference_names_one_purchase_order(app, clock):
    catalog.save_product(app.uow, Product("K", "K", 100, "EUR", BackorderPolicy.ALLOW), clock())
    catalog.save_product(app.uow, Product("L", "L", 100, "EUR", BackorderPolicy.ALLOW), clock())
    lines = [purchasing.PoLineIn("K", 5, date(2026, 12, 9))]
    first = _po(app, clock, lines, reference="PO-1")
    supplier_id = first.supplier_id

    again = purchasing.create_purchase_order(app.uow, supplier_id, lines, clock(), reference="PO-1")
    with pytest.raises(Conflict) as refused:
        other = [purchasing.PoLineIn("L", 9, date(2026, 12, 9))]
        purchasing.create_purchase_order(app.uow, supplier_id, other, clock(), reference="PO-1")

    assert again.id == first.id
    assert refused.value.details["po_id"] == first.id
    assert len(queries.purchase_orders(app.uow)) == 1


def test_po_line_receipts_are_refused_where_units_would_be_lost_or_misbooked(app, clock):
    """A repeat of a receipt reference with another quantity, a cancelled PO line and blank
    references are refused (each had been accepted); over-receipts are allowed on every path."""
    catalog.save_product(app.uow, Product("K", "K", 100, "EUR", BackorderPolicy.ALLOW), clock())
    lines = [
        purchasing.PoLineIn("K", 2, date(2026, 12, 9)),
        purchasing.PoLineIn("K", 2, date(2026, 12, 9)),
    ]
    po = _po(app, clock, lines)
    first_line, second_line = (line.id for line in po.lines)
    purchasing.receive_po_line(app.uow, first_line, 1, clock(), reference="R-1")
    purchasing.cancel_po_line(app.uow, second_line, clock())

    with pytest.raises(Conflict):
        purchasing.receive_po_line(app.uow, first_line, 3, clock(), reference="R-1")
    for receive in (
        lambda: purchasing.receive_po_line(app.uow, second_line, 1, clock()),
        lambda: deliveries.receive_delivery(
            app.uow, [DeliveryLine("K", "main", 1, second_line)], clock()
        ),
    ):
        with pytest.raises(Conflict, match="was cancelled"):
            receive()
    with pytest.raises(DomainError, match="must not be blank"):
        purchasing.receive_po_line(app.uow, first_line, 1, clock(), reference=" ")

    purchasing.receive_po_line(app.uow, first_line, 1, clock(), reference="R-2")  # in full
    over = deliveries.receive_delivery(app.uow, [DeliveryLine("K", "main", 1, first_line)], clock())

    assert over["lines"][0]["receipt_id"] is not None
    [k] = queries.stock(app.uow, "K")
    assert k.on_hand == 3
    line = queries.purchase_order(app.uow, po.id).lines[0]
    assert (line.received, line.open_qty) == (3, 0)
