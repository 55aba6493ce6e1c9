"""A `backorder worker` killed with SIGKILL again and again loses nothing.

A burst of 200 events goes to a real webhook receiver while the worker process is killed
five times (half of them while a request is in flight) and started again. Afterwards the
receiver holds every delivery's idempotency key, and the repeats it saw are at most one
per kill: only the message in flight can be sent twice.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from sqlalchemy import text

from backorder.bootstrap import build
from backorder.config import Settings
from backorder.service import notify_admin

from .notify_support import SECRET, WebhookReceiver, add_customer, add_product, place

ORDERS = 100  # each backordered: order_placed + order_backordered = 200 events
KILLS = 5
WORKER_ENV = {
    "BACKORDER_DISPATCH_LEASE_SECONDS": "1",  # an orphaned claim is retried after 1 s
    "BACKORDER_WEBHOOK_TIMEOUT_SECONDS": "0.5",
    "BACKORDER_SMTP_TIMEOUT_SECONDS": "0.5",
    "BACKORDER_DISPATCH_POLL_SECONDS": "0.05",
    "BACKORDER_DISPATCH_BATCH": "5",
}


def start_worker(url: str, log: Path) -> subprocess.Popen:
    command = [str(Path(sys.executable).with_name("backorder")), "--database-url", url, "worker"]
    with log.open("a") as output:  # the child keeps its own handle
        return subprocess.Popen(
            command, env=os.environ | WORKER_ENV, stdout=output, stderr=subprocess.STDOUT
        )


def kill_hard(worker: subprocess.Popen) -> None:
    os.kill(worker.pid, signal.SIGKILL)
    worker.wait(10)


def place_burst(app, customer_id: int) -> threading.Thread:
    def burst() -> None:
        for _ in range(ORDERS):
            place(app, customer_id, "A", 1)
            time.sleep(0.005)

    thread = threading.Thread(target=burst)
    thread.start()
    return thread


def wait_until_all_sent(app, expected: int, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with app.engine.connect() as conn:
            sent = conn.execute(text("SELECT count(*) FROM deliveries WHERE status = 'sent'"))
            if sent.scalar_one() == expected:
                return
        time.sleep(0.2)
    raise AssertionError(f"not every delivery was sent within {timeout} s")


def kill_during_the_burst(url: str, hook: WebhookReceiver, log: Path) -> subprocess.Popen:
    """Kill the worker KILLS times: even kills land mid-request, odd ones a moment later."""
    worker = start_worker(url, log)
    for kill in range(KILLS):
        hook.arrived.clear()
        assert hook.arrived.wait(20), "the worker sent nothing"
        if kill % 2:
            time.sleep(0.01)
        kill_hard(worker)
        worker = start_worker(url, log)
    return worker


def test_a_worker_killed_five_times_delivers_every_event_with_at_most_one_repeat_per_kill(
    tmp_path,
):
    url = f"sqlite:///{tmp_path / 'kill.db'}"
    app = build(Settings(database_url=url))  # the real clock: the worker process uses it too
    add_product(app, "A", on_hand=0)
    ann = add_customer(app, "Ann", None)
    with WebhookReceiver(delay=0.005) as hook:
        notify_admin.add_webhook(app.uow, hook.url, app.clock(), (), SECRET)
        burst = place_burst(app, ann)
        worker = kill_during_the_burst(url, hook, tmp_path / "worker.log")
        burst.join()
        try:
            wait_until_all_sent(app, expected=2 * ORDERS)
        finally:
            worker.send_signal(signal.SIGTERM)
            worker.wait(20)
        received = hook.keys()
    planned = {d.idempotency_key for d in notify_admin.deliveries(app.uow, limit=10_000)}
    app.close()

    repeats = sum(count - 1 for count in received.values())
    print(
        f"\n{len(planned)} deliveries, {sum(received.values())} requests, "
        f"{repeats} repeats after {KILLS} kills"
    )
    assert len(planned) == 2 * ORDERS
    assert set(received) == planned
    assert repeats <= KILLS
    assert all(r.signature_ok for r in hook.received)
