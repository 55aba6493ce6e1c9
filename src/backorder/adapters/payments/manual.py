"""The built-in manual gateway: cash, bank transfer, an invoice. Nothing is charged by a
machine: an authorization is the customer's promise (it never lapses), a capture waits until
an operator marks the order paid, and voids and refunds are settled by hand."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from ...service.ports import GatewayEvent, GatewayResult, InvalidCallback


class ManualGateway:
    name = "manual"

    def authorize(
        self, *, amount: int, currency: str, method: str | None, key: str, reference: str
    ) -> GatewayResult:
        return GatewayResult("succeeded", f"manual-auth:{key}", amount)

    def capture(self, *, authorization: str, amount: int, currency: str, key: str) -> GatewayResult:
        # The money arrives outside the system; `backorder payment mark-paid` confirms it.
        return GatewayResult("pending", f"manual-capture:{key}", amount)

    def void(self, *, authorization: str, amount: int, key: str) -> GatewayResult:
        return GatewayResult("succeeded", authorization, amount)

    def refund(self, *, capture: str, amount: int, currency: str, key: str) -> GatewayResult:
        return GatewayResult("succeeded", f"manual-refund:{key}", amount)

    def parse_callback(
        self, body: bytes, headers: Mapping[str, str], now: datetime
    ) -> GatewayEvent:
        raise InvalidCallback("the manual gateway sends no callbacks")
