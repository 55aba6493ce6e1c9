"""Bounds on every field the outside world sends, each error naming the field."""

from __future__ import annotations

import re

from ..domain.errors import InvalidInput

MAX_QTY = 1_000_000_000
MAX_LINES = 500
SKU_PATTERN = re.compile(r"^[^\x00-\x1f\x7f]{1,100}$")


def quantity(value: object, field_name: str, *, allow_zero: bool = False) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInput(field_name, "must be a whole number")
    low = 0 if allow_zero else 1
    if not low <= value <= MAX_QTY:
        raise InvalidInput(field_name, f"must be between {low} and {MAX_QTY}")
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
