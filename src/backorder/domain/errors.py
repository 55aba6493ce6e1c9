"""Errors are data: each has a stable code and the fields that explain it."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


class DomainError(Exception):
    code = "domain_error"

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "details": self.details}


class NotFound(DomainError):
    code = "not_found"


class InvalidInput(DomainError):
    """A field's value is refused; `field` names it and `reason` says why."""

    code = "invalid_input"

    def __init__(self, field_name: str, reason: str) -> None:
        super().__init__(f"{field_name}: {reason}", field=field_name, reason=reason)


class Conflict(DomainError):
    code = "conflict"


@dataclass(frozen=True)
class Shortage:
    """One SKU that an order cannot get: asked in total, available now, backorder room."""

    sku: str
    asked: int
    available: int
    backorder_room: int | None  # None: unlimited
    reason: str


class InsufficientStock(DomainError):
    """Every short SKU of an order at once, so the customer sees the whole problem."""

    code = "insufficient_stock"

    def __init__(self, shortages: list[Shortage]) -> None:
        self.shortages = shortages
        names = ", ".join(
            f"{s.sku} (asked {s.asked}, available {s.available}: {s.reason})" for s in shortages
        )
        super().__init__(f"not enough stock for {names}", shortages=[asdict(s) for s in shortages])


class StockWouldGoNegative(DomainError):
    code = "stock_would_go_negative"


class ShipmentNotAllowed(DomainError):
    code = "shipment_not_allowed"


class Unauthenticated(DomainError):
    code = "unauthenticated"


class Forbidden(DomainError):
    code = "forbidden"
