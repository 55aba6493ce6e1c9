"""200 orders through random sequences of allocate / ship / cancel / re-authorize / decline /
time out / duplicate callbacks, against the sandbox gateway over real HTTP on loopback (its
callbacks posted to our API, served on loopback too). Afterwards, for every order: captured
<= authorized, refunded <= captured, what was kept <= what shipped or is still held, what we
recorded is what the gateway moved, no idempotency key moved money twice, and every
invariant of DESIGN.md §3 holds."""

from __future__ import annotations

import contextlib
import itertools
import shutil
import tempfile
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from backorder.adapters.payments.sandbox import Sandbox
from backorder.bootstrap import build
from backorder.domain.errors import Conflict, DomainError
from backorder.domain.model import BackorderPolicy
from backorder.domain.payments import Policy
from backorder.service import orders, payment_commands, queries, stock
from tests.integration.payments_helpers import (
    EUR,
    SECRET,
    customer,
    paid,
    paying_settings,
    place,
    product,
    run,
    run_all,
    serving,
)

EXAMPLES, ORDERS = 20, 10  # 200 orders
TIMEOUT = 0.1  # seconds the HTTP gateway waits; a "time_out" answer comes twice as late
ACTIONS = [
    "receive",
    "ship",
    "ship_part",
    "cancel_line",
    "cancel",
    "reauthorize",
    "decline",
    "time_out",
    "fail",
    "retry",
    "capture_now",
    "refund",
    "confirm",
    "duplicate",
    "duplicate_next",
    "skip_run",
]

order_spec = st.tuples(
    st.lists(st.tuples(st.integers(0, 1), st.integers(1, 3)), min_size=1, max_size=2),
    st.sampled_from(list(Policy)),
    st.sampled_from(["tok_visa"] * 4 + ["tok_decline", "tok_3ds"]),
)
script = st.fixed_dictionaries(
    {
        "skus": st.lists(
            st.tuples(st.integers(0, 3), st.integers(1, 40), st.booleans()), min_size=2, max_size=2
        ),
        "orders": st.lists(order_spec, min_size=ORDERS, max_size=ORDERS),
        "actions": st.lists(
            st.tuples(st.sampled_from(ACTIONS), st.integers(0, ORDERS - 1), st.integers(1, 3)),
            min_size=8,
            max_size=16,
        ),
    }
)


@pytest.fixture
def folder(tmp_path):
    """On tmpfs when there is one: this test is about money, not about fsync."""
    if not Path("/dev/shm").is_dir():
        yield tmp_path
        return
    ram = Path(tempfile.mkdtemp(dir="/dev/shm", prefix="backorder-payments-"))
    yield ram
    shutil.rmtree(ram, ignore_errors=True)


def test_two_hundred_orders_keep_every_payment_invariant(folder, clock):
    with Sandbox(secret=SECRET, clock=clock, timeout_delay=TIMEOUT * 2) as sandbox:
        settings_ = paying_settings(
            f"sqlite:///{folder / 'shop.db'}", sandbox, payment_timeout_seconds=TIMEOUT
        )
        shop = build(settings_, clock=clock)
        with serving(shop) as base:
            sandbox.set_webhooks(f"{base}/payments/webhooks/sandbox", copies=0)
            placed = play_every_example(shop, sandbox, clock)
        breaches = queries.check(shop.uow)
        shop.close()
    assert len(placed) == EXAMPLES * ORDERS
    assert breaches == []
    keys = Counter(m["idempotency_key"] for m in sandbox.state()["movements"])
    assert [key for key, n in keys.items() if n > 1] == []


def play_every_example(shop, sandbox, clock) -> list[int]:
    examples = itertools.count(1)
    placed: list[int] = []

    # No shrinking: the examples share one database, and a failure prints its whole script.
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(script)
    def play(plan: dict) -> None:
        world = World(shop, sandbox, clock, f"E{next(examples)}")
        world.stock_up(plan["skus"])
        world.place_all(plan["orders"])
        for action, index, amount in plan["actions"]:
            world.act(action, index, amount)
        world.settle_everything()
        moved = moved_by_order(sandbox)
        for order_id in world.order_ids:
            check_order(shop, moved, order_id)
        placed.extend(world.order_ids)
        world.close()  # so later examples' sweeps do not renew this one's holds

    play()
    return placed


class World:
    """One example: its own SKUs and customers, the orders, and the actions on them."""

    def __init__(self, app, sandbox, clock, name: str) -> None:
        self.app, self.sandbox, self.clock, self.name = app, sandbox, clock, name
        self.skus: list[str] = []
        self.order_ids: list[int] = []
        self.webhook_url = sandbox.webhook_url

    def stock_up(self, skus) -> None:
        for n, (on_hand, price, allow) in enumerate(skus):
            sku = f"{self.name}-{n}"
            policy = BackorderPolicy.ALLOW if allow or n == 0 else BackorderPolicy.DENY
            product(self.app, sku, price * EUR, on_hand=on_hand, policy=policy)
            self.skus.append(sku)

    def place_all(self, specs) -> None:
        who = customer(self.app, self.name)
        for lines, policy, method in specs:
            wanted = [(self.skus[sku], qty) for sku, qty in lines]
            try:
                order = place(self.app, who, *wanted, policy=policy, method=method, deposit=30)
            except DomainError:  # refused (no backorders): the customer takes the other item
                wanted = [(self.skus[0], qty) for _, qty in lines]
                order = place(self.app, who, *wanted, policy=policy, method=method, deposit=30)
            self.order_ids.append(order.id)
            run(self.app)

    def act(self, action: str, index: int, amount: int) -> None:
        order_id = self.order_ids[index % len(self.order_ids)]
        with contextlib.suppress(DomainError):  # a refusal (nothing to ship, ...) changes nothing
            getattr(self, f"_{action}")(order_id, amount)
        if action != "skip_run":
            run(self.app)

    def settle_everything(self) -> None:
        """Customers finish their bank checks, the gateway answers again, time passes."""
        self.sandbox.script.clear()
        self._confirm(None, 0)
        for _ in range(3):
            self.clock.advance(hours=1)
            run_all(self.app)

    def close(self) -> None:
        for order_id in self.order_ids:
            self._cancel(order_id, 0)
        run(self.app)

    # -- actions -------------------------------------------------------------------------------

    def _receive(self, order_id, amount) -> None:
        sku = self.skus[amount % len(self.skus)]
        stock.receive_stock(self.app.uow, sku, "main", amount, self.clock())

    def _ship(self, order_id, amount) -> None:
        orders.ship_order(self.app.uow, order_id, self.clock())

    def _ship_part(self, order_id, amount) -> None:
        order = queries.order(self.app.uow, order_id)
        part = {x.id: min(x.allocated, amount) for x in order.lines if x.allocated}
        orders.ship_order(self.app.uow, order_id, self.clock(), part or None)

    def _cancel_line(self, order_id, amount) -> None:
        lines = queries.order(self.app.uow, order_id).lines
        orders.cancel_line(self.app.uow, order_id, lines[amount % len(lines)].id, self.clock())

    def _cancel(self, order_id, amount) -> None:
        try:
            orders.cancel_order(self.app.uow, order_id, self.clock())
        except Conflict as refusal:  # shipped in full, or every unit paid: nothing to cancel
            assert "nothing left to cancel" in refusal.message, refusal

    def _reauthorize(self, order_id, amount) -> None:
        self.clock.advance(days=8)  # every hold lapses; grace periods end
        run_all(self.app)

    def _decline(self, order_id, amount) -> None:
        self.sandbox.plan("authorize", "decline")

    def _time_out(self, order_id, amount) -> None:
        self.sandbox.plan("*", "timeout")

    def _fail(self, order_id, amount) -> None:
        self.sandbox.plan("*", "error", times=3)
        self.clock.advance(seconds=40)  # the next round retries what failed before

    def _retry(self, order_id, amount) -> None:
        payment_commands.retry_payment(self.app.uow, order_id, self.clock(), method="tok_visa")

    def _capture_now(self, order_id, amount) -> None:
        payment_commands.capture_now(self.app.uow, order_id, self.clock())

    def _refund(self, order_id, amount) -> None:
        line = queries.order(self.app.uow, order_id).lines[0]
        payment_commands.refund_line(
            self.app.uow, order_id, line.id, self.clock(), None, restock=bool(amount % 2)
        )

    def _confirm(self, order_id, amount) -> None:
        pending = [
            a for a in self.sandbox.state()["authorizations"].values() if a["status"] == "pending"
        ]
        for auth in pending:
            self.sandbox.confirm(auth["id"], succeed=amount != 3)

    def _duplicate(self, order_id, amount) -> None:
        sent = self.sandbox.events
        if sent:
            self.sandbox.redeliver(sent[-amount % len(sent)]["event"]["id"], copies=2)

    def _duplicate_next(self, order_id, amount) -> None:
        """From now on each outcome is also called back 0, 1 or 2 times."""
        self.sandbox.set_webhooks(self.webhook_url, copies=amount % 3)

    def _skip_run(self, order_id, amount) -> None:
        """The command committed, but the process stopped before running its intents."""


def moved_by_order(sandbox) -> dict[tuple[str, str], int]:
    """What the gateway really moved: {(kind, "order-N"): amount}."""
    moved: Counter[tuple[str, str]] = Counter()
    for m in sandbox.state()["movements"]:
        moved[(m["op"], m["reference"])] += m["amount"]
    return moved


def check_order(app, moved, order_id: int) -> None:
    view = paid(app, order_id)
    order = queries.order(app.uow, order_id)
    assert view.captured <= view.authorized, order_id
    assert view.refunded <= view.captured, order_id
    kept = view.captured - view.refunded
    price = {x.id: x.unit_price_minor for x in order.lines}
    chargeable = sum((x.shipped + x.allocated) * price[x.id] for x in order.lines)
    if view.policy == Policy.DEPOSIT:
        chargeable = sum((x.qty - x.cancelled) * price[x.id] for x in order.lines)
    assert kept <= chargeable, (order_id, kept, chargeable)
    for kind, recorded in (
        ("capture", view.captured),
        ("refund", view.refunded),
        ("void", view.voided),
        ("authorize", view.authorized),
    ):
        gateway = moved[(kind, f"order-{order_id}")]
        assert recorded == gateway, (order_id, kind, recorded, gateway)
    keys = [op.idempotency_key for op in view.operations]
    assert len(keys) == len(set(keys)), order_id
