"""Fixtures and helpers of the payment tests: the sandbox gateway on loopback, a shop that
pays through it, and our own API served on loopback for the gateway's callbacks."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import httpx
import pytest
import uvicorn

from backorder.adapters.payments.sandbox import Sandbox
from backorder.bootstrap import App, build
from backorder.config import Settings
from backorder.domain.model import BackorderPolicy, Product
from backorder.domain.payments import Policy
from backorder.entrypoints.api.app import create_app
from backorder.service import catalog, orders, payment_commands, queries, stock
from backorder.service import payment_executor as executor
from backorder.service.payment_views import PaymentIn, PaymentView

EUR = 100  # minor units in one euro: amounts below read as the scenarios state them
SECRET = "sandbox-webhook-secret"
CLIENT_TIMEOUT = 0.3  # seconds; the sandbox's "timeout" answers come later than this


@pytest.fixture
def sandbox(clock) -> Iterator[Sandbox]:
    with Sandbox(secret=SECRET, clock=clock, timeout_delay=CLIENT_TIMEOUT * 2) as running:
        yield running


def paying_settings(database_url: str, sandbox: Sandbox, **more) -> Settings:
    values = {"payment_timeout_seconds": CLIENT_TIMEOUT} | more
    return Settings(
        database_url=database_url,
        payment_gateway="sandbox",
        payment_gateway_url=sandbox.url,
        payment_webhook_secret=SECRET,
        **values,
    )


@pytest.fixture
def shop(tmp_path, clock, sandbox) -> Iterator[App]:
    """A shop on SQLite whose default gateway is the sandbox."""
    app = build(paying_settings(f"sqlite:///{tmp_path / 'shop.db'}", sandbox), clock=clock)
    yield app
    app.close()


@pytest.fixture(params=["sqlite", "postgres"])
def any_shop(request, tmp_path, clock, sandbox) -> Iterator[App]:
    """The same test on both databases."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'shop.db'}"
    else:
        url = request.getfixturevalue("pg_url")
    app = build(paying_settings(url, sandbox), clock=clock)
    yield app
    app.close()


@pytest.fixture
def served(shop, sandbox) -> Iterator[str]:
    """Our API on a loopback port; the sandbox sends its callbacks there."""
    with serving(shop) as base:
        sandbox.set_webhooks(f"{base}/payments/webhooks/sandbox")
        yield base


class serving:  # noqa: N801  (used as a context manager, like `open`)
    def __init__(self, app: App) -> None:
        config = uvicorn.Config(
            create_app(app, release_loop=False),
            host="127.0.0.1",
            port=_free_port(),
            log_level="warning",
        )
        self.server = uvicorn.Server(config)
        self.base = f"http://127.0.0.1:{config.port}"
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> str:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline:
                raise TimeoutError("the API did not start")
            time.sleep(0.02)
        return self.base

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=20)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# -- the shop's data -----------------------------------------------------------------------------


def product(
    app: App,
    sku: str,
    price: int,
    on_hand: int = 0,
    policy: BackorderPolicy = BackorderPolicy.ALLOW,
) -> None:
    now = app.clock()
    catalog.save_product(app.uow, Product(sku, f"Item {sku}", price, "EUR", policy), now)
    if on_hand:
        stock.receive_stock(app.uow, sku, "main", on_hand, now, reference=f"initial {sku}")


def customer(app: App, name: str = "Ann") -> int:
    return catalog.create_customer(app.uow, catalog.CustomerIn(name), app.clock()).id


def place(
    app: App,
    customer_id: int,
    *lines: tuple[str, int],
    policy: Policy = Policy.ON_SHIPMENT,
    method: str = "tok_visa",
    deposit: int = 0,
    payment: PaymentIn | None = None,
):
    payment = payment or PaymentIn("sandbox", method, policy, deposit)
    cmd = orders.PlaceOrder(
        customer_id, [orders.OrderLineIn(s, q) for s, q in lines], payment=payment
    )
    return orders.place_order(app.uow, cmd, app.clock())


def run(app: App) -> dict:
    """What the API and CLI do after each command: execute the due intents."""
    return executor.run_payment_intents(app.uow, app.gateways, app.clock(), app.payment_settings)


def run_all(app: App) -> dict:
    """What the background loop does: renewals and grace periods, then the intents."""
    return executor.run_payments(app.uow, app.gateways, app.clock(), app.payment_settings)


def paid(app: App, order_id: int) -> PaymentView:
    return payment_commands.payment_history(app.uow, order_id, app.clock())


def stock_of(app: App, sku: str) -> dict[str, int]:
    [row] = queries.stock(app.uow, sku)
    waiting = sum(q.backordered for q in queries.queue(app.uow, sku))
    return {
        "on_hand": row.on_hand,
        "allocated": row.allocated,
        "available": row.available,
        "backordered": waiting,
    }


def events(app: App, kind: str, order_id: int | None = None) -> int:
    return len(queries.events(app.uow, kind=kind, order_id=order_id))


def moved(sandbox: Sandbox, op: str, order_id: int) -> list[int]:
    """Amounts the sandbox really moved for one order, in order."""
    return [m["amount"] for m in sandbox.moved(op, f"order-{order_id}")]


def post_json(url: str, body: dict) -> httpx.Response:
    return httpx.post(url, json=body, timeout=10)
