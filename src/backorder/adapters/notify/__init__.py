"""Channel senders (SMTP e-mail, signed webhooks, the development log) and message templates."""

from __future__ import annotations

from ...config import Settings
from ...service.ports import ChannelSender
from .log import LogSender
from .messages import TemplateRenderer
from .smtp import SmtpSender
from .webhook import WebhookSender


def build_renderer(settings: Settings) -> TemplateRenderer:
    return TemplateRenderer(settings.template_dir, settings.shop_timezone)


def build_senders(settings: Settings) -> dict[str, ChannelSender]:
    """One sender per configured channel, keyed by the channel name of the deliveries."""
    senders: dict[str, ChannelSender] = {
        "webhook": WebhookSender(settings.webhook_timeout_seconds),
        "log": LogSender(),
    }
    if settings.smtp_host:
        senders["email"] = SmtpSender(
            host=settings.smtp_host,
            port=settings.smtp_port,
            starttls=settings.smtp_starttls,
            username=settings.smtp_username,
            password=settings.smtp_password,
            from_address=settings.smtp_from,
            timeout=settings.smtp_timeout_seconds,
        )
    return senders
