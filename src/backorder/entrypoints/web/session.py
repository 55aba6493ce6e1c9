"""A signed-cookie session: the data lives in the cookie, an HMAC-SHA256 keeps it honest.

The key is derived from the shop's link-signing key (`service.customer_links.derived_key`),
fetched on the first request, so no fixed default ever signs a session. The cookie is
HttpOnly and SameSite=Lax, Secure when the request came over https (or the shop's public
URL is https), and expires with the session (`MAX_AGE`). Only a changed session is re-sent.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Callable

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import MutableHeaders
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Message, Receive, Scope, Send

COOKIE = "bo_session"
MAX_AGE = 12 * 3600  # a working day; then log in again


class SignedCookieSession:
    def __init__(
        self, app: ASGIApp, key: Callable[[Scope], bytes], https: Callable[[Scope], bool]
    ) -> None:
        self.app, self._key_of, self._https = app, key, https
        self._key: bytes | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if self._key is None:  # the first request reads (or makes) the key, once
            self._key = await run_in_threadpool(self._key_of, scope)
        raw = HTTPConnection(scope).cookies.get(COOKIE)
        scope["session"] = decode(self._key, raw, time.time()) if raw else {}
        before = json.dumps(scope["session"], sort_keys=True)

        async def send_with_cookie(message: Message) -> None:
            if message["type"] == "http.response.start":
                session = scope["session"]
                if json.dumps(session, sort_keys=True) != before:
                    headers = MutableHeaders(scope=message)
                    headers.append("Set-Cookie", self._cookie(session, scope))
            await send(message)

        await self.app(scope, receive, send_with_cookie)

    def _cookie(self, session: dict, scope: Scope) -> str:
        secure = "; Secure" if self._https(scope) else ""
        if not session:
            return f"{COOKIE}=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax{secure}"
        value = encode(self._key, session, time.time())
        return f"{COOKIE}={value}; Path=/; Max-Age={MAX_AGE}; HttpOnly; SameSite=Lax{secure}"


def encode(key: bytes, session: dict, now: float) -> str:
    body = _b64(json.dumps({"d": session, "exp": int(now) + MAX_AGE}).encode())
    return f"{body}.{_b64(_mac(key, body))}"


def decode(key: bytes, value: str, now: float) -> dict:
    """The session in a cookie we signed that has not expired; {} for anything else."""
    body, _, mac = value.partition(".")
    try:
        if len(value) > 4096 or not hmac.compare_digest(_unb64(mac), _mac(key, body)):
            return {}
        data = json.loads(_unb64(body))
    except ValueError:
        return {}
    if not isinstance(data, dict) or not isinstance(data.get("d"), dict):
        return {}
    return data["d"] if data.get("exp", 0) > now else {}


def _mac(key: bytes, body: str) -> bytes:
    return hmac.new(key, body.encode("ascii"), hashlib.sha256).digest()


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
