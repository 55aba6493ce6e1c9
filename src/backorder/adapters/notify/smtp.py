"""E-mail over SMTP (optionally STARTTLS and login); the Message-ID carries the idempotency key."""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate

from ...service.notifications import Delivery
from ...service.ports import DeliveryFailed


class SmtpSender:
    channel = "email"

    def __init__(
        self,
        host: str,
        port: int = 25,
        *,
        starttls: bool = False,
        username: str | None = None,
        password: str | None = None,
        from_address: str = "backorder@localhost",
        timeout: float = 10.0,
    ) -> None:
        self.host, self.port, self.starttls = host, port, starttls
        self.username, self.password = username, password
        self.from_address, self.timeout = from_address, timeout

    def send(self, delivery: Delivery) -> None:
        message = build_message(delivery, self.from_address)
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
                if self.starttls:
                    smtp.starttls(context=ssl.create_default_context())
                if self.username:
                    smtp.login(self.username, self.password or "")
                smtp.send_message(message)
        except smtplib.SMTPRecipientsRefused as error:
            permanent = all(code >= 500 for code, _ in error.recipients.values())
            reason = f"recipient refused: {error.recipients}"
            raise DeliveryFailed(reason, permanent=permanent) from error
        except (smtplib.SMTPException, OSError) as error:
            raise DeliveryFailed(f"SMTP {self.host}:{self.port}: {error}") from error


def message_id(key: str, from_address: str) -> str:
    """The same key always gives the same Message-ID, so a repeat can be recognised."""
    domain = from_address.rpartition("@")[2] or "localhost"
    return f"<{key}@{domain}>"


def build_message(delivery: Delivery, from_address: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = from_address
    message["To"] = delivery.recipient
    message["Subject"] = delivery.subject or delivery.kind
    message["Date"] = formatdate(localtime=False, usegmt=True)
    message["Message-ID"] = message_id(delivery.idempotency_key, from_address)
    message["X-Backorder-Delivery"] = delivery.idempotency_key
    message["X-Backorder-Event"] = delivery.kind
    message.set_content(delivery.body)
    if delivery.body_html:
        message.add_alternative(delivery.body_html, subtype="html")
    return message
