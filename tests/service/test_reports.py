"""Reports state their numbers: each scenario below says what was ordered, received and
cancelled, and what the report must make of it."""

from __future__ import annotations

from datetime import date

import pytest

from backorder.domain.model import BackorderPolicy, Product, Tier
from backorder.service import catalog, orders, purchasing, reports, stock


@pytest.fixture
def shop(any_app):
    app = any_app
    for sku in ("A", "B"):
        catalog.save_product(
            app.uow, Product(sku, sku, 1000, "EUR", BackorderPolicy.ALLOW), app.clock()
        )
    ann = catalog.create_customer(app.uow, catalog.CustomerIn("Ann"), app.clock())
    vip = catalog.create_customer(
        app.uow, catalog.CustomerIn("Vip", tier=Tier.CRITICAL), app.clock()
    )
    return app, ann, vip


def order(app, customer, *lines):
    cmd = orders.PlaceOrder(customer.id, [orders.OrderLineIn(sku, qty) for sku, qty in lines])
    return orders.place_order(app.uow, cmd, app.clock())


def test_fill_rate_and_backorder_rate_count_what_each_line_got_at_order_time(shop):
    app, ann, vip = shop
    order(app, ann, ("A", 1))  # 40 days ago: outside both windows
    app.clock.advance(days=40)
    stock.receive_stock(app.uow, "A", "main", 3, app.clock())
    order(app, ann, ("A", 2))  # filled: 2 of 2 (the old line took 1 of the 3 first)
    order(app, vip, ("A", 3))  # 0 left: 3 wait
    order(app, ann, ("B", 1))  # 1 waits
    now = app.clock()

    fill = reports.fill_rate(app.uow, now, 30)
    assert fill.summary == {
        "lines": 3,
        "lines_filled": 1,
        "line_fill_rate": 0.3333,
        "units": 6,
        "units_allocated": 2,
        "unit_fill_rate": 0.3333,
    }
    assert fill.chart == [("01-12", 33.3)]  # 12 January: 40 days after 3 December
    rate = reports.backorder_rate(app.uow, now, 30)
    assert (rate.summary["lines_backordered"], rate.summary["backorder_rate"]) == (2, 0.6667)
    assert (rate.summary["units_backordered"], rate.summary["unit_backorder_rate"]) == (4, 0.6667)
    assert reports.fill_rate(app.uow, now, 7).summary["lines"] == 3


def test_time_to_fulfil_runs_from_the_order_to_the_last_unit_allocated(shop):
    app, ann, vip = shop
    first, second = order(app, ann, ("A", 2)), order(app, vip, ("A", 1))
    app.clock.advance(days=2)
    stock.receive_stock(app.uow, "A", "main", 2, app.clock())  # vip's 1, then 1 of ann's 2
    app.clock.advance(days=8)
    stock.receive_stock(app.uow, "A", "main", 1, app.clock())  # ann's last unit: 10 days
    report = reports.time_to_fulfil(app.uow, app.clock(), 30)

    assert sorted((row[0], row[5]) for row in report.rows) == [(first.id, 10.0), (second.id, 2.0)]
    assert report.summary == {"lines": 2, "mean_days": 6.0, "p90_days": 10.0}
    assert dict(report.chart) == {"0-7": 1.0, "8-14": 1.0, "15-30": 0.0, "30+": 0.0}


def test_promise_accuracy_compares_with_the_first_date_promised(shop):
    app, ann, vip = shop
    acme = purchasing.create_supplier(app.uow, purchasing.SupplierIn("Acme", 5, "EUR"), app.clock())
    po = purchasing.create_purchase_order(
        app.uow,
        acme.id,
        [
            purchasing.PoLineIn("A", 1, date(2026, 12, 5)),
            purchasing.PoLineIn("B", 1, date(2026, 12, 5)),
        ],
        app.clock(),
    )
    order(app, ann, ("A", 1), ("B", 1))
    app.clock.advance(days=1)
    purchasing.receive_po_line(app.uow, po.lines[0].id, 1, app.clock())  # 4 Dec: on time
    app.clock.advance(days=6)
    purchasing.receive_po_line(app.uow, po.lines[1].id, 1, app.clock())  # 10 Dec: 5 days late
    report = reports.promise_accuracy(app.uow, app.clock(), 30)

    assert [
        (row[2], row[3], row[5], row[6]) for row in sorted(report.rows, key=lambda r: r[2])
    ] == [("A", "2026-12-05", 0, "yes"), ("B", "2026-12-05", 5, "no")]
    assert report.summary["accuracy"] == 0.5 and report.summary["mean_days_late"] == 5
    assert dict(report.chart)["4-7 late"] == 1.0


def test_cancellations_caused_by_waiting_by_reason(shop):
    app, ann, vip = shop
    stock.receive_stock(app.uow, "B", "main", 1, app.clock())
    waited = order(app, ann, ("A", 2))
    customer = order(app, vip, ("A", 1), ("B", 1))
    orders.cancel_line(app.uow, waited.id, waited.lines[0].id, app.clock(), reason="max_wait")
    orders.cancel_line(app.uow, customer.id, customer.lines[0].id, app.clock(), reason="customer")
    orders.cancel_line(app.uow, customer.id, customer.lines[1].id, app.clock(), reason="customer")
    report = reports.cancellations(app.uow, app.clock(), 30)

    # The B line held its unit: nothing of it was waiting, so it is not a cancel by waiting.
    assert report.summary["lines"] == 2 and report.summary["units"] == 3
    assert report.summary["by_cause"] == {"customer": 1, "max_wait": 1}
    assert report.summary["caused_by_waiting"] == 2


def test_supplier_on_time_rate_over_completed_po_lines(shop):
    app, ann, _ = shop
    acme = purchasing.create_supplier(app.uow, purchasing.SupplierIn("Acme", 5, "EUR"), app.clock())
    po = purchasing.create_purchase_order(
        app.uow,
        acme.id,
        [
            purchasing.PoLineIn("A", 2, date(2026, 12, 4)),
            purchasing.PoLineIn("B", 2, date(2026, 12, 4)),
        ],
        app.clock(),
    )
    purchasing.receive_po_line(app.uow, po.lines[0].id, 2, app.clock())  # 3 Dec: early
    app.clock.advance(days=3)
    purchasing.receive_po_line(app.uow, po.lines[1].id, 1, app.clock())  # partial: not complete
    report = reports.supplier_on_time(app.uow, app.clock(), 90)
    assert report.rows == [(acme.id, "Acme", 1, 1, 1.0, 0.0)]
    purchasing.receive_po_line(app.uow, po.lines[1].id, 1, app.clock())  # 6 Dec: 2 days late
    report = reports.supplier_on_time(app.uow, app.clock(), 90)
    assert report.rows == [(acme.id, "Acme", 2, 1, 0.5, 1.0)]
    assert report.chart == [("Acme", 50.0)]


def test_ageing_buckets_open_lines_by_days_waited(shop):
    app, ann, vip = shop
    order(app, ann, ("A", 1))
    app.clock.advance(days=31)
    order(app, vip, ("A", 2))
    app.clock.advance(days=9)
    order(app, ann, ("B", 3))
    report = reports.ageing(app.uow, app.clock())
    assert report.rows == [("0-7", 1, 3), ("8-14", 1, 2), ("15-30", 0, 0), ("30+", 1, 1)]


def test_feedback_by_waiting_time(shop):
    from backorder.service import feedback

    app, ann, _ = shop
    late = order(app, ann, ("A", 1))
    app.clock.advance(days=10)
    stock.receive_stock(app.uow, "A", "main", 1, app.clock())
    orders.ship_order(app.uow, late.id, app.clock())
    [asked] = [e for e in orders_events(app, late.id) if e.kind == "feedback_requested"]
    feedback.submit(app.uow, asked.payload["url"].rsplit("/", 1)[-1], 2, "slow", app.clock())
    report = reports.feedback_by_wait(app.uow, app.clock(), 30)
    assert report.rows[1] == ("8-14", 1, 2.0) and report.summary["answers"] == 1


def orders_events(app, order_id):
    from backorder.service import queries

    return queries.events(app.uow, order_id=order_id)


def test_a_window_must_be_a_sensible_number_of_days(shop):
    from backorder.domain.errors import InvalidInput

    app, *_ = shop
    with pytest.raises(InvalidInput):
        reports.fill_rate(app.uow, app.clock(), 0)
    assert set(reports.REPORTS) >= {
        "fill-rate",
        "backorder-rate",
        "time-to-fulfil",
        "promise-accuracy",
        "cancellations",
        "supplier-on-time",
        "feedback-by-wait",
    }
