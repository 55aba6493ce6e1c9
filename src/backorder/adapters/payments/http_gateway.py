"""A payment gateway over HTTP (httpx), in the shape of card providers with a manual-capture
API: authorize a hold, capture parts of it, void the rest, refund captures. Every request
carries an `Idempotency-Key` header; a repeated key answers with the first outcome.

Answers: 2xx with a status (`authorized`, `succeeded`, `voided`, `pending`, ...), 402 for a
decline, other 4xx for a refusal that retrying cannot fix, 5xx or no answer for "try again"
(`GatewayUnavailable`). Callbacks are signed: `Gateway-Signature: t=<unix>,v1=<hex>`, an
HMAC-SHA256 of "<t>.<body>" with the shared secret, and older than 5 minutes is refused.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta

import httpx

from ...service.ports import GatewayEvent, GatewayResult, GatewayUnavailable, InvalidCallback

SIGNATURE_HEADER = "gateway-signature"
TOLERANCE = timedelta(minutes=5)
SUCCEEDED = {"authorized", "succeeded", "captured", "voided", "refunded"}
PENDING = {"pending", "requires_action", "processing"}
KINDS = {"authorization": "authorize", "capture": "capture", "void": "void", "refund": "refund"}


class HttpGateway:
    def __init__(
        self,
        name: str,
        base_url: str,
        *,
        secret: str = "",
        timeout: float = 10.0,
        retries: int = 2,
        validity: timedelta = timedelta(days=7),
        client: httpx.Client | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.name = name
        self.clock = clock or (lambda: datetime.now(UTC))
        self.base_url = base_url.rstrip("/")
        self.secret = secret
        self.retries = retries
        self.validity = validity  # when an authorization's answer does not say
        self._client = client or httpx.Client(timeout=timeout)

    # -- the port ------------------------------------------------------------------------------

    def authorize(
        self, *, amount: int, currency: str, method: str | None, key: str, reference: str
    ) -> GatewayResult:
        return self._post(
            "/v1/authorizations",
            key,
            {
                "amount": amount,
                "currency": currency,
                "payment_method": method,
                "reference": reference,
                "capture_method": "manual",
            },
        )

    def capture(self, *, authorization: str, amount: int, currency: str, key: str) -> GatewayResult:
        path = f"/v1/authorizations/{authorization}/capture"
        return self._post(path, key, {"amount": amount, "currency": currency})

    def void(self, *, authorization: str, amount: int, key: str) -> GatewayResult:
        return self._post(f"/v1/authorizations/{authorization}/void", key, {"amount": amount})

    def refund(self, *, capture: str, amount: int, currency: str, key: str) -> GatewayResult:
        path = f"/v1/captures/{capture}/refunds"
        return self._post(path, key, {"amount": amount, "currency": currency})

    def parse_callback(
        self, body: bytes, headers: Mapping[str, str], now: datetime
    ) -> GatewayEvent:
        self._verify(body, headers.get(SIGNATURE_HEADER, ""), now)
        try:
            event = json.loads(body)
            found = event["data"]["object"]
            kind = KINDS[event["type"].split(".")[0]]
            return GatewayEvent(
                str(event["id"]),
                kind,
                str(found["idempotency_key"]),
                self._result(found),
                found.get("authorization") or found.get("capture"),
            )
        except (ValueError, KeyError, TypeError, AttributeError) as error:
            raise InvalidCallback(f"unreadable callback: {error}") from None

    def close(self) -> None:
        self._client.close()

    # -- HTTP ----------------------------------------------------------------------------------

    def _post(self, path: str, key: str, payload: dict) -> GatewayResult:
        """POST with quick retries on no answer; the same key every time."""
        last = "no attempt"
        for attempt in range(self.retries + 1):
            if attempt:
                time.sleep(0.05 * 2**attempt)
            try:
                response = self._client.post(
                    self.base_url + path, json=payload, headers={"Idempotency-Key": key}
                )
            except httpx.TransportError as error:  # timeouts included
                last = f"{type(error).__name__}: {error}"
                continue
            if response.status_code >= 500 or response.status_code == 429:
                last = f"HTTP {response.status_code}"
                continue
            return self._answer(response)
        raise GatewayUnavailable(f"{self.name}: {path}: {last}")

    def _answer(self, response: httpx.Response) -> GatewayResult:
        try:
            body = response.json()
        except ValueError:
            body = {}
        if response.status_code == 402 or (200 <= response.status_code < 300):
            return self._result(body if isinstance(body, dict) else {})
        reason = _error_text(body) or f"HTTP {response.status_code}"
        return GatewayResult(
            "declined",
            body.get("id") if isinstance(body, dict) else None,
            reason=f"refused: {reason}",
        )

    def _result(self, found: dict) -> GatewayResult:
        raw = str(found.get("status", "declined"))
        status = "succeeded" if raw in SUCCEEDED else "pending" if raw in PENDING else "declined"
        expires = found.get("expires_at")
        expires_at = datetime.fromisoformat(expires) if expires else None
        if status == "succeeded" and found.get("object") == "authorization" and not expires_at:
            expires_at = self.clock() + self.validity
        return GatewayResult(
            status,
            found.get("id"),
            int(found.get("amount") or 0),
            expires_at,
            found.get("decline_reason") or _error_text(found),
        )

    def _verify(self, body: bytes, header: str, now: datetime) -> None:
        parts = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
        stamp, signature = parts.get("t", ""), parts.get("v1", "")
        if not self.secret or not stamp.isdigit() or not signature:
            raise InvalidCallback("missing or malformed signature")
        expected = sign(self.secret, int(stamp), body)
        if not hmac.compare_digest(expected, header):
            raise InvalidCallback("signature does not match")
        if abs(now - datetime.fromtimestamp(int(stamp), UTC)) > TOLERANCE:
            raise InvalidCallback("callback too old (or from the future)")


def sign(secret: str, stamp: int, body: bytes) -> str:
    """The signature header value for a body sent at `stamp` (seconds since the epoch)."""
    mac = hmac.new(secret.encode(), f"{stamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={stamp},v1={mac}"


def _error_text(body) -> str | None:
    if not isinstance(body, dict):
        return None
    error = body.get("error")
    if isinstance(error, dict):
        return error.get("message") or error.get("code")
    return error if isinstance(error, str) else None
