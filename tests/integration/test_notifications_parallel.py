"""Two dispatchers on one PostgreSQL database never send the same delivery twice (SKIP LOCKED)."""

from __future__ import annotations

import threading
from collections import Counter

from backorder.service import notify_admin

from .notify_support import SECRET, WebhookReceiver, add_customer, add_product, dispatcher, place

ORDERS = 120  # 240 events, one webhook delivery each


def run_side_by_side(workers) -> list:
    """Start both at once and let each drain the outbox; returns each one's totals."""
    start, results = threading.Barrier(len(workers)), [None] * len(workers)

    def run(index: int) -> None:
        start.wait()
        results[index] = workers[index].run_until_idle()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(workers))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    return results


def test_two_dispatchers_in_parallel_share_the_work_and_send_each_delivery_once(pg_app):
    app = pg_app
    add_product(app, "A", on_hand=0)
    ann = add_customer(app, "Ann", None)
    for _ in range(ORDERS):
        place(app, ann, "A", 1)
    with WebhookReceiver(delay=0.002) as hook:
        notify_admin.add_webhook(app.uow, hook.url, app.clock(), (), SECRET)
        # The endpoint is new: replan from scratch so both dispatchers also race to plan.
        with app.engine.begin() as conn:
            conn.exec_driver_sql("UPDATE events SET dispatched_at = NULL")
        first, second = run_side_by_side([dispatcher(app, dispatch_batch=3) for _ in range(2)])

    assert sum(hook.keys().values()) == 2 * ORDERS
    assert Counter(hook.keys().values()) == Counter({1: 2 * ORDERS})  # no key twice
    assert first.sent + second.sent == 2 * ORDERS
    assert first.sent > 0 and second.sent > 0  # both really worked
    assert first.planned_events + second.planned_events == 2 * ORDERS
    assert {d.status for d in notify_admin.deliveries(app.uow, limit=10_000)} == {"sent"}
