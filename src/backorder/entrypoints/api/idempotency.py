"""`Idempotency-Key` on POST: same key and body → the first response again; same key and
another body → 409. A pure ASGI middleware, so it sees the raw body and the raw response."""

from __future__ import annotations

import hashlib
import json

from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ...service import idempotency

HEADER = b"idempotency-key"
MAX_KEY_LENGTH = 200


class IdempotencyMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        key = _key(scope)
        if key is None:
            await self.app(scope, receive, send)
            return
        if not key or len(key) > MAX_KEY_LENGTH:
            await _error(send, 422, "invalid_input", f"must be 1 to {MAX_KEY_LENGTH} characters")
            return
        body = await _read_body(receive)
        fingerprint = hashlib.sha256(
            scope["path"].encode() + b"?" + scope.get("query_string", b"") + b"\n" + body
        ).hexdigest()
        backend = scope["app"].state.backend
        decision = await run_in_threadpool(
            idempotency.reserve, backend.uow, key, fingerprint, backend.clock()
        )
        if decision.action == "replay":
            await _respond(send, decision.status, decision.body.encode(), replayed=True)
        elif decision.action == "mismatch":
            await _error(send, 409, "conflict", "already used with another request body")
        elif decision.action == "in_progress":
            await _error(send, 409, "conflict", "a request with this key is still running")
        else:
            await self._run_and_keep(scope, body, send, backend, key, fingerprint)

    async def _run_and_keep(self, scope, body, send, backend, key, fingerprint) -> None:
        captured: dict = {"status": 500, "body": b""}

        async def replay_body() -> Message:
            return {"type": "http.request", "body": body, "more_body": False}

        async def capture(message: Message) -> None:
            if message["type"] == "http.response.start":
                captured["status"] = message["status"]
            elif message["type"] == "http.response.body":
                captured["body"] += message.get("body", b"")
            await send(message)

        try:
            await self.app(scope, replay_body, capture)
        finally:
            await run_in_threadpool(
                idempotency.complete,
                backend.uow,
                key,
                fingerprint,
                captured["status"],
                captured["body"].decode("utf-8", "replace"),
            )


def _key(scope: Scope) -> str | None:
    if scope["type"] != "http" or scope["method"] != "POST":
        return None
    for name, value in scope["headers"]:
        if name == HEADER:
            return value.decode("latin-1").strip()
    return None


async def _read_body(receive: Receive) -> bytes:
    chunks, more = [], True
    while more:
        message = await receive()
        chunks.append(message.get("body", b""))
        more = message.get("more_body", False)
    return b"".join(chunks)


async def _respond(send: Send, status: int, body: bytes, *, replayed: bool = False) -> None:
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    if replayed:
        headers.append((b"idempotent-replayed", b"true"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _error(send: Send, status: int, code: str, reason: str) -> None:
    body = {
        "code": code,
        "message": f"Idempotency-Key: {reason}",
        "details": {"field": "Idempotency-Key", "reason": reason},
    }
    await _respond(send, status, json.dumps(body).encode())
