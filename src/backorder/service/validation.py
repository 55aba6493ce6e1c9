"""Bounds on every field the outside world sends, each error naming the field."""

from __future__ import annotations

import re
from datetime import date, datetime

from ..domain.errors import InvalidInput

MAX_QTY = 1_000_000_000
MAX_LINES = 500
SKU_PATTERN = re.compile(r"^[^\x00-\x1f\x7f]{1,100}$")
MAX_LEAD_TIME_DAYS = 3650  # ten years; promised dates are computed by adding it to today
# Every day a person gives (a requested date, a release, a PO's expected date). Wide enough
# for every real import (PrestaShop supply orders due 2013, UCI Online Retail of 2010), and
# far from year 9999, where adding a few days to a date overflows.
FIRST_DAY = date(2000, 1, 1)
LAST_DAY = date(2099, 12, 31)
EMAIL_PATTERN = re.compile(r"[^@\s]+@[^@\s]+")  # the API's pattern


def quantity(value: object, field_name: str, *, allow_zero: bool = False) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInput(field_name, "must be a whole number")
    low = 0 if allow_zero else 1
    if not low <= value <= MAX_QTY:
        raise InvalidInput(field_name, f"must be between {low} and {MAX_QTY}")
    return value


def lead_time_days(value: object, field_name: str = "lead_time_days") -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInput(field_name, "must be a whole number of days")
    if not 0 <= value <= MAX_LEAD_TIME_DAYS:
        raise InvalidInput(field_name, f"must be between 0 and {MAX_LEAD_TIME_DAYS} days")
    return value


def day(value: object, field_name: str) -> date:
    """A calendar day, such as a PO line's expected date; past days are fine (history)."""
    if not isinstance(value, date) or isinstance(value, datetime):
        raise InvalidInput(field_name, "must be a date (YYYY-MM-DD)")
    return _within_range(value, field_name)


def moment(value: object, field_name: str) -> datetime:
    """A point in time, such as a requested date or a release: with a UTC offset, since
    without one the day depends on where it is read."""
    if not isinstance(value, datetime):
        raise InvalidInput(field_name, "must be a date and time (ISO 8601)")
    if value.utcoffset() is None:
        raise InvalidInput(field_name, "must carry a time zone (UTC offset)")
    _within_range(value.date(), field_name)  # the day as written: converting may overflow
    return value


def _within_range(value: date, field_name: str) -> date:
    if not FIRST_DAY <= value <= LAST_DAY:
        raise InvalidInput(field_name, f"must be between {FIRST_DAY} and {LAST_DAY}")
    return value


def email(value: object, field_name: str = "email") -> str:
    text(value, field_name, 320)
    if not EMAIL_PATTERN.fullmatch(value):
        raise InvalidInput(field_name, "must be an e-mail address (name@domain)")
    return value


def sku(value: object, field_name: str = "sku") -> str:
    if not isinstance(value, str) or not SKU_PATTERN.match(value) or value != value.strip():
        raise InvalidInput(
            field_name, "must be 1 to 100 characters, no control characters or edge spaces"
        )
    return value


def text(value: object, field_name: str, max_length: int, *, required: bool = True) -> str:
    if not isinstance(value, str):
        raise InvalidInput(field_name, "must be text")
    if required and not value.strip():
        raise InvalidInput(field_name, "must not be empty")
    if len(value) > max_length:
        raise InvalidInput(field_name, f"must be at most {max_length} characters")
    return value


def choice(value: object, field_name: str, enum_type):
    try:
        return enum_type(value)
    except ValueError:
        allowed = ", ".join(member.value for member in enum_type)
        raise InvalidInput(field_name, f"must be one of: {allowed}") from None


def reference(value: str | None, field_name: str = "reference") -> str | None:
    """An idempotency reference: None, or text that is not blank (a blank one would make
    every repeat look new), without surrounding spaces (a note pasted with a trailing space
    is the same delivery, not a second one)."""
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput(field_name, "must not be blank (leave it out instead)")
    text(value, field_name, 200)
    return value.strip()


REASON_CODE = re.compile(r"[a-z_]{1,30}")


def reason_code(value: object, field_name: str = "reason") -> str:
    """A ledger reason: a short code such as `damaged` or `count`, the same from every entry
    point (the API's schema says the same)."""
    if not isinstance(value, str) or not REASON_CODE.fullmatch(value):
        raise InvalidInput(field_name, "must be 1-30 lowercase letters or underscores")
    return value
