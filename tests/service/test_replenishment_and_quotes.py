"""Replenishment suggestions, supplier reliability and quotes before ordering."""

from __future__ import annotations

from datetime import date

from backorder.domain.model import BackorderPolicy, Product, Tier
from backorder.service import catalog, orders, purchasing, queries, quotes, replenishment, stock


def _catalog(uow, clock, **product):
    catalog.save_product(
        uow, Product("A", "Anvil", 5000, "EUR", BackorderPolicy.ALLOW, **product), clock()
    )
    return catalog.create_customer(uow, catalog.CustomerIn("Ann"), clock())


def test_suggestion_covers_backorders_and_safety_stock_in_whole_packs(app, clock):
    uow = app.uow
    ann = _catalog(uow, clock, safety_stock=5)
    orders.place_order(uow, orders.PlaceOrder(ann.id, [orders.OrderLineIn("A", 13)]), clock())
    acme = purchasing.create_supplier(uow, purchasing.SupplierIn("Acme", 10, "EUR"), clock())
    purchasing.set_supplier_product(uow, acme.id, "A", clock(), pack_size=12, min_order=24)
    purchasing.create_purchase_order(
        uow, acme.id, [purchasing.PoLineIn("A", 4, date(2026, 12, 20))], clock()
    )

    [suggestion] = replenishment.suggestions(uow, clock())

    # 13 waiting + 5 safety - 0 available - 4 on order = 14, at least 24, in packs of 12 -> 24.
    assert (suggestion["need"], suggestion["qty"]) == (14, 24)
    assert suggestion["arrival_date"] == date(2026, 12, 13)
    created = replenishment.create_draft_orders(uow, clock())
    assert [(c["supplier_id"], c["lines"]) for c in created] == [(acme.id, 1)]
    draft = queries.purchase_order(uow, created[0]["po_id"])
    assert (draft.status, draft.lines[0].qty) == ("draft", 24)
    # A draft is not supply: the suggestion still stands until the PO is sent.
    assert replenishment.suggestions(uow, clock())[0]["qty"] == 24
    purchasing.send_purchase_order(uow, draft.id, clock())
    assert replenishment.suggestions(uow, clock()) == []


def test_supplier_reliability_counts_on_time_lines_and_lateness(app, clock):
    uow = app.uow
    _catalog(uow, clock)
    acme = purchasing.create_supplier(uow, purchasing.SupplierIn("Acme", 7, "EUR"), clock())
    expected = [date(2026, 12, 5), date(2026, 12, 5), date(2026, 12, 5), date(2026, 12, 5)]
    po = purchasing.create_purchase_order(
        uow, acme.id, [purchasing.PoLineIn("A", 1, d) for d in expected], clock()
    )
    for line, days in zip(po.lines, (0, 2, 5, 10), strict=True):  # received on 3, 5, 8 and 13 Dec
        clock.now = clock.now.replace(day=3 + days)
        purchasing.receive_po_line(uow, line.id, 1, clock())
    report = replenishment.supplier_reliability(uow, acme.id)
    # Lateness in days past 5 Dec: 0, 0, 3, 8.
    assert report["lines_received"] == 4
    assert report["on_time"] == 2
    assert report["on_time_rate"] == 0.5
    assert report["mean_lateness_days"] == 2.75
    assert report["p90_lateness_days"] == 8


def test_quote_says_what_ships_now_what_waits_and_until_when_for_this_customer(app, clock):
    uow = app.uow
    ann = _catalog(uow, clock)
    vip = catalog.create_customer(uow, catalog.CustomerIn("Vip", tier=Tier.CRITICAL), clock())
    catalog.save_product(uow, Product("D", "Denied", 100, "EUR", BackorderPolicy.DENY), clock())
    stock.receive_stock(uow, "A", "main", 2, clock())
    orders.place_order(
        uow, orders.PlaceOrder(ann.id, [orders.OrderLineIn("A", 5)]), clock()
    )  # 3 wait
    acme = purchasing.create_supplier(uow, purchasing.SupplierIn("Acme", 30, "EUR"), clock())
    purchasing.create_purchase_order(
        uow,
        acme.id,
        [
            purchasing.PoLineIn("A", 3, date(2026, 12, 10)),
            purchasing.PoLineIn("A", 10, date(2026, 12, 24)),
        ],
        clock(),
    )

    [standard] = quotes.quote(uow, [("A", 2)], clock())
    [critical] = quotes.quote(uow, [("A", 2)], clock(), customer_id=vip.id)
    [denied, _] = quotes.quote(uow, [("D", 1), ("A", 1)], clock())

    # Standard waits behind Ann's 3 units: the 10 Dec PO is used up, the 24 Dec one covers it.
    assert (standard["ship_now"], standard["backordered"], standard["promised_date"]) == (
        0,
        2,
        date(2026, 12, 24),
    )
    # A critical customer goes ahead of Ann and gets the 10 Dec PO.
    assert critical["promised_date"] == date(2026, 12, 10)
    assert (denied["orderable"], denied["reason"]) == (
        False,
        "out of stock and backorders are not allowed",
    )
    assert len(queries.orders(uow)) == 1  # nothing was placed


def test_a_quote_does_not_count_the_units_it_ships_now_again_for_what_waits(any_app, clock):
    """5 free, a PO of 10 in a month: 8 ordered ship 5 now and wait for the PO with 3. The
    quote promised the 3 for today from the same 5 free units."""
    uow = any_app.uow
    ann = _catalog(any_app.uow, clock)
    stock.receive_stock(uow, "A", "main", 5, clock())
    acme = purchasing.create_supplier(uow, purchasing.SupplierIn("Acme", 30, "EUR"), clock())
    purchasing.create_purchase_order(
        uow, acme.id, [purchasing.PoLineIn("A", 10, date(2027, 1, 5))], clock()
    )

    [quoted] = quotes.quote(uow, [("A", 8)], clock())
    placed = orders.place_order(
        uow, orders.PlaceOrder(ann.id, [orders.OrderLineIn("A", 8)]), clock()
    )

    assert (quoted["ship_now"], quoted["backordered"]) == (5, 3)
    assert (quoted["promised_date"], quoted["promise_basis"]) == (
        date(2027, 1, 5),
        "purchase_order",
    )
    line = queries.order(uow, placed.id).lines[0]
    assert (line.allocated, line.promised_date) == (5, quoted["promised_date"])


def test_sku_view_shows_stock_incoming_supply_and_waiting_lines_with_dates(app, clock):
    uow = app.uow
    ann = _catalog(uow, clock)
    orders.place_order(uow, orders.PlaceOrder(ann.id, [orders.OrderLineIn("A", 2)]), clock())
    acme = purchasing.create_supplier(uow, purchasing.SupplierIn("Acme", 30, "EUR"), clock())
    purchasing.create_purchase_order(
        uow, acme.id, [purchasing.PoLineIn("A", 5, date(2026, 12, 9))], clock()
    )
    view = queries.sku_view(uow, "A")
    assert [(x["open_qty"], x["expected_date"], x["supplier"]) for x in view["incoming"]] == [
        (5, date(2026, 12, 9), "Acme")
    ]
    assert [
        (w["position"], w["backordered"], w["promised_date"], w["promise_basis"])
        for w in view["waiting"]
    ] == [(1, 2, date(2026, 12, 9), "purchase_order")]
