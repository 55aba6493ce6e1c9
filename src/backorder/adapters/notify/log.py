"""The development channel: messages go to the log instead of a mailbox or an endpoint."""

from __future__ import annotations

import logging

from ...service.notifications import Delivery

log = logging.getLogger("backorder.notify")


class LogSender:
    channel = "log"

    def __init__(self, logger: logging.Logger = log) -> None:
        self.logger = logger

    def send(self, delivery: Delivery) -> None:
        self.logger.info(
            "[%s] to %s: %s\n%s",
            delivery.idempotency_key,
            delivery.recipient,
            delivery.subject or delivery.kind,
            delivery.body,
        )
