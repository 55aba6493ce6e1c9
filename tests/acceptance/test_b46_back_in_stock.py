"""B46: "back in stock" is said only of units nobody else holds, once per subscription.

An e-mail of the scenario = one `back_in_stock` event (the outbox row the notifier sends).
"""

from __future__ import annotations

from dataclasses import replace

from backorder.domain.model import BackorderPolicy
from backorder.service import catalog, jobs, queries, waitlist

from .helpers import add_customer, add_product, assert_invariants, line_of, place, receive, stock_of


def back_in_stock_mails(app, customer_id: int | None = None) -> int:
    events = queries.events(app.uow, kind="back_in_stock")
    return len([e for e in events if customer_id in (None, e.payload["customer_id"])])


def run_jobs(app) -> dict:
    return jobs.run_due_jobs(app.uow, app.clock())


def test_b46_back_in_stock_is_sent_only_for_stock_the_backorders_left(any_app):
    app = any_app
    product = add_product(app, "A", policy=BackorderPolicy.DENY)  # on_hand 0, not sellable
    s = add_customer(app, "S")
    waitlist.subscribe(app.uow, "A", s, app.clock())

    backorderable = replace(product, backorder_policy=BackorderPolicy.ALLOW)
    catalog.save_product(app.uow, backorderable, app.clock())
    run_jobs(app)
    assert back_in_stock_mails(app) == 0  # backorders became possible: nothing is in stock

    o = place(app, add_customer(app, "O"), ("A", 2))
    assert line_of(app, o.id).backordered == 2
    receive(app, "A", 2, reference="R-1")
    run_jobs(app)
    assert back_in_stock_mails(app) == 0  # all consumed by O's backorder
    assert stock_of(app, "A") == {"on_hand": 2, "allocated": 2, "available": 0, "backordered": 0}

    receive(app, "A", 3, reference="R-2")  # available 3
    run_jobs(app)
    assert back_in_stock_mails(app) == 1
    assert back_in_stock_mails(app, s) == 1
    assert run_jobs(app)["holds_offered"] == 0
    assert back_in_stock_mails(app) == 1  # the subscription is consumed
    # One of the 3 units is held for S: allocated = O's 2 + S's 1.
    assert stock_of(app, "A") == {"on_hand": 5, "allocated": 3, "available": 2, "backordered": 0}
    assert_invariants(app)
