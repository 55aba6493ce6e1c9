"""Suppliers, purchase orders, receipts against them, and promised dates that move with supply."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from backorder.bootstrap import build
from backorder.config import Settings
from backorder.domain.errors import Conflict, StockWouldGoNegative
from backorder.domain.model import BackorderPolicy, Product, Tier
from backorder.service import catalog, orders, purchasing, queries, quotes, stock
from backorder.service.promising import start_of_local_day

TODAY = date(2026, 12, 3)


def _day(offset: int) -> date:
    return date.fromordinal(TODAY.toordinal() + offset)


def _setup_queue(uow, clock):
    """A: 2 on hand; a standard order for 6 (2 allocated, 4 wait), then a critical one for 3."""
    catalog.save_product(uow, Product("A", "Anvil", 5000, "EUR", BackorderPolicy.ALLOW), clock())
    stock.receive_stock(uow, "A", "main", 2, clock(), reference="opening")
    ann = catalog.create_customer(uow, catalog.CustomerIn("Ann"), clock())
    vip = catalog.create_customer(uow, catalog.CustomerIn("Vip", tier=Tier.CRITICAL), clock())
    standard = orders.place_order(
        uow, orders.PlaceOrder(ann.id, [orders.OrderLineIn("A", 6)]), clock()
    )
    clock.advance(minutes=10)
    critical = orders.place_order(
        uow, orders.PlaceOrder(vip.id, [orders.OrderLineIn("A", 3)]), clock()
    )
    supplier = purchasing.create_supplier(uow, purchasing.SupplierIn("Acme", 14, "EUR"), clock())
    return standard.lines[0].id, critical.lines[0].id, supplier


def _promise(uow, order_line_id):
    for order in queries.orders(uow, limit=1000):
        for line in order.lines:
            if line.id == order_line_id:
                return line.promised_date, line.promise_basis
    raise AssertionError(order_line_id)


def test_promises_follow_purchase_orders_and_a_slip_delays_only_the_lines_resting_on_it(
    any_app, clock
):
    uow = any_app.uow
    standard, critical, supplier = _setup_queue(uow, clock)
    po1 = purchasing.create_purchase_order(
        uow, supplier.id, [purchasing.PoLineIn("A", 5, _day(10))], clock(), reference="PO-1"
    )
    purchasing.create_purchase_order(
        uow, supplier.id, [purchasing.PoLineIn("A", 10, _day(20))], clock(), reference="PO-2"
    )

    # Critical 3 first: covered by PO-1 (5). Standard 4: 3 + 4 = 7 > 5, so PO-2.
    assert _promise(uow, critical) == (date(2026, 12, 13), "purchase_order")
    assert _promise(uow, standard) == (date(2026, 12, 23), "purchase_order")

    purchasing.change_expected_date(uow, po1.lines[0].id, _day(17), clock())
    purchasing.change_expected_date(uow, po1.lines[0].id, _day(17), clock())  # same date again

    delayed = queries.events(uow, kind="promise_delayed")
    assert [
        (e.payload["line_id"], e.payload["previous_date"], e.payload["promised_date"])
        for e in delayed
    ] == [(critical, "2026-12-13", "2026-12-20")]
    assert _promise(uow, standard) == (date(2026, 12, 23), "purchase_order")
    improved = queries.events(uow, kind="promise_improved")  # only the first dates: no date
    assert [(e.payload["line_id"], e.payload["previous_date"]) for e in improved] == [
        (critical, None),  # before PO-1 (no lead time for A)
        (standard, None),  # before PO-2
    ]
    assert queries.check(uow) == []


def test_without_purchase_orders_the_date_is_an_estimate_by_lead_time(app, clock):
    uow = app.uow
    standard, critical, supplier = _setup_queue(uow, clock)
    purchasing.set_supplier_product(uow, supplier.id, "A", clock(), preferred=True)
    assert _promise(uow, critical) == (date(2026, 12, 17), "lead_time")
    assert _promise(uow, standard) == (date(2026, 12, 17), "lead_time")


def test_a_lead_time_estimate_stands_until_it_passes_or_falls_a_week_behind(any_app, clock):
    """today + lead time is a day later every day: re-dating on it would tell every customer
    on an estimate, each day the SKU is touched, that their date slipped (and ask them to
    consent). The estimate stands until it falls more than a week behind; then every line
    moves once. A shorter lead time moves the dates earlier at once."""
    from dataclasses import replace

    from backorder.service.promising import recompute_all

    uow = any_app.uow
    standard, critical, supplier = _setup_queue(uow, clock)
    purchasing.set_supplier_product(uow, supplier.id, "A", clock(), preferred=True)  # 14 days

    def next_order(days: int) -> int:  # days later, one more unit of A: promises recomputed
        clock.advance(days=days)
        cmd = orders.PlaceOrder(1, [orders.OrderLineIn("A", 1)])
        return orders.place_order(uow, cmd, clock()).lines[0].id

    lines = [critical, standard, next_order(1), next_order(6)]  # Dec 4, then Dec 10
    # Dec 10 + 14 = Dec 24, 7 days after the standing Dec 17: it stands, for the new lines too
    assert {_promise(uow, line) for line in lines} == {(date(2026, 12, 17), "lead_time")}
    assert recompute_all(uow, clock())["changed"] == 0  # the full recompute agrees
    assert queries.events(uow, kind="promise_delayed") == []
    assert queries.events(uow, kind="delay_consent_requested") == []

    lines.append(next_order(1))  # Dec 11: Dec 25 is 8 days after Dec 17; every line moves
    assert {_promise(uow, line) for line in lines} == {(date(2026, 12, 25), "lead_time")}
    delayed = queries.events(uow, kind="promise_delayed")
    assert sorted(e.payload["line_id"] for e in delayed) == sorted(lines[:4])

    product = catalog.get_product(uow, "A")
    first_dates = len(queries.events(uow, kind="promise_improved"))  # no date -> Dec 17
    catalog.save_product(uow, replace(product, lead_time_days=3), clock())  # Dec 11 + 3
    assert {_promise(uow, line) for line in lines} == {(date(2026, 12, 14), "lead_time")}
    assert len(queries.events(uow, kind="promise_improved")) == first_dates + len(lines)
    assert len(queries.events(uow, kind="promise_delayed")) == 4
    assert queries.check(uow) == []


def test_receipt_against_a_po_line_serves_the_queue_and_closes_the_po(any_app, clock):
    uow = any_app.uow
    standard, critical, supplier = _setup_queue(uow, clock)
    po = purchasing.create_purchase_order(
        uow, supplier.id, [purchasing.PoLineIn("A", 5, _day(10))], clock(), reference="PO-9"
    )
    line_id = po.lines[0].id
    first = purchasing.receive_po_line(uow, line_id, 3, clock(), reference="GRN-1")
    assert first["allocated_to_lines"] == 3
    assert queries.order(uow, 2).lines[0].allocated == 3  # the critical order
    assert purchasing.receive_po_line(uow, line_id, 3, clock(), reference="GRN-1")["repeated"]
    assert queries.purchase_order(uow, po.id).status == "partially_received"

    purchasing.receive_po_line(uow, line_id, 4, clock(), reference="GRN-2")  # over-receipt: 7 of 5
    po_now = queries.purchase_order(uow, po.id)
    assert (po_now.status, po_now.lines[0].received, po_now.lines[0].open_qty) == ("received", 7, 0)
    assert queries.order(uow, 1).lines[0].allocated == 6  # 2 + 4: the standard order is complete
    assert [s.on_hand for s in queries.stock(uow, "A")] == [9]
    assert queries.check(uow) == []


def test_a_line_with_no_date_yet_is_told_its_first_date_once(any_app, clock):
    """No lead time, no PO: "no date yet". A PO then gave the line a date in silence."""
    uow = any_app.uow
    catalog.save_product(uow, Product("N", "Nut", 100, "EUR", BackorderPolicy.ALLOW), clock())
    ann = catalog.create_customer(uow, catalog.CustomerIn("Ann"), clock())
    order = orders.place_order(
        uow, orders.PlaceOrder(ann.id, [orders.OrderLineIn("N", 2)]), clock()
    )
    line_id = order.lines[0].id
    assert _promise(uow, line_id) == (None, "none")
    assert queries.events(uow, kind="promise_improved") == []  # placing it tells nothing new
    supplier = purchasing.create_supplier(uow, purchasing.SupplierIn("Acme", 9, "EUR"), clock())

    purchasing.create_purchase_order(
        uow, supplier.id, [purchasing.PoLineIn("N", 5, _day(10))], clock()
    )

    [told] = queries.events(uow, kind="promise_improved")
    assert (told.order_id, told.payload["line_id"]) == (order.id, line_id)
    assert (told.payload["previous_date"], told.payload["promised_date"]) == (
        None,
        _day(10).isoformat(),
    )
    assert _promise(uow, line_id) == (_day(10), "purchase_order")
    assert queries.order(uow, order.id).lines[0].promise_changes == 0  # a first date, no change
    assert queries.events(uow, kind="promise_delayed") == []


def test_reversing_a_receipt_puts_the_lowest_priority_units_back_to_waiting(app, clock):
    uow = app.uow
    standard, critical, supplier = _setup_queue(uow, clock)
    po = purchasing.create_purchase_order(
        uow, supplier.id, [purchasing.PoLineIn("A", 7, _day(10))], clock()
    )
    receipt = purchasing.receive_po_line(uow, po.lines[0].id, 7, clock(), reference="GRN-7")

    result = purchasing.reverse_receipt(uow, receipt["receipt_id"], clock())

    assert (result["reversed"], result["back_to_waiting"]) == (7, 7)
    assert [s.on_hand for s in queries.stock(uow, "A")] == [2]
    standard_line = queries.order(uow, 1).lines[0]
    critical_line = queries.order(uow, 2).lines[0]
    # Lowest priority gives back first: all 6 of the standard line, then 1 of the critical
    # line, which keeps 2 — as if the 2 units left had been allocated by priority.
    assert (standard_line.allocated, standard_line.backordered) == (0, 6)
    assert (critical_line.allocated, critical_line.backordered) == (2, 1)
    assert purchasing.reverse_receipt(uow, receipt["receipt_id"], clock())["reversed"] == 0
    assert queries.check(uow) == []
    # Both customers had been told their units were coming; each hears they wait again, once
    told = queries.events(uow, kind="order_backordered")
    back = [e for e in told if e.payload.get("cause") == "receipt_reversal"]
    assert sorted((e.order_id, e.payload["backordered"]) for e in back) == [(1, 6), (2, 1)]


def test_reversing_a_receipt_of_a_cancelled_po_line_does_not_reopen_it(app, clock):
    """Line of 10: 4 came, 6 cancelled. Reversing the 4 reopened 4 units of the line as
    expected supply (promises rested on it, and it took a receipt)."""
    uow = app.uow
    _setup_queue(uow, clock)
    supplier = purchasing.create_supplier(uow, purchasing.SupplierIn("Bcme", 7, "EUR"), clock())
    po = purchasing.create_purchase_order(
        uow, supplier.id, [purchasing.PoLineIn("A", 10, _day(10))], clock()
    )
    line_id = po.lines[0].id
    receipt = purchasing.receive_po_line(uow, line_id, 4, clock(), reference="GRN-4")
    purchasing.cancel_po_line(uow, line_id, clock())

    purchasing.reverse_receipt(uow, receipt["receipt_id"], clock())

    line = queries.purchase_order(uow, po.id).lines[0]
    assert (line.received, line.cancelled, line.open_qty) == (0, 10, 0)
    assert all(s.po_line_id != line_id for s in _open_supply(app, "A"))
    assert queries.purchase_order(uow, po.id).status == "cancelled"  # nothing came, or will
    with pytest.raises(Conflict, match="expects nothing more"):
        purchasing.change_expected_date(uow, line_id, _day(30), clock())
    assert queries.purchase_order(uow, po.id).lines[0].expected_date == _day(10)
    with pytest.raises(Conflict, match="is cancelled; it takes no receipts"):
        purchasing.receive_po_line(uow, line_id, 1, clock())
    assert queries.check(uow) == []


def _open_supply(app, sku: str) -> list:
    with app.uow.reader() as reader:
        return reader.store.open_supply(sku)


def test_a_receipt_whose_units_shipped_cannot_be_reversed(app, clock):
    uow = app.uow
    catalog.save_product(uow, Product("B", "Bolt", 100, "EUR"), clock())
    supplier = purchasing.create_supplier(uow, purchasing.SupplierIn("Acme", 7, "EUR"), clock())
    po = purchasing.create_purchase_order(
        uow, supplier.id, [purchasing.PoLineIn("B", 10, _day(3))], clock()
    )
    receipt = purchasing.receive_po_line(uow, po.lines[0].id, 10, clock())
    customer = catalog.create_customer(uow, catalog.CustomerIn("Ann"), clock())
    order = orders.place_order(
        uow, orders.PlaceOrder(customer.id, [orders.OrderLineIn("B", 4)]), clock()
    )
    orders.ship_order(uow, order.id, clock())

    with pytest.raises(StockWouldGoNegative):
        purchasing.reverse_receipt(uow, receipt["receipt_id"], clock())
    assert [s.on_hand for s in queries.stock(uow, "B")] == [6]
    assert queries.check(uow) == []


def test_b52_a_date_only_release_in_the_shop_time_zone_never_shifts(tmp_path, clock):
    """B52: store Europe/Madrid; the ETA reads 2022-01-01 for every viewer; the preorder is
    released at 2021-12-31T23:00Z (midnight in Madrid), not a minute earlier."""
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'tz.db'}", shop_timezone="Europe/Madrid"
    )
    app = build(settings, clock=clock)
    uow = app.uow
    release = start_of_local_day(date(2022, 1, 1), "Europe/Madrid")
    assert release == datetime(2021, 12, 31, 23, 0, tzinfo=UTC)
    product = Product("P", "Preorder", 100, "EUR", BackorderPolicy.ALLOW, release_at=release)
    assert product.is_preorder(datetime(2021, 12, 31, 22, 59, tzinfo=UTC))
    assert not product.is_preorder(datetime(2021, 12, 31, 23, 0, tzinfo=UTC))

    clock.now = datetime(2021, 12, 1, 12, tzinfo=UTC)
    catalog.save_product(uow, Product("A", "Anvil", 100, "EUR", BackorderPolicy.ALLOW), clock())
    supplier = purchasing.create_supplier(uow, purchasing.SupplierIn("Acme", 7, "EUR"), clock())
    purchasing.create_purchase_order(
        uow, supplier.id, [purchasing.PoLineIn("A", 5, date(2022, 1, 1))], clock()
    )
    ann = catalog.create_customer(uow, catalog.CustomerIn("Ann"), clock())
    # Ordered at 23:30 UTC on 31 Dec = 00:30 on 1 Jan in Madrid.
    clock.now = datetime(2021, 12, 31, 23, 30, tzinfo=UTC)
    order = orders.place_order(
        uow, orders.PlaceOrder(ann.id, [orders.OrderLineIn("A", 1)]), clock()
    )
    assert queries.order(uow, order.id).lines[0].promised_date == date(2022, 1, 1)
    app.close()


def test_recompute_all_gives_the_same_promises_as_the_per_sku_path(any_app, clock):
    from backorder.service.promising import recompute_all

    uow = any_app.uow
    standard, critical, supplier = _setup_queue(uow, clock)
    purchasing.create_purchase_order(
        uow,
        supplier.id,
        [purchasing.PoLineIn("A", 5, _day(10)), purchasing.PoLineIn("A", 10, _day(20))],
        clock(),
    )
    before = (_promise(uow, critical), _promise(uow, standard))
    with any_app.engine.begin() as conn:  # forget the stored promises, as after a bulk import
        conn.exec_driver_sql("UPDATE order_lines SET promised_date = NULL, promise_basis = NULL")

    done = recompute_all(uow, clock())

    assert (done["skus"], done["lines"], done["changed"], done["events"]) == (1, 2, 2, 0)
    assert (
        (_promise(uow, critical), _promise(uow, standard))
        == before
        == ((date(2026, 12, 13), "purchase_order"), (date(2026, 12, 23), "purchase_order"))
    )
    assert recompute_all(uow, clock())["changed"] == 0


def test_the_bulk_queue_order_in_sql_is_the_priority_key_order(any_app, clock):
    """The full recompute and a delivery read the queue in SQL order; it must be
    allocation.priority_key's order: override, tier, paid priority, due (requested date, else
    order time), order time, line id. Random lines of one SKU, ties on order time included."""
    import random

    from backorder.domain.allocation import priority_key
    from backorder.domain.model import PaidPriority
    from backorder.service import overrides

    uow, rng = any_app.uow, random.Random(5)
    catalog.save_product(uow, Product("Q", "Quill", 100, "EUR", BackorderPolicy.ALLOW), clock())
    customers = [
        catalog.create_customer(uow, catalog.CustomerIn(f"C{tier.value}", tier=tier), clock()).id
        for tier in Tier
    ]
    placed = []
    for n in range(40):
        if n % 3:  # every third order shares the previous one's time
            clock.advance(minutes=rng.choice([1, 30, 600]))
        requested = clock().replace(hour=0) + timedelta(days=rng.randint(1, 5)) if n % 2 else None
        cmd = orders.PlaceOrder(
            rng.choice(customers),
            [orders.OrderLineIn("Q", rng.randint(1, 3))],
            paid_priority=rng.choice(list(PaidPriority)),
            requested_date=requested,
        )
        placed.append(orders.place_order(uow, cmd, clock()).lines[0].id)
    for line_id in rng.sample(placed, 8):
        overrides.set_priority(uow, line_id, rng.choice([-2, -1, 1, 2]), "test", "why", clock())

    with uow:
        store = uow.store
        by_key = [w.line_id for w in sorted(store.waiting_lines("Q"), key=priority_key)]
        by_sql = [q.line_id for q in store.all_waiting()["Q"]]
        by_delivery_read = [w.line_id for w, _ in store.waiting_queues(["Q"])["Q"]]
    assert len(by_sql) == 40
    assert by_sql == by_key
    assert by_delivery_read == by_key  # a delivery's one read of the queue


def test_an_overdue_purchase_order_promises_today_never_a_past_date(any_app, clock):
    """A PO line whose expected date has passed is due any day: its lines are promised today
    (by the full recompute too), not on the past date."""
    from backorder.service.promising import recompute_all

    uow = any_app.uow
    standard, critical, supplier = _setup_queue(uow, clock)
    po = purchasing.create_purchase_order(
        uow, supplier.id, [purchasing.PoLineIn("A", 9, _day(5))], clock()
    )
    clock.advance(days=10)  # five days overdue
    purchasing.change_expected_date(uow, po.lines[0].id, _day(-30), clock())
    today = _day(10)

    assert _promise(uow, critical) == (today, "purchase_order")
    assert _promise(uow, standard) == (today, "purchase_order")
    with any_app.engine.begin() as conn:
        conn.exec_driver_sql("UPDATE order_lines SET promised_date = NULL, promise_basis = NULL")
    recompute_all(uow, clock())
    assert _promise(uow, critical) == (today, "purchase_order")
    quote = quotes.quote(uow, [("A", 1)], clock())[0]
    assert quote["promised_date"] == today


def test_a_po_line_without_a_cost_takes_what_its_supplier_charges(app, clock):
    uow = app.uow
    catalog.save_product(uow, Product("K", "Kettle", 900, "EUR", BackorderPolicy.ALLOW), clock())
    acme = purchasing.create_supplier(uow, purchasing.SupplierIn("Acme", 7, "EUR"), clock())
    other = purchasing.create_supplier(uow, purchasing.SupplierIn("Other", 7, "EUR"), clock())
    purchasing.set_supplier_product(uow, acme.id, "K", clock(), unit_cost_minor=500)

    lines = [purchasing.PoLineIn("K", 1, _day(9)), purchasing.PoLineIn("K", 2, _day(9), 450)]
    from_acme = purchasing.create_purchase_order(uow, acme.id, lines, clock())
    from_other = purchasing.create_purchase_order(uow, other.id, lines[:1], clock())

    assert [line.unit_cost_minor for line in from_acme.lines] == [500, 450]  # its own wins
    assert [line.unit_cost_minor for line in from_other.lines] == [0]  # no price known
