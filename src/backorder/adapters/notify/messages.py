"""Customer messages from Jinja2 templates, with dates and money in the customer's locale.

Templates live in `<locale>/<kind>.txt` (first line: the subject) and `<locale>/<kind>.html`;
a merchant's folder (BACKORDER_TEMPLATE_DIR) is searched before the packaged ones.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_time
from babel.numbers import format_currency
from jinja2 import (
    ChoiceLoader,
    Environment,
    FileSystemLoader,
    PackageLoader,
    TemplateNotFound,
    pass_context,
)

from ...service.notifications import RenderedMessage

DEFAULT_LOCALE = "en"


class TemplateRenderer:
    """Implements the service's MessageRenderer port."""

    def __init__(self, template_dir: str | None = None, timezone: str = "UTC") -> None:
        loaders = [FileSystemLoader(template_dir)] if template_dir else []
        loaders.append(PackageLoader("backorder", "templates/messages"))
        self.timezone = timezone
        self.env = Environment(
            loader=ChoiceLoader(loaders),
            autoescape=lambda name: bool(name and name.endswith(".html")),
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.env.filters.update(date=_date, datetime=_datetime, money=_money)

    def render(self, kind: str, locale: str, facts: dict) -> RenderedMessage | None:
        found = self._find(kind, locale)
        if found is None:
            return None
        locale, text_template = found
        context = {"timezone": self.timezone, **facts, "locale": locale}
        subject, _, body = _tidy(text_template.render(context)).partition("\n")
        html = self._html(kind, locale, context)
        return RenderedMessage(subject.strip(), body.strip() + "\n", html)

    def _find(self, kind: str, locale: str):
        for candidate in dict.fromkeys((locale, DEFAULT_LOCALE)):
            try:
                return candidate, self.env.get_template(f"{candidate}/{kind}.txt")
            except TemplateNotFound:
                continue
        return None

    def _html(self, kind: str, locale: str, context: dict) -> str | None:
        try:
            template = self.env.get_template(f"{locale}/{kind}.html")
        except TemplateNotFound:
            return None
        return template.render(context)


def _tidy(text: str) -> str:
    """Plain text as a person would type it: no trailing blanks, at most one empty line."""
    lines = [line.rstrip() for line in text.strip().splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines))


def _as_date_or_time(value) -> date | datetime | None:
    """Payload values arrive as JSON text: ISO dates and date-times become objects again."""
    if value is None or isinstance(value, date):
        return value
    text = str(value)
    return datetime.fromisoformat(text) if "T" in text or " " in text else date.fromisoformat(text)


def _local(value: datetime, timezone: str) -> datetime:
    return value.astimezone(ZoneInfo(timezone))


@pass_context
def _date(context, value) -> str:
    """A long date in the customer's language; an instant is shown in the shop's time zone."""
    value = _as_date_or_time(value)
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = _local(value, context["timezone"]).date()
    return format_date(value, format="long", locale=context["locale"])


@pass_context
def _datetime(context, value) -> str:
    value = _as_date_or_time(value)
    if value is None:
        return ""
    if not isinstance(value, datetime):
        return _date(context, value)
    local = _local(value, context["timezone"])
    locale = context["locale"]
    day = format_date(local, "long", locale=locale)
    return f"{day} {format_time(local, 'short', locale=locale)}"


@pass_context
def _money(context, minor: int | None, currency: str) -> str:
    if minor is None:
        return ""
    return format_currency(Decimal(minor) / 100, currency, locale=context["locale"])
