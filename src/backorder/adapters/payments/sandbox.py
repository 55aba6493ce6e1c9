"""A sandbox payment gateway: a real HTTP service on loopback that behaves like a card
provider with manual capture (the API `HttpGateway` speaks), and that can be told to
decline, time out, fail or answer twice, so retries and duplicate callbacks happen for real.

    python -m backorder.adapters.payments.sandbox --port 8765 --secret s3cret \\
        --webhook-url http://127.0.0.1:8000/payments/webhooks/sandbox

In tests: `with Sandbox(secret="s", clock=clock) as sandbox: ... sandbox.url ...`.

Payment methods: `tok_decline` is always declined, `tok_3ds` waits for the customer
(`confirm`), anything else is authorized. Authorizations lapse after `validity` by the
sandbox's clock; a capture against a lapsed one is declined.
"""

from __future__ import annotations

import argparse
import functools
import itertools
import json
import re
import threading
import time
from collections.abc import Callable
from contextlib import suppress
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx

from .http_gateway import SIGNATURE_HEADER, sign

ACTIONS = ("decline", "timeout", "error", "pending", "duplicate")
Answer = tuple[int, dict]


class Sandbox:
    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        secret: str = "",
        clock: Callable[[], datetime] | None = None,
        validity: timedelta = timedelta(days=7),
        timeout_delay: float = 1.5,
    ) -> None:
        self.secret = secret
        self.clock = clock or (lambda: datetime.now(UTC))
        self.validity = validity
        self.timeout_delay = timeout_delay  # how long a "timeout" answer keeps the client waiting
        self.webhook_url: str | None = None
        self.copies = 1  # each callback is delivered this many times, at once
        self._sender = httpx.Client(timeout=30)  # one client: a new one costs a TLS set-up
        self._lock = threading.RLock()
        self._ids = itertools.count(1)
        self.reset()
        self._server = _QuietServer((host, port), _handler_for(self))
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    # -- life --------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> Sandbox:
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._sender.close()

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def reset(self) -> None:
        with self._lock:
            self.authorizations: dict[str, dict] = {}
            self.captures: dict[str, dict] = {}
            self.refunds: dict[str, dict] = {}
            self.answers: dict[str, Answer] = {}  # idempotency key -> the first answer
            self.movements: list[dict] = []  # money actually moved, once per operation
            self.script: list[dict] = []  # what to do to the next requests
            self.events: list[dict] = []  # callbacks sent

    # -- control (in process, or over HTTP under /_control) ----------------------------------

    def plan(self, op: str, action: str, times: int = 1) -> None:
        """Do `action` to the next `times` requests of `op` (authorize, capture, void, refund,
        or * for any): decline, timeout (act, then answer too late), error (503, no act),
        pending (authorizations: wait for `confirm`), duplicate (send the callback twice)."""
        if action not in ACTIONS:
            raise ValueError(f"unknown action {action!r}")
        with self._lock:
            self.script.extend({"op": op, "action": action} for _ in range(times))

    def set_webhooks(self, url: str | None, copies: int = 1) -> None:
        """Where callbacks go, and how many times each (0: none, 2: "answer twice")."""
        self.webhook_url, self.copies = url, copies

    def confirm(self, authorization: str, succeed: bool = True) -> dict:
        """The customer finished (or failed) the bank's check of a pending authorization."""
        with self._lock:
            auth = self.authorizations[authorization]
            if auth["status"] != "pending":
                return dict(auth)
            auth["status"] = "authorized" if succeed else "declined"
            auth["expires_at"] = (self.clock() + self.validity).isoformat()
            if succeed:
                self._moved("authorize", auth)
            self.answers[auth["idempotency_key"]] = (200 if succeed else 402, dict(auth))
            event = self._event("authorization", dict(auth))
        self._deliver(event, self.copies)
        return dict(auth)

    def redeliver(self, event_id: str, copies: int = 1) -> None:
        """Send a callback again (a gateway retrying a delivery it thinks failed)."""
        event = next(e for e in self.events if e["event"]["id"] == event_id)
        self._deliver(event, copies)

    def state(self) -> dict:
        with self._lock:
            return json.loads(
                json.dumps(
                    {
                        "authorizations": self.authorizations,
                        "captures": self.captures,
                        "refunds": self.refunds,
                        "movements": self.movements,
                        "events": [e["event"] for e in self.events],
                    }
                )
            )

    def moved(self, op: str, reference: str | None = None) -> list[dict]:
        """Money movements of one kind, for one order reference (e.g. `order-7`) if given."""
        return [
            m
            for m in self.state()["movements"]
            if m["op"] == op and reference in (None, m["reference"])
        ]

    # -- the provider's API ------------------------------------------------------------------

    def handle(self, method: str, path: str, key: str | None, body: dict) -> Answer:
        if path.startswith("/_control/"):
            return self._control(method, path.removeprefix("/_control/"), body)
        if method == "GET" and (m := re.fullmatch(r"/v1/authorizations/([\w-]+)", path)):
            found = self.authorizations.get(m[1])
            return (200, dict(found)) if found else (404, {"error": "no such authorization"})
        routes = [
            (r"/v1/authorizations", "authorize", self._authorize),
            (r"/v1/authorizations/([\w-]+)/capture", "capture", self._capture),
            (r"/v1/authorizations/([\w-]+)/void", "void", self._void),
            (r"/v1/captures/([\w-]+)/refunds", "refund", self._refund),
        ]
        for pattern, op, act in routes:
            if method == "POST" and (m := re.fullmatch(pattern, path)):
                if not key:
                    return 400, {"error": "Idempotency-Key header required"}
                return self._operate(op, key, functools.partial(act, m, body, key))
        return 404, {"error": f"no route {method} {path}"}

    def _operate(self, op: str, key: str, act: Callable[[str | None], Answer]) -> Answer:
        """Once per key: the first answer is kept and given again to every repeat."""
        with self._lock:
            if key in self.answers:
                return self.answers[key]
            action = self._next_action(op)
            if action == "error":
                return 503, {"error": "temporarily unavailable"}
            answer = act(action)
            self.answers[key] = answer
            event = None
            if self.webhook_url and answer[1].get("status") not in (None, "pending"):
                event = self._event(answer[1]["object"], answer[1])
        if event:
            self._deliver(event, 2 if action == "duplicate" else self.copies)
        if action == "timeout":
            time.sleep(self.timeout_delay)
        return answer

    def _authorize(self, _m, body: dict, key: str, action: str | None) -> Answer:
        auth = {
            "id": f"auth_{next(self._ids)}",
            "object": "authorization",
            "amount": int(body.get("amount", 0)),
            "currency": body.get("currency"),
            "reference": body.get("reference"),
            "idempotency_key": key,
            "captured": 0,
            "voided": 0,
            "expires_at": None,
            "decline_reason": None,
        }
        method = body.get("payment_method")
        if action == "decline" or method in (None, "tok_decline"):
            auth.update(status="declined", decline_reason="card_declined")
        elif action == "pending" or method == "tok_3ds":
            auth.update(status="pending")
        else:
            auth.update(status="authorized", expires_at=(self.clock() + self.validity).isoformat())
            self._moved("authorize", auth)
        self.authorizations[auth["id"]] = auth
        return (402 if auth["status"] == "declined" else 201), dict(auth)

    def _capture(self, m, body: dict, key: str, action: str | None) -> Answer:
        auth = self.authorizations.get(m[1])
        if auth is None:
            return 404, {"error": "no such authorization"}
        amount = int(body.get("amount", 0))
        problem = self._capture_problem(auth, amount)
        capture = {
            "id": f"cap_{next(self._ids)}",
            "object": "capture",
            "amount": amount,
            "authorization": auth["id"],
            "reference": auth["reference"],
            "idempotency_key": key,
            "refunded": 0,
        }
        if action == "decline" or problem:
            capture.update(
                status="declined", decline_reason=problem or "capture_declined", amount=0
            )
            return 402, capture
        capture["status"] = "succeeded"
        auth["captured"] += amount
        self.captures[capture["id"]] = capture
        self._moved("capture", capture)
        return 201, dict(capture)

    def _capture_problem(self, auth: dict, amount: int) -> str | None:
        if auth["status"] != "authorized":
            return f"authorization_{auth['status']}"
        if datetime.fromisoformat(auth["expires_at"]) <= self.clock():
            return "authorization_expired"
        if amount <= 0 or amount > auth["amount"] - auth["captured"] - auth["voided"]:
            return "amount_exceeds_authorization"
        return None

    def _void(self, m, body: dict, key: str, action: str | None) -> Answer:
        auth = self.authorizations.get(m[1])
        if auth is None:
            return 404, {"error": "no such authorization"}
        released = auth["amount"] - auth["captured"] - auth["voided"]
        void = {
            "id": auth["id"],
            "object": "void",
            "authorization": auth["id"],
            "reference": auth["reference"],
            "idempotency_key": key,
            "amount": released,
        }
        if action == "decline" or auth["status"] != "authorized":
            void.update(
                status="declined", decline_reason=f"authorization_{auth['status']}", amount=0
            )
            return 402, void
        auth["voided"] += released
        auth["status"] = "voided"
        void["status"] = "voided"
        self._moved("void", void)
        return 200, void

    def _refund(self, m, body: dict, key: str, action: str | None) -> Answer:
        capture = self.captures.get(m[1])
        if capture is None:
            return 404, {"error": "no such capture"}
        amount = int(body.get("amount", 0))
        refund = {
            "id": f"re_{next(self._ids)}",
            "object": "refund",
            "capture": capture["id"],
            "reference": capture["reference"],
            "idempotency_key": key,
            "amount": amount,
        }
        if action == "decline" or not 0 < amount <= capture["amount"] - capture["refunded"]:
            refund.update(status="declined", decline_reason="refund_exceeds_capture", amount=0)
            return 402, refund
        capture["refunded"] += amount
        refund["status"] = "succeeded"
        self.refunds[refund["id"]] = refund
        self._moved("refund", refund)
        return 201, refund

    # -- bookkeeping and callbacks -------------------------------------------------------------

    def _next_action(self, op: str) -> str | None:
        for index, step in enumerate(self.script):
            if step["op"] in (op, "*"):
                del self.script[index]
                return step["action"]
        return None

    def _moved(self, op: str, thing: dict) -> None:
        self.movements.append(
            {
                "op": op,
                "id": thing["id"],
                "amount": thing["amount"],
                "reference": thing["reference"],
                "idempotency_key": thing["idempotency_key"],
            }
        )

    def _event(self, obj: str, data: dict) -> dict:
        word = "declined" if data.get("status") == "declined" else "succeeded"
        event = {
            "id": f"evt_{next(self._ids)}",
            "type": f"{obj}.{word}",
            "data": {"object": dict(data)},
        }
        record = {"event": event, "deliveries": []}
        self.events.append(record)
        return record

    def _deliver(self, record: dict, copies: int) -> None:
        """POST the signed callback `copies` times at once, and wait for the answers."""
        url = self.webhook_url
        if not url or copies < 1:
            return
        body = json.dumps(record["event"]).encode()
        headers = {
            "content-type": "application/json",
            SIGNATURE_HEADER: sign(self.secret, int(self.clock().timestamp()), body),
        }
        start = threading.Barrier(copies)

        def send() -> None:
            start.wait(timeout=10)
            try:
                status = self._sender.post(url, content=body, headers=headers).status_code
            except httpx.HTTPError as error:
                status = f"{type(error).__name__}"
            record["deliveries"].append(status)

        threads = [threading.Thread(target=send) for _ in range(copies)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)

    def _control(self, method: str, name: str, body: dict) -> Answer:
        if method == "GET" and name == "state":
            return 200, self.state()
        actions = {
            "script": lambda: self.plan(body["op"], body["action"], int(body.get("times", 1))),
            "webhooks": lambda: self.set_webhooks(body.get("url"), int(body.get("copies", 1))),
            "confirm": lambda: self.confirm(body["authorization"], body.get("succeed", True)),
            "redeliver": lambda: self.redeliver(body["event"], int(body.get("copies", 1))),
            "clock": lambda: self._set_clock(body["now"]),
            "reset": self.reset,
        }
        if method != "POST" or name not in actions:
            return 404, {"error": f"no control {name!r}"}
        try:
            return 200, {"ok": True, "result": actions[name]()}
        except (KeyError, ValueError, StopIteration) as error:
            return 400, {"error": str(error)}

    def _set_clock(self, now: str) -> None:
        fixed = datetime.fromisoformat(now)
        self.clock = lambda: fixed


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request, client_address) -> None:
        """A client that gave up (a "timeout" answer) resets its connection: not news."""


def _handler_for(sandbox: Sandbox) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # headers and body leave at once, no 40 ms stall

        def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
            self._answer("GET")

        def do_POST(self) -> None:  # noqa: N802
            self._answer("POST")

        def _answer(self, method: str) -> None:
            length = int(self.headers.get("content-length") or 0)
            try:
                body = json.loads(self.rfile.read(length) or b"{}")
            except ValueError:
                body = None
            if not isinstance(body, dict):
                status, answer = 400, {"error": "the body must be a JSON object"}
            else:
                key = self.headers.get("idempotency-key")
                status, answer = sandbox.handle(method, self.path, key, body)
            data = json.dumps(answer, default=str).encode()
            with suppress(OSError):  # the client may have given up (a "timeout" answer)
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        def log_message(self, *_args) -> None:  # quiet
            return

    return Handler


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--secret", default="")
    parser.add_argument("--webhook-url", default=None)
    parser.add_argument("--validity-days", type=float, default=7.0)
    args = parser.parse_args(argv)
    sandbox = Sandbox(
        host=args.host,
        port=args.port,
        secret=args.secret,
        validity=timedelta(days=args.validity_days),
    )
    sandbox.set_webhooks(args.webhook_url)
    print(f"sandbox gateway on {sandbox.url}", flush=True)
    with suppress(KeyboardInterrupt):
        sandbox._server.serve_forever()


if __name__ == "__main__":
    main()
