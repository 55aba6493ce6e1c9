"""Soak on PostgreSQL: several API processes and dispatchers, killed and restarted under load.

Processes: `backorder serve --workers 2` (two API processes), two single `backorder serve`
processes (four API processes in all) and two `backorder worker` dispatchers, all on one
PostgreSQL database. 32 client threads send orders (each with an external_ref), cancels (with
an Idempotency-Key), receipts and shipments (each with a reference) on a skewed SKU mix: three
hot SKUs take 60% of the picks. A quarter of the way in, one API process is killed with SIGKILL
and started again; half-way, one dispatcher. Clients retry connection errors with the very same
request. A webhook endpoint on loopback subscribes to every event.

Afterwards: every order acknowledged with 2xx exists exactly once (by its external_ref);
`backorder check` passes; no stock row was ever negative (the CHECK constraints are in place,
and replaying the ledger SKU by SKU never goes below zero and matches every on_hand_after);
every event was planned into a delivery and every delivery was sent, once the dispatchers
drained; the receiver got every delivery. The figures are printed.

Sized for CI on 2 cores: 32 x 25 requests, about a minute in all.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text

from backorder.bootstrap import App, build
from backorder.config import Settings
from backorder.domain.model import BackorderPolicy, Fulfilment, Product, Tier
from backorder.service import catalog, notify_admin, stock
from tests.integration.notify_support import SECRET, WebhookReceiver, free_port
from tests.loadgen import LoadClient, Outcome, Recorder, skewed_choice

BIN = Path(sys.executable).with_name("backorder")
CLIENTS = 32
REQUESTS_PER_CLIENT = 25
LOAD_DEADLINE = 120.0  # a safety bound on the load phase; the request count ends it first
KILL_API_AT, KILL_WORKER_AT = 0.25, 0.5  # fractions of all requests done
DRAIN_DEADLINE = 120.0
HOT = ("HOT-1", "HOT-2", "HOT-3")
COLD = tuple(f"SKU-{n:02d}" for n in range(1, 21))  # SKU-01..05 deny backorders
CUSTOMERS = 40
PROCESS_ENV = {
    "BACKORDER_API_AUTH": "false",
    "BACKORDER_DISPATCH_IN_SERVE": "false",  # the two `backorder worker` processes dispatch
    "BACKORDER_DISPATCH_POLL_SECONDS": "0.2",
    "BACKORDER_DISPATCH_LEASE_SECONDS": "3",  # a killed dispatcher's claims return in 3 s
    "BACKORDER_WEBHOOK_TIMEOUT_SECONDS": "2",
    "BACKORDER_SMTP_TIMEOUT_SECONDS": "2",
    "BACKORDER_DISPATCH_BACKOFF_SECONDS": "0.5",
    "BACKORDER_DISPATCH_BACKOFF_MAX_SECONDS": "2",
}


# -- the processes ---------------------------------------------------------------------------


@dataclass
class Fleet:
    """The server and dispatcher processes, their ports and logs; kills and restarts."""

    url: str
    logs: Path
    apis: dict[str, subprocess.Popen] = field(default_factory=dict)  # base URL -> process
    workers: list[subprocess.Popen] = field(default_factory=list)
    kills: list[str] = field(default_factory=list)
    kill_marks: list[int] = field(default_factory=list)  # requests done at each kill

    def env(self) -> dict[str, str]:
        return os.environ | PROCESS_ENV | {"BACKORDER_DATABASE_URL": self.url}

    def _start(self, name: str, *args: str) -> subprocess.Popen:
        with (self.logs / f"{name}.log").open("a") as log:  # the child keeps its own handle
            return subprocess.Popen(
                [str(BIN), *args], env=self.env(), stdout=log, stderr=subprocess.STDOUT
            )

    def start_api(self, workers: int = 1, port: int | None = None) -> str:
        port = port or free_port()
        base = f"http://127.0.0.1:{port}"
        self.apis[base] = self._start(
            f"api-{port}", "serve", "--port", str(port), "--workers", str(workers)
        )
        return base

    def start_worker(self, index: int) -> None:
        process = self._start(f"worker-{index}", "worker")
        if index < len(self.workers):
            self.workers[index] = process
        else:
            self.workers.append(process)

    def wait_until_up(self, base: str, timeout: float = 90.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.apis[base].poll() is not None:
                raise RuntimeError(f"{base} exited: {self.log_tail(base)}")
            try:
                if httpx.get(f"{base}/health", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        raise TimeoutError(f"{base} did not answer /health within {timeout} s")

    def kill_and_restart_api(self, base: str) -> None:
        _kill_hard(self.apis[base])
        self.kills.append(f"API {base}")
        self.start_api(port=int(base.rsplit(":", 1)[1]))
        self.wait_until_up(base)

    def kill_and_restart_worker(self, index: int) -> None:
        _kill_hard(self.workers[index])
        self.kills.append(f"dispatcher {index}")
        self.start_worker(index)

    def log_tail(self, base: str) -> str:
        port = base.rsplit(":", 1)[1]
        return (self.logs / f"api-{port}.log").read_text()[-3000:]

    def stop(self) -> None:
        processes = [*self.apis.values(), *self.workers]
        for process in processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in processes:
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(10)


def _kill_hard(process: subprocess.Popen) -> None:
    os.kill(process.pid, signal.SIGKILL)
    process.wait(30)


# -- the shop --------------------------------------------------------------------------------


def seed_shop(app: App, webhook_url: str) -> list[int]:
    """The webhook first (so every event reaches it), then products, stock and customers."""
    now = app.clock()
    notify_admin.add_webhook(app.uow, webhook_url, now, (), SECRET)
    for n, sku in enumerate(HOT + COLD):
        policy = BackorderPolicy.DENY if sku in COLD[:5] else BackorderPolicy.ALLOW
        catalog.save_product(
            app.uow, Product(sku, f"Item {sku}", 1000 + n, "EUR", policy, None, None, 7), now
        )
        stock.receive_stock(app.uow, sku, "main", 30, now, reference=f"opening-{sku}")
    tiers = (Tier.STANDARD,) * 6 + (Tier.PRIORITY,) * 3 + (Tier.CRITICAL,)
    return [
        catalog.create_customer(
            app.uow,
            catalog.CustomerIn(
                f"Soak customer {n}",
                None,
                tiers[n % len(tiers)],
                Fulfilment.SHIP_COMPLETE if n % 5 == 0 else Fulfilment.SHIP_PARTIAL,
            ),
            now,
        ).id
        for n in range(CUSTOMERS)
    ]


# -- the clients -----------------------------------------------------------------------------


@dataclass
class Acknowledged:
    """Orders the clients were told were placed: external_ref -> order id."""

    orders: dict[str, int] = field(default_factory=dict)
    conflicts: list[str] = field(default_factory=list)  # one ref acknowledged as two orders
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, ref: str, order_id: int) -> None:
        with self.lock:
            known = self.orders.setdefault(ref, order_id)
            if known != order_id:
                self.conflicts.append(f"{ref}: order {known} and order {order_id}")


@dataclass
class ClientScript:
    """One client thread: a seeded mix of orders, cancels, receipts and shipments."""

    index: int
    servers: list[str]
    customers: list[int]
    recorder: Recorder
    acknowledged: Acknowledged
    deadline: float
    own_orders: list[int] = field(default_factory=list)
    error: BaseException | None = None

    def run(self) -> None:
        rng, client = random.Random(self.index), LoadClient(self.servers, self.index)
        try:
            for n in range(REQUESTS_PER_CLIENT):
                if time.monotonic() > self.deadline:
                    break
                self.recorder.add(self.one_request(rng, client, n))
        except BaseException as error:  # reported by the test thread
            self.error = error
        finally:
            client.close()

    def one_request(self, rng: random.Random, client: LoadClient, n: int) -> Outcome:
        kind = rng.choices(("order", "cancel", "receipt", "ship"), (50, 12, 20, 18))[0]
        if kind != "order" and kind != "receipt" and not self.own_orders:
            kind = "order"
        tag = f"{self.index}-{n}"
        if kind == "order":
            return self.place(rng, client, f"soak-{tag}")
        if kind == "receipt":
            body = {
                "sku": skewed_choice(rng, HOT, COLD),
                "qty": rng.randint(1, 8),
                "reference": f"soak-r-{tag}",
            }
            return client.send("receipt", "POST", "/receipts", body)
        order_id = rng.choice(self.own_orders)
        if kind == "cancel":
            return client.send(
                "cancel",
                "POST",
                f"/orders/{order_id}/cancel",
                {"reason": "soak"},
                key=f"soak-c-{tag}",
            )
        return client.send(
            "ship", "POST", f"/orders/{order_id}/shipments", {"reference": f"soak-s-{tag}"}
        )

    def place(self, rng: random.Random, client: LoadClient, ref: str) -> Outcome:
        skus = {skewed_choice(rng, HOT, COLD) for _ in range(rng.randint(1, 3))}
        lines = [{"sku": sku, "qty": rng.randint(1, 3)} for sku in sorted(skus)]
        body = {"customer_id": rng.choice(self.customers), "external_ref": ref, "lines": lines}
        outcome = client.send("order", "POST", "/orders", body)
        if outcome.ok:
            self.acknowledged.add(ref, outcome.body["id"])
            self.own_orders.append(outcome.body["id"])
        return outcome


def chaos(
    fleet: Fleet,
    recorder: Recorder,
    victim_api: str,
    total: int,
    load_done: threading.Event,
    errors: list[BaseException],
) -> None:
    """Kill one API process, then one dispatcher, when the load reaches each mark."""
    try:
        for mark, kill in (
            (KILL_API_AT, lambda: fleet.kill_and_restart_api(victim_api)),
            (KILL_WORKER_AT, lambda: fleet.kill_and_restart_worker(0)),
        ):
            while recorder.done < total * mark and not load_done.is_set():
                time.sleep(0.05)
            fleet.kill_marks.append(recorder.done)
            kill()
    except BaseException as error:  # reported by the test thread
        errors.append(error)


def run_load(
    fleet: Fleet, servers: list[str], victim: str, customers: list[int]
) -> tuple[Recorder, Acknowledged]:
    recorder, acknowledged = Recorder(), Acknowledged()
    deadline = time.monotonic() + LOAD_DEADLINE
    scripts = [
        ClientScript(i, servers, customers, recorder, acknowledged, deadline)
        for i in range(CLIENTS)
    ]
    threads = [threading.Thread(target=s.run, name=f"client-{s.index}") for s in scripts]
    load_done, chaos_errors = threading.Event(), []
    monkey = threading.Thread(
        target=chaos,
        args=(fleet, recorder, victim, CLIENTS * REQUESTS_PER_CLIENT, load_done, chaos_errors),
    )
    monkey.start()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    load_done.set()
    monkey.join(120)
    assert not chaos_errors, chaos_errors
    assert not [s.error for s in scripts if s.error], [s.error for s in scripts if s.error]
    assert not acknowledged.conflicts, acknowledged.conflicts
    return recorder, acknowledged


# -- what must hold afterwards ---------------------------------------------------------------


def scalar(app: App, sql: str, **params):
    with app.engine.connect() as conn:
        return conn.execute(text(sql), params).scalar_one()


def assert_every_acknowledged_order_exists_once(app: App, acknowledged: Acknowledged) -> int:
    with app.engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT external_ref, count(*), min(id) FROM orders "
                "WHERE external_ref LIKE 'soak-%' GROUP BY external_ref"
            )
        ).all()
    stored = {ref: (count, order_id) for ref, count, order_id in rows}
    for ref, order_id in acknowledged.orders.items():
        assert stored.get(ref) == (1, order_id), (ref, order_id, stored.get(ref))
    return len(stored) - len(acknowledged.orders)  # placed, but the client never heard


def assert_stock_never_went_negative(app: App) -> None:
    with app.engine.connect() as conn:
        checks = set(
            conn.execute(
                text(
                    "SELECT conname FROM pg_constraint WHERE contype = 'c' "
                    "AND conrelid IN ('stock'::regclass, 'ledger'::regclass)"
                )
            ).scalars()
        )
        ledger = conn.execute(
            text("SELECT sku, warehouse, delta, on_hand_after FROM ledger ORDER BY id")
        ).all()
        on_hand = dict(
            ((s, w), n)
            for s, w, n in conn.execute(text("SELECT sku, warehouse, on_hand FROM stock"))
        )
    assert {
        "ck_stock_allocated_nonneg",
        "ck_stock_allocated_within_on_hand",
        "ck_ledger_on_hand_nonneg",
    } <= checks
    replayed: dict[tuple[str, str], int] = defaultdict(int)
    for sku, warehouse, delta, after in ledger:  # per SKU, id order is lock (commit) order
        replayed[sku, warehouse] += delta
        assert replayed[sku, warehouse] == after >= 0, (sku, warehouse, replayed, after)
    assert {key: replayed.get(key, 0) for key in on_hand} == on_hand


def wait_until_dispatched(app: App, timeout: float = DRAIN_DEADLINE) -> None:
    """Until every event is planned and no delivery is due; fails after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        undispatched = scalar(app, "SELECT count(*) FROM events WHERE dispatched_at IS NULL")
        due = scalar(app, "SELECT count(*) FROM deliveries WHERE status IN ('pending', 'failed')")
        if undispatched == due == 0:
            return
        time.sleep(0.5)
    raise AssertionError(
        f"after {timeout} s: {undispatched} events not planned, {due} deliveries still due"
    )


def assert_every_event_delivered(app: App, hook: WebhookReceiver) -> dict[str, int]:
    with app.engine.connect() as conn:
        missing = conn.execute(
            text(
                "SELECT count(*) FROM events e WHERE NOT EXISTS (SELECT 1 FROM deliveries d "
                "WHERE d.event_id = e.id AND d.channel = 'webhook')"
            )
        ).scalar_one()
        statuses = dict(
            conn.execute(text("SELECT status, count(*) FROM deliveries GROUP BY status")).all()
        )
        keys = set(conn.execute(text("SELECT idempotency_key FROM deliveries")).scalars())
    assert missing == 0, f"{missing} events without a webhook delivery"
    assert set(statuses) == {"sent"}, statuses
    received = hook.keys()
    assert keys <= set(received), f"{len(keys - set(received))} deliveries never arrived"
    return {
        "deliveries": len(keys),
        "requests": sum(received.values()),
        "repeats": sum(n - 1 for n in received.values()),
    }


def run_check_cli(url: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(BIN), "--database-url", url, "check"],
        capture_output=True,
        text=True,
        timeout=300,
        env=os.environ | PROCESS_ENV,
    )


# -- the test --------------------------------------------------------------------------------


class Phases(dict):
    """Seconds per phase of the test, in order."""

    @contextmanager
    def __call__(self, name: str) -> Iterator[None]:
        started = time.monotonic()
        try:
            yield
        finally:
            self[name] = time.monotonic() - started

    def line(self) -> str:
        return "phases: " + ", ".join(f"{name} {seconds:.1f} s" for name, seconds in self.items())


def start_fleet(fleet: Fleet) -> tuple[list[str], str]:
    """`serve --workers 2`, two single `serve` processes (the second is the victim), two
    dispatchers; returns the servers' base URLs and the victim's."""
    servers = [fleet.start_api(workers=2), fleet.start_api(), fleet.start_api()]
    for index in range(2):
        fleet.start_worker(index)
    for base in servers:
        fleet.wait_until_up(base)
    return servers, servers[1]


def show(capsys, lines: list[str]) -> None:
    with capsys.disabled():  # in CI's log too, not only under `pytest -s`
        print("\n".join(lines), flush=True)


@pytest.mark.soak
@pytest.mark.postgres
def test_four_api_processes_and_two_dispatchers_killed_under_load_lose_and_duplicate_nothing(
    pg_url, tmp_path, capsys
):
    app = build(Settings(database_url=pg_url, api_auth=False))  # the real clock, as the servers
    fleet, phases = Fleet(pg_url, tmp_path), Phases()
    with WebhookReceiver() as hook:
        try:
            with phases("seed"):
                customers = seed_shop(app, hook.url)
            with phases("start"):
                servers, victim = start_fleet(fleet)
            with phases("load"):
                recorder, acknowledged = run_load(fleet, servers, victim, customers)
            with phases("drain"):
                wait_until_dispatched(app)
        finally:
            with phases("stop"):
                fleet.stop()
        figures = recorder.figures()
        show(
            capsys,
            [
                "",
                f"soak (PostgreSQL: 4 API processes, 2 dispatchers, {CLIENTS} "
                f"clients; killed and restarted: {', '.join(fleet.kills)} after "
                f"{' and '.join(map(str, fleet.kill_marks))} requests)",
                *figures.lines(phases["load"]),
            ],
        )
        unheard = assert_every_acknowledged_order_exists_once(app, acknowledged)
        with phases("check"):
            check = run_check_cli(pg_url)
        assert check.returncode == 0, check.stdout + check.stderr
        assert_stock_never_went_negative(app)
        delivered = assert_every_event_delivered(app, hook)
    events = scalar(app, "SELECT count(*) FROM events")
    app.close()

    show(
        capsys,
        [
            f"orders acknowledged: {len(acknowledged.orders)}, each stored once; placed but never "
            f"acknowledged: {unheard}; `backorder check`: ok; ledger replay: never negative",
            f"events: {events}, each with a webhook delivery; {delivered['deliveries']} deliveries "
            f"all sent; the receiver got {delivered['requests']} ({delivered['repeats']} repeats)",
            phases.line(),
        ],
    )
    assert fleet.kills == [f"API {victim}", "dispatcher 0"]
    assert figures.requests >= CLIENTS  # all of them, unless LOAD_DEADLINE cut the run short
    assert not [label for label in figures.by_label if label.startswith("5")], figures.by_label
    assert "gave up (connection)" not in figures.by_label
    assert Counter(o.kind for o in recorder.outcomes if o.ok)["order"] == len(acknowledged.orders)
