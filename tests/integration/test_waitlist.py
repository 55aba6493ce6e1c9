"""Back-in-stock waitlist: holds in subscription order, counted as allocated, claimed by the
subscriber's own order, expired by the job and passed on (issue 8, item 5)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from backorder.domain.errors import Conflict, InsufficientStock
from backorder.domain.model import BackorderPolicy
from backorder.entrypoints import cli
from backorder.entrypoints.api.app import create_app
from backorder.service import catalog, jobs, orders, purchasing, queries, waitlist
from tests.acceptance.helpers import (
    add_customer,
    add_product,
    assert_invariants,
    line_of,
    place,
    receive,
    stock_of,
)

DENY, ALLOW = BackorderPolicy.DENY, BackorderPolicy.ALLOW


def mails(app, customer_id: int | None = None) -> int:
    """`back_in_stock` events (one e-mail each), for everyone or one customer."""
    events = queries.events(app.uow, kind="back_in_stock")
    return len([e for e in events if customer_id in (None, e.payload["customer_id"])])


def subscribe(app, sku: str, customer_id: int):
    return waitlist.subscribe(app.uow, sku, customer_id, app.clock())


def run_jobs(app) -> dict:
    return jobs.run_due_jobs(app.uow, app.clock())


def stock_a(app) -> dict[str, int]:
    return stock_of(app, "A")


def status_of(app, subscription_id: int) -> str:
    return waitlist.subscription(app.uow, subscription_id).status


@pytest.fixture
def three_subscribers(any_app, clock):
    add_product(any_app, "A", policy=DENY)
    subs = []
    for name in ("S1", "S2", "S3"):
        subs.append(subscribe(any_app, "A", add_customer(any_app, name)))
        clock.advance(minutes=1)
    return subs


def test_subscribers_are_served_in_subscription_order_one_unit_each(any_app, three_subscribers):
    s1, s2, s3 = three_subscribers
    receive(any_app, "A", 2, reference="R-1")

    assert [mails(any_app, s.customer_id) for s in (s1, s2, s3)] == [1, 1, 0]
    [first, _] = queries.events(any_app.uow, kind="back_in_stock")
    expires = any_app.clock() + timedelta(hours=24)
    assert first.payload | {"hold_id": 0} == {
        "sku": "A",
        "customer_id": s1.customer_id,
        "subscription_id": s1.id,
        "hold_expires_at": expires.isoformat(),
        "hold_id": 0,
        "warehouse": "main",
        "qty": 1,
    }
    assert [status_of(any_app, s.id) for s in (s1, s2, s3)] == ["held", "held", "waiting"]
    assert stock_a(any_app) == {"on_hand": 2, "allocated": 2, "available": 0, "backordered": 0}
    assert_invariants(any_app)


def test_a_held_unit_is_not_available_to_another_customer(any_app, three_subscribers):
    receive(any_app, "A", 1, reference="R-1")

    with pytest.raises(InsufficientStock):
        place(any_app, add_customer(any_app, "Other"), ("A", 1))
    assert stock_a(any_app) == {"on_hand": 1, "allocated": 1, "available": 0, "backordered": 0}
    assert_invariants(any_app)


def test_the_subscriber_ordering_within_the_hold_gets_the_held_unit(any_app, three_subscribers):
    s1 = three_subscribers[0]
    receive(any_app, "A", 1, reference="R-1")

    order = place(any_app, s1.customer_id, ("A", 1))

    assert line_of(any_app, order.id).allocated == 1
    assert waitlist.active_holds(any_app.uow, "A") == []
    assert status_of(any_app, s1.id) == "ordered"
    [claimed] = queries.events(any_app.uow, kind="back_in_stock_claimed")
    assert (claimed.order_id, claimed.payload["subscription_id"]) == (order.id, s1.id)
    # The unit went from the hold to the line: still 1 allocated, nothing free.
    assert stock_a(any_app) == {"on_hand": 1, "allocated": 1, "available": 0, "backordered": 0}
    assert_invariants(any_app)


def test_an_unclaimed_hold_expires_after_24_hours_and_passes_on(any_app, clock, three_subscribers):
    s1, s2, s3 = three_subscribers
    receive(any_app, "A", 1, reference="R-1")

    clock.advance(hours=23, minutes=59)
    assert run_jobs(any_app)["holds_expired"] == 0
    clock.advance(minutes=1)
    done = run_jobs(any_app)

    assert (done["holds_expired"], done["holds_offered"]) == (1, 1)
    assert [status_of(any_app, s.id) for s in (s1, s2, s3)] == ["expired", "held", "waiting"]
    assert [mails(any_app, s.customer_id) for s in (s1, s2, s3)] == [1, 1, 0]
    assert len(queries.events(any_app.uow, kind="back_in_stock_expired")) == 1
    assert stock_a(any_app) == {"on_hand": 1, "allocated": 1, "available": 0, "backordered": 0}
    assert_invariants(any_app)


def test_an_expired_hold_goes_to_a_waiting_backorder_before_the_next_subscriber(app, clock):
    product = add_product(app, "A", policy=DENY)
    s1, s2 = (subscribe(app, "A", add_customer(app, n)) for n in ("S1", "S2"))
    receive(app, "A", 1, reference="R-1")
    catalog.save_product(app.uow, replace(product, backorder_policy=ALLOW), clock())
    waiting = place(app, add_customer(app, "B"), ("A", 1))
    assert line_of(app, waiting.id).backordered == 1  # the held unit is not B's to take

    clock.advance(hours=24)
    run_jobs(app)

    assert line_of(app, waiting.id).allocated == 1
    assert (status_of(app, s1.id), status_of(app, s2.id)) == ("expired", "waiting")
    assert mails(app) == 1
    assert stock_a(app) == {"on_hand": 1, "allocated": 1, "available": 0, "backordered": 0}
    assert_invariants(app)


def test_only_skus_that_cannot_be_ordered_take_subscribers_and_once_each(app):
    add_product(app, "IN", policy=DENY)
    add_product(app, "BO", policy=ALLOW)
    add_product(app, "OUT", policy=DENY)
    ann = add_customer(app)
    receive(app, "IN", 1)

    with pytest.raises(Conflict, match="in stock"):
        subscribe(app, "IN", ann)
    with pytest.raises(Conflict, match="backorder"):
        subscribe(app, "BO", ann)
    first, again = subscribe(app, "OUT", ann), subscribe(app, "OUT", ann)

    assert first.id == again.id
    assert len(queries.events(app.uow, kind="waitlist_subscribed")) == 1
    assert_invariants(app)


def test_leaving_the_waitlist_passes_the_held_unit_to_the_next(any_app, three_subscribers):
    app = any_app
    s1, s2, _ = three_subscribers
    receive(app, "A", 1, reference="R-1")

    waitlist.unsubscribe(app.uow, s1.id, app.clock())

    assert (status_of(app, s1.id), status_of(app, s2.id)) == ("cancelled", "held")
    assert [h.customer_id for h in waitlist.active_holds(app.uow, "A")] == [s2.customer_id]
    assert stock_a(app) == {"on_hand": 1, "allocated": 1, "available": 0, "backordered": 0}
    assert_invariants(app)


def test_stock_freed_by_a_cancel_is_offered_by_the_job(any_app):
    add_product(any_app, "A", policy=DENY)
    receive(any_app, "A", 1)
    bought = place(any_app, add_customer(any_app, "X"), ("A", 1))
    s = subscribe(any_app, "A", add_customer(any_app, "S"))
    orders.cancel_order(any_app.uow, bought.id, any_app.clock())
    assert mails(any_app) == 0

    assert run_jobs(any_app)["holds_offered"] == 1

    assert mails(any_app, s.customer_id) == 1
    assert stock_a(any_app) == {"on_hand": 1, "allocated": 1, "available": 0, "backordered": 0}
    assert_invariants(any_app)


def test_reversing_a_receipt_takes_held_units_back_before_any_order(any_app, clock):
    add_product(any_app, "A", policy=DENY)
    s1, s2 = (subscribe(any_app, "A", add_customer(any_app, n)) for n in ("S1", "S2"))
    supplier = purchasing.SupplierIn("Acme", 10, "EUR")
    acme = purchasing.create_supplier(any_app.uow, supplier, clock())
    po = purchasing.create_purchase_order(
        any_app.uow, acme.id, [purchasing.PoLineIn("A", 2, date(2026, 12, 10))], clock()
    )
    receipt = purchasing.receive_po_line(any_app.uow, po.lines[0].id, 2, clock(), "GR-1")
    assert mails(any_app) == 2

    purchasing.reverse_receipt(any_app.uow, receipt["receipt_id"], clock())

    assert waitlist.active_holds(any_app.uow, "A") == []
    assert (status_of(any_app, s1.id), status_of(any_app, s2.id)) == ("waiting", "waiting")
    assert stock_a(any_app) == {"on_hand": 0, "allocated": 0, "available": 0, "backordered": 0}
    assert_invariants(any_app)


def test_the_api_and_the_cli_subscribe_show_holds_and_run_the_jobs(app, clock):
    add_product(app, "A", policy=DENY)
    ann = add_customer(app)
    with TestClient(create_app(app, release_loop=False)) as client:
        created = client.post("/skus/A/waitlist", json={"customer_id": ann})
        assert created.status_code == 201 and created.json()["status"] == "waiting"
        receive(app, "A", 1)
        [hold] = client.get("/holds", params={"sku": "A"}).json()
        assert (hold["customer_id"], hold["qty"]) == (ann, 1)
        clock.advance(hours=25)
        assert client.post("/jobs/run").json()["holds_expired"] == 1
    cli.backend.cache_clear()
    try:
        result = CliRunner().invoke(
            cli.app,
            [
                "--json",
                "--database-url",
                app.settings.database_url,
                "waitlist",
                "list",
                "A",
                "--closed",
            ],
        )
    finally:
        cli.backend.cache_clear()
    assert result.exit_code == 0, result.output
    assert '"status": "expired"' in result.output
    assert_invariants(app)
