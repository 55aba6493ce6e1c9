"""Request bodies (XxxIn) and response shapes (XxxOut); every field bounded."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from ...domain.model import BackorderPolicy, Fulfilment, PaidPriority, Tier
from ...service.validation import FIRST_DAY, LAST_DAY, MAX_LEAD_TIME_DAYS, MAX_LINES, MAX_QTY
from .schemas_payments import PaymentDetailsIn

# Quantities and money are whole JSON numbers: `true`, "3" or 2.0 are refused, not converted.
Qty = Annotated[int, Field(gt=0, le=MAX_QTY, strict=True)]
Sku = Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[^\x00-\x1f\x7f]+$")]
LeadTimeDays = Annotated[int, Field(ge=0, le=MAX_LEAD_TIME_DAYS)]
# The service refuses days outside FIRST_DAY..LAST_DAY. JSON Schema cannot bound a date, so
# the document says it with a pattern on the year as written (2000-2099); the service checks.
_IN_RANGE = {"pattern": r"^20[0-9]{2}-", "description": f"from {FIRST_DAY} to {LAST_DAY}"}
Day = Annotated[date, Field(json_schema_extra=_IN_RANGE)]
Moment = Annotated[datetime, Field(json_schema_extra=_IN_RANGE)]  # with a UTC offset


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ProductIn(StrictModel):
    sku: Sku
    name: Annotated[str, Field(min_length=1, max_length=300)]
    price_minor: Annotated[int, Field(ge=0, le=MAX_QTY, strict=True)]
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")] = "USD"
    backorder_policy: BackorderPolicy = BackorderPolicy.DENY
    backorder_limit: Annotated[int | None, Field(ge=0, le=MAX_QTY, strict=True)] = None
    release_at: Moment | None = None
    lead_time_days: LeadTimeDays | None = None
    safety_stock: Annotated[int, Field(ge=0, le=MAX_QTY, strict=True)] = 0


class ProductOut(BaseModel):
    sku: str
    name: str
    price_minor: int
    currency: str
    backorder_policy: str
    backorder_limit: int | None
    release_at: datetime | None
    lead_time_days: int | None
    safety_stock: int


class WarehouseIn(StrictModel):
    code: Annotated[str, Field(min_length=1, max_length=50, pattern=r"^[A-Za-z0-9_.-]+$")]
    name: Annotated[str, Field(min_length=1, max_length=200)]
    rank: Annotated[int, Field(ge=-1_000_000, le=1_000_000)] = 0


def _not_blank(value: str | None) -> str | None:
    if value is not None and not value.strip():
        raise ValueError("must not be blank (leave it out instead)")
    return value


# An idempotency reference: blank would silently turn the repeat protection off.
Reference = Annotated[str | None, Field(min_length=1, max_length=200), AfterValidator(_not_blank)]


class ReceiptIn(StrictModel):
    sku: Sku
    warehouse: Annotated[str, Field(min_length=1, max_length=50)] = "main"
    qty: Qty
    reference: Reference = None


class DeliveryLineIn(StrictModel):
    sku: Sku
    warehouse: Annotated[str, Field(min_length=1, max_length=50)] = "main"
    qty: Qty
    # received against this purchase-order line (its SKU, its PO's warehouse)
    po_line_id: Annotated[int | None, Field(gt=0, le=2**31 - 1, strict=True)] = None


class DeliveryIn(StrictModel):
    """A supplier delivery note: lines of one SKU and warehouse each (repeats are summed)."""

    reference: Reference = None
    lines: Annotated[list[DeliveryLineIn], Field(min_length=1, max_length=10_000)]


class AdjustmentIn(StrictModel):
    sku: Sku
    warehouse: Annotated[str, Field(min_length=1, max_length=50)] = "main"
    delta: Annotated[int | None, Field(ge=-MAX_QTY, le=MAX_QTY, strict=True)] = None
    count: Annotated[int | None, Field(ge=0, le=MAX_QTY, strict=True)] = None
    reason: Annotated[str, Field(pattern=r"^[a-z_]{1,30}$")] = "adjustment"
    reference: Reference = None
    # why, in the operator's words: kept in the audit log after the reason code
    note: Annotated[str | None, Field(min_length=1, max_length=500)] = None

    @model_validator(mode="after")
    def _one_of(self):
        if (self.delta is None) == (self.count is None):
            raise ValueError("give either delta or count")
        return self


class CustomerIn(StrictModel):
    name: Annotated[str, Field(min_length=1, max_length=300)]
    email: Annotated[str | None, Field(max_length=320, pattern=r"^[^@\s]+@[^@\s]+$")] = None
    tier: Tier = Tier.STANDARD
    default_fulfilment: Fulfilment = Fulfilment.SHIP_PARTIAL
    locale: Annotated[str, Field(pattern=r"^(en|tr)$")] = "en"
    external_id: Annotated[str | None, Field(max_length=200)] = None


class OrderLineIn(StrictModel):
    sku: Sku
    qty: Qty
    unit_price_minor: Annotated[int | None, Field(ge=0, le=MAX_QTY, strict=True)] = None


class OrderIn(StrictModel):
    customer_id: Annotated[int, Field(gt=0, le=2**31 - 1)]
    lines: Annotated[list[OrderLineIn], Field(min_length=1, max_length=MAX_LINES)]
    fulfilment: Fulfilment | None = None
    paid_priority: PaidPriority = PaidPriority.NORMAL
    requested_date: Moment | None = None
    external_ref: Annotated[str | None, Field(max_length=200)] = None
    channel: Annotated[str, Field(pattern=r"^[a-z0-9_-]{1,50}$")] = "api"
    payment: PaymentDetailsIn | None = None  # issue 4: none: the order pays outside this service


class CancelIn(StrictModel):
    reason: Annotated[str, Field(min_length=1, max_length=200)] = "requested"


class LineQtyIn(StrictModel):
    qty: Qty


class ShipmentIn(StrictModel):
    quantities: dict[int, Qty] | None = None
    reference: Reference = None


class ErrorOut(BaseModel):
    code: str
    message: str
    details: dict


# The error answers every route may give (declared so the OpenAPI document is complete).
ERRORS: dict[int | str, dict[str, Any]] = {s: {"model": ErrorOut} for s in (404, 409, 422)}
# A POST whose reference (or external_ref) was seen before answers 200 with the first result.
REPEATED: dict[int | str, dict[str, Any]] = {
    200: {"description": "Seen before (same reference): the first result, nothing changed"}
}


class ApiKeyIn(StrictModel):
    name: Annotated[str, Field(min_length=1, max_length=100)]
    role: Annotated[str, Field(pattern=r"^(admin|operator|integration|viewer)$")]
