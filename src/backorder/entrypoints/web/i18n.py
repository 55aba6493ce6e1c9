"""English and Turkish: a message catalog in code, and dates, numbers and money by Babel.

Message ids are the English text, so a page reads naturally in the template and an English
page needs no lookup. `catalog_tr.TR` holds the Turkish; a test checks that every id used in
the templates and pages has a Turkish text. Values stored in the database (states, tiers,
event kinds) are shown through `label`, which looks up a readable English text first.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_datetime
from babel.numbers import format_currency, format_decimal, format_percent, get_currency_precision

from .catalog_tr import LABELS, TR

LANGUAGES = {"en": "English", "tr": "Türkçe"}
DEFAULT = "en"


def gettext(lang: str, msgid: str, **values) -> str:
    text = TR.get(msgid, msgid) if lang == "tr" else msgid
    return text.format(**values) if values else text


def label(lang: str, group: str, value: str | None) -> str:
    """A stored value (`state`, `tier`, `event`, ...) in words."""
    if value is None:
        return "—"
    english = LABELS.get(f"{group}.{value}", value.replace("_", " "))
    return gettext(lang, english)


def best_language(accept_language: str | None) -> str:
    """The first of the browser's languages we speak (Accept-Language, in its order)."""
    for part in (accept_language or "").split(","):
        code = part.split(";")[0].strip().lower()[:2]
        if code in LANGUAGES:
            return code
    return DEFAULT


class Formatter:
    """Dates in the shop's time zone (invariant 9) and numbers in the reader's language."""

    def __init__(self, lang: str, timezone: str) -> None:
        self.lang, self.locale, self.zone = (
            lang,
            "tr_TR" if lang == "tr" else "en_GB",
            ZoneInfo(timezone),
        )

    def date(self, value: date | datetime | None) -> str:
        if value is None:
            return "—"
        if isinstance(value, datetime):
            value = value.astimezone(self.zone).date()
        return format_date(value, "medium", locale=self.locale)

    def datetime(self, value: datetime | None) -> str:
        if value is None:
            return "—"
        return format_datetime(value, "short", tzinfo=self.zone, locale=self.locale)

    def number(self, value: float | int | None) -> str:
        return "—" if value is None else format_decimal(value, locale=self.locale)

    def percent(self, ratio: float | None) -> str:
        return "—" if ratio is None else format_percent(ratio, "#,##0.0%", locale=self.locale)

    def money(self, minor: int, currency: str) -> str:
        digits = get_currency_precision(currency)
        return format_currency(Decimal(minor).scaleb(-digits), currency, locale=self.locale)
