"""Real receivers on loopback for the notification tests: an SMTP server and a webhook endpoint.

Nothing is faked but the clock: e-mail goes through aiosmtpd, webhooks through http.server,
and the receiver checks each signature the way docs/webhooks.md tells merchants to.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import socket
import threading
import time
from collections import Counter
from dataclasses import dataclass, field, replace
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from aiosmtpd.controller import Controller

from backorder.bootstrap import App
from backorder.domain.model import BackorderPolicy, Product
from backorder.entrypoints.worker import Dispatcher
from backorder.service import catalog, orders, stock

SECRET = "s3cret-for-the-tests-0123456789"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# -- SMTP -----------------------------------------------------------------------------------


class _Collect:
    def __init__(self, inbox: list[EmailMessage]) -> None:
        self.inbox = inbox

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's name)
        self.inbox.append(message_from_bytes(envelope.content, policy=policy.default))
        return "250 OK"


class SmtpSink:
    """A real SMTP server on 127.0.0.1 keeping every message it receives."""

    def __init__(self) -> None:
        self.inbox: list[EmailMessage] = []
        self.port = free_port()
        self.controller = Controller(_Collect(self.inbox), hostname="127.0.0.1", port=self.port)

    def __enter__(self) -> SmtpSink:
        self.controller.start()
        return self

    def __exit__(self, *exc) -> None:
        self.controller.stop()

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.inbox if m["To"] == address]


def text_of(message: EmailMessage) -> str:
    return message.get_body(("plain",)).get_content()


def html_of(message: EmailMessage) -> str:
    return message.get_body(("html",)).get_content()


# -- webhooks -------------------------------------------------------------------------------


@dataclass
class Received:
    key: str
    kind: str
    body: dict
    signature_ok: bool


@dataclass
class WebhookReceiver:
    """An HTTP endpoint on 127.0.0.1 that verifies signatures and records Idempotency-Keys."""

    status: int = 200
    delay: float = 0.0
    secret: str = SECRET
    received: list[Received] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.lock = threading.Lock()
        self.arrived = threading.Event()  # set when a request comes in, before it is answered
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def __enter__(self) -> WebhookReceiver:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()

    def keys(self) -> Counter:
        with self.lock:
            return Counter(r.key for r in self.received)

    def of_kind(self, kind: str) -> list[Received]:
        with self.lock:
            return [r for r in self.received if r.kind == kind]

    def _record(self, headers, raw: bytes) -> None:
        received = Received(
            headers["Idempotency-Key"],
            headers["X-Backorder-Event"],
            json.loads(raw),
            verify(self.secret, headers, raw),
        )
        with self.lock:
            self.received.append(received)

    def _handler(self):
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server's name)
                raw = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.arrived.set()
                if receiver.delay:
                    time.sleep(receiver.delay)
                if receiver.status == 200:
                    receiver._record(self.headers, raw)
                self.send_response(receiver.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):  # keep the test output quiet
                pass

        return Handler


def verify(secret: str, headers, raw: bytes, tolerance: int = 300) -> bool:
    """The recipe of docs/webhooks.md: HMAC-SHA256 over `t + "." + body`, recent t."""
    parts = dict(p.split("=", 1) for p in headers["X-Backorder-Signature"].split(","))
    expected = hmac.new(
        secret.encode(), parts["t"].encode() + b"." + raw, hashlib.sha256
    ).hexdigest()
    fresh = abs(time.time() - int(parts["t"])) <= tolerance
    return fresh and hmac.compare_digest(expected, parts["v1"])


# -- the shop -------------------------------------------------------------------------------


def with_settings(app: App, **values) -> App:
    """The same database and clock with other settings (e.g. an SMTP server)."""
    return replace(app, settings=app.settings.model_copy(update=values))


def dispatcher(app: App, smtp: SmtpSink | None = None, **settings) -> Dispatcher:
    if smtp is not None:
        settings.update(smtp_host="127.0.0.1", smtp_port=smtp.port, smtp_from="shop@example.com")
    return Dispatcher(with_settings(app, **settings))


def add_product(
    app: App,
    sku: str,
    *,
    on_hand: int = 0,
    lead_time_days: int | None = 7,
    policy: BackorderPolicy = BackorderPolicy.ALLOW_NOTIFY,
    price: int = 1250,
) -> None:
    product = Product(sku, f"Item {sku}", price, "EUR", policy, None, None, lead_time_days)
    catalog.save_product(app.uow, product, app.clock())
    if on_hand:
        stock.receive_stock(app.uow, sku, "main", on_hand, app.clock())


def add_customer(
    app: App, name: str = "Ayşe", email: str | None = "ayse@example.com", locale: str = "en"
) -> int:
    customer = catalog.CustomerIn(name, email, locale=locale)
    return catalog.create_customer(app.uow, customer, app.clock()).id


def place(app: App, customer_id: int, sku: str, qty: int):
    cmd = orders.PlaceOrder(customer_id, [orders.OrderLineIn(sku, qty)])
    return orders.place_order(app.uow, cmd, app.clock())
