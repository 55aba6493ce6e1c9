"""Request bodies of payments (issue 4); every field bounded."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from ...service.validation import MAX_QTY

Units = Annotated[int, Field(gt=0, le=MAX_QTY)]
Token = Annotated[str, Field(min_length=1, max_length=200)]
Reason = Annotated[str, Field(min_length=1, max_length=500)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PreAuthorizationIn(_Strict):
    """An authorization the storefront took before placing the order."""

    reference: Token
    amount_minor: Annotated[int, Field(ge=0, le=10**12)]
    expires_at: datetime | None = None


class PaymentDetailsIn(_Strict):
    """How an order pays; what is left out comes from the shop's settings."""

    gateway: Annotated[str | None, Field(min_length=1, max_length=50)] = None
    method: Token | None = None  # a payment-method token of the gateway
    policy: Literal["on_shipment", "on_allocation", "deposit"] | None = None
    deposit_percent: Annotated[int | None, Field(ge=0, le=100)] = None
    authorization: PreAuthorizationIn | None = None


class CaptureIn(_Strict):
    lines: dict[int, Units] | None = None  # {line id: units}; none: all shipped or allocated
    reason: Reason = "requested"  # kept in the audit log


class MarkPaidIn(_Strict):
    reason: Reason = "requested"  # kept in the audit log


class RefundIn(_Strict):
    line_id: Annotated[int, Field(gt=0, le=2**31 - 1)]
    units: Units | None = None  # none: every paid unit of the line
    restock: bool = False  # shipped units come back on hand


class RetryIn(_Strict):
    method: Token | None = None  # another payment method, or the same one again
