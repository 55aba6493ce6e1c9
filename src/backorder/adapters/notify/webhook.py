"""Merchant webhooks: the event's JSON POSTed with an HMAC-SHA256 signature (docs/webhooks.md)."""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Callable

import httpx

from ...service.notifications import Delivery
from ...service.ports import DeliveryFailed

SIGNATURE_HEADER = "X-Backorder-Signature"


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """hex HMAC-SHA256 of `<timestamp>.<body>` with the endpoint's secret."""
    signed = str(timestamp).encode() + b"." + body
    return hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def signature_header(secret: str, timestamp: int, body: bytes) -> str:
    return f"t={timestamp},v1={sign(secret, timestamp, body)}"


class WebhookSender:
    channel = "webhook"

    def __init__(
        self,
        timeout: float = 10.0,
        *,
        now: Callable[[], float] = time.time,
        client: httpx.Client | None = None,
    ) -> None:
        self.timeout = timeout
        self.now = now
        self.client = client or httpx.Client(timeout=timeout, follow_redirects=False)

    def send(self, delivery: Delivery) -> None:
        if not delivery.secret:
            raise DeliveryFailed("the endpoint has no secret (removed?)", permanent=True)
        body = delivery.body.encode()
        try:
            response = self.client.post(
                delivery.recipient, content=body, headers=self._headers(delivery, body)
            )
        except httpx.HTTPError as error:
            reason = f"POST {delivery.recipient}: {type(error).__name__}: {error}"
            raise DeliveryFailed(reason) from error
        if not 200 <= response.status_code < 300:
            raise DeliveryFailed(
                f"POST {delivery.recipient}: HTTP {response.status_code} {response.text[:200]}"
            )

    def _headers(self, delivery: Delivery, body: bytes) -> dict[str, str]:
        timestamp = int(self.now())
        return {
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": "backorder-webhooks/1",
            "Idempotency-Key": delivery.idempotency_key,
            "X-Backorder-Delivery": delivery.idempotency_key,
            "X-Backorder-Event": delivery.kind,
            SIGNATURE_HEADER: signature_header(delivery.secret, timestamp, body),
        }
