"""Payment gateways: the built-in manual one, and an HTTP one (the sandbox speaks its API)."""

from __future__ import annotations

from datetime import timedelta

from ...config import Settings
from ...service.ports import PaymentGateway
from .http_gateway import HttpGateway
from .manual import ManualGateway


def build_gateways(settings: Settings, clock=None) -> dict[str, PaymentGateway]:
    """The gateways the settings ask for, by name; none when payments are not configured."""
    gateways: dict[str, PaymentGateway] = {}
    if settings.payment_gateway is None and settings.payment_gateway_url is None:
        return gateways
    gateways["manual"] = ManualGateway()
    if settings.payment_gateway_url:
        gateways[settings.payment_http_gateway] = HttpGateway(
            settings.payment_http_gateway,
            settings.payment_gateway_url,
            secret=settings.payment_webhook_secret,
            timeout=settings.payment_timeout_seconds,
            validity=timedelta(days=settings.payment_authorization_days),
            clock=clock,
        )
    return gateways


__all__ = ["HttpGateway", "ManualGateway", "build_gateways"]
