"""Auto-cancel: a warning once per line N days ahead, then the cancel with reason "max_wait";
freed units go to the next in line (issue 8, item 6)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from backorder.bootstrap import build
from backorder.config import Settings
from backorder.domain.errors import InvalidInput
from backorder.domain.model import BackorderPolicy, Fulfilment
from backorder.entrypoints.api.app import create_app
from backorder.service import auto_cancel, jobs, queries
from tests.acceptance.helpers import (
    add_customer,
    add_product,
    assert_invariants,
    line_of,
    parts,
    place,
    receive,
    stock_of,
)

ALLOW = BackorderPolicy.ALLOW


def run_jobs(app) -> dict:
    return jobs.run_due_jobs(app.uow, app.clock())


def warnings(app) -> list:
    return queries.events(app.uow, kind="auto_cancel_warning")


def cancels(app) -> list:
    return queries.events(app.uow, kind="line_cancelled")


@pytest.fixture
def shop_limit_app(tmp_path, clock):
    """A shop whose lines wait at most 10 days, warned 2 days ahead."""
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'shop.db'}",
        max_wait_days=10,
        auto_cancel_warning_days=2,
    )
    app = build(settings, clock=clock)
    yield app
    app.close()


def test_a_line_past_its_30_day_limit_is_warned_once_3_days_ahead_then_cancelled(any_app, clock):
    add_product(any_app, "A", policy=ALLOW)
    auto_cancel.set_max_wait(any_app.uow, "A", 30, clock())
    placed_at = clock()
    order = place(any_app, add_customer(any_app), ("A", 2))

    clock.advance(days=26, hours=23, minutes=59)
    assert run_jobs(any_app)["auto_cancel_warnings"] == 0
    clock.advance(minutes=1)  # 27 days: 3 days before the limit
    assert run_jobs(any_app)["auto_cancel_warnings"] == 1
    assert run_jobs(any_app)["auto_cancel_warnings"] == 0  # once per line
    [warning] = warnings(any_app)
    assert warning.payload | {"customer_id": 0} == {
        "order_id": order.id,
        "line_id": order.lines[0].id,
        "sku": "A",
        "customer_id": 0,
        "backordered": 2,
        "cancel_at": (placed_at + timedelta(days=30)).isoformat(),
    }

    clock.advance(days=2, hours=23, minutes=59)
    assert run_jobs(any_app)["auto_cancelled_lines"] == 0
    clock.advance(minutes=1)  # 30 days
    assert run_jobs(any_app)["auto_cancelled_lines"] == 1

    assert parts(line_of(any_app, order.id)) == {
        "qty": 2,
        "allocated": 0,
        "backordered": 0,
        "shipped": 0,
        "cancelled": 2,
    }
    [cancel] = cancels(any_app)
    assert (cancel.order_id, cancel.payload["reason"]) == (order.id, "max_wait")
    assert run_jobs(any_app)["auto_cancelled_lines"] == 0
    assert len(warnings(any_app)) == 1
    assert_invariants(any_app)


def test_units_an_auto_cancelled_line_held_go_to_the_next_in_line(app, clock):
    add_product(app, "A", policy=ALLOW)
    auto_cancel.set_max_wait(app.uow, "A", 30, clock())
    receive(app, "A", 1)
    complete = place(app, add_customer(app, "C"), ("A", 3), fulfilment=Fulfilment.SHIP_COMPLETE)
    assert (line_of(app, complete.id).allocated, line_of(app, complete.id).backordered) == (1, 2)
    clock.advance(days=10)
    later = place(app, add_customer(app, "L"), ("A", 1))

    clock.advance(days=17)
    run_jobs(app)  # the warnings
    clock.advance(days=3)  # 30 days after the first order, 20 after the second
    assert run_jobs(app)["auto_cancelled_lines"] == 1

    assert line_of(app, complete.id).cancelled == 3
    assert (line_of(app, later.id).allocated, line_of(app, later.id).backordered) == (1, 0)
    assert stock_of(app, "A") == {"on_hand": 1, "allocated": 1, "available": 0, "backordered": 0}
    assert_invariants(app)


def test_the_shop_wide_limit_applies_unless_the_product_has_its_own(shop_limit_app, clock):
    app = shop_limit_app
    add_product(app, "A", policy=ALLOW)
    add_product(app, "B", policy=ALLOW)
    auto_cancel.set_max_wait(app.uow, "B", 20, clock())
    order = place(app, add_customer(app), ("A", 1), ("B", 1))

    clock.advance(days=8)
    assert run_jobs(app)["auto_cancel_warnings"] == 1  # A: 2 days ahead of its 10
    clock.advance(days=2)
    assert run_jobs(app)["auto_cancelled_lines"] == 1
    assert (line_of(app, order.id, 1).cancelled, line_of(app, order.id, 2).cancelled) == (1, 0)
    clock.advance(days=8)
    assert run_jobs(app)["auto_cancel_warnings"] == 1  # B: 2 days ahead of its 20
    clock.advance(days=2)
    assert run_jobs(app)["auto_cancelled_lines"] == 1
    assert line_of(app, order.id, 2).cancelled == 1
    assert_invariants(app)


def test_a_limit_set_after_the_wait_ran_out_warns_first_and_cancels_3_days_later(app, clock):
    add_product(app, "A", policy=ALLOW)
    order = place(app, add_customer(app), ("A", 1))
    clock.advance(days=40)
    auto_cancel.set_max_wait(app.uow, "A", 30, clock())

    done = run_jobs(app)

    assert (done["auto_cancel_warnings"], done["auto_cancelled_lines"]) == (1, 0)
    assert warnings(app)[0].payload["cancel_at"] == (clock() + timedelta(days=3)).isoformat()
    clock.advance(days=3)
    assert run_jobs(app)["auto_cancelled_lines"] == 1
    assert line_of(app, order.id).cancelled == 1
    assert_invariants(app)


def test_a_line_served_after_its_warning_is_not_cancelled(app, clock):
    add_product(app, "A", policy=ALLOW)
    auto_cancel.set_max_wait(app.uow, "A", 30, clock())
    order = place(app, add_customer(app), ("A", 1))
    clock.advance(days=28)
    run_jobs(app)
    receive(app, "A", 1)

    clock.advance(days=5)
    assert run_jobs(app)["auto_cancelled_lines"] == 0
    assert parts(line_of(app, order.id))["allocated"] == 1
    assert_invariants(app)


def test_the_limit_is_set_over_the_api_and_checked(app):
    add_product(app, "A", policy=ALLOW)
    with TestClient(create_app(app, release_loop=False)) as client:
        assert client.put("/products/A/max-wait", json={"max_wait_days": 14}).json() == {
            "sku": "A",
            "max_wait_days": 14,
        }
        assert client.put("/products/A/max-wait", json={"max_wait_days": 0}).status_code == 422
        assert client.put("/products/B/max-wait", json={"max_wait_days": 5}).status_code == 404
    with pytest.raises(InvalidInput):
        auto_cancel.set_max_wait(app.uow, "A", 0, app.clock())
    assert_invariants(app)
