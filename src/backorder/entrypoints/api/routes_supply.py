"""Supply routes: suppliers, purchase orders, receipts, promises, quotes (issue 7)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response
from pydantic import Field

from ...domain.errors import InvalidInput
from ...domain.model import PaidPriority
from ...domain.roles import Role
from ...service import deliveries, purchasing, queries, quotes, replenishment
from ...service.validation import MAX_QTY
from .. import serialize
from .auth import role
from .deps import BackendDep, Limit
from .schemas import ERRORS, REPEATED, Day, LeadTimeDays, Qty, Reference, Sku, StrictModel

router = APIRouter(responses=ERRORS)
UnitCost = Annotated[int | None, Field(ge=0, le=MAX_QTY)]  # as the service bounds it
Id = Annotated[int, Path(gt=0, le=2**31 - 1)]


class SupplierIn(StrictModel):
    name: Annotated[str, Field(min_length=1, max_length=200)]
    lead_time_days: LeadTimeDays
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")] = "USD"
    contact: Annotated[str | None, Field(max_length=300)] = None
    email: Annotated[str | None, Field(max_length=320, pattern=r"^[^@\s]+@[^@\s]+$")] = None


class SupplierProductIn(StrictModel):
    sku: Sku
    pack_size: Annotated[int, Field(ge=1, le=1_000_000)] = 1
    min_order: Annotated[int, Field(ge=1, le=1_000_000)] = 1
    unit_cost_minor: UnitCost = None
    preferred: bool = False


class PoLineIn(StrictModel):
    sku: Sku
    qty: Qty
    expected_date: Day
    # left out: the supplier's cost for the SKU (`POST /suppliers/{id}/products`), else 0
    unit_cost_minor: UnitCost = None


class PurchaseOrderIn(StrictModel):
    supplier_id: Annotated[int, Field(gt=0, le=2**31 - 1)]
    lines: Annotated[list[PoLineIn], Field(min_length=1, max_length=500)]
    warehouse: Annotated[str, Field(min_length=1, max_length=50)] = "main"
    # Unique per PO (a repeat returns the first PO); "" would be stored, then collide: refused.
    reference: Reference = None
    send: bool = True


class ExpectedDateIn(StrictModel):
    expected_date: Day


class PoReceiptIn(StrictModel):
    qty: Qty
    reference: Reference = None


@router.post("/suppliers", tags=["supply"], status_code=201, **role(Role.OPERATOR))
def create_supplier(body: SupplierIn, backend: BackendDep) -> dict:
    supplier = purchasing.create_supplier(
        backend.uow, purchasing.SupplierIn(**body.model_dump()), backend.clock()
    )
    return serialize.plain(supplier)


@router.get("/suppliers", tags=["supply"], **role(Role.VIEWER))
def list_suppliers(backend: BackendDep) -> list[dict]:
    return serialize.plain(queries.suppliers(backend.uow))


@router.put("/suppliers/{supplier_id}/products", tags=["supply"], **role(Role.OPERATOR))
def set_supplier_product(supplier_id: Id, body: SupplierProductIn, backend: BackendDep) -> dict:
    """Say that a supplier sells a SKU, in packs, with a minimum order."""
    data = body.model_dump()
    return purchasing.set_supplier_product(
        backend.uow, supplier_id, data.pop("sku"), backend.clock(), **data
    )


@router.get("/suppliers/{supplier_id}/reliability", tags=["supply"], **role(Role.VIEWER))
def supplier_reliability(supplier_id: Id, backend: BackendDep) -> dict:
    """On-time receipt rate and mean / p90 lateness in days."""
    return replenishment.supplier_reliability(backend.uow, supplier_id)


@router.post("/purchase-orders", tags=["supply"], status_code=201, **role(Role.OPERATOR))
def create_purchase_order(body: PurchaseOrderIn, backend: BackendDep) -> dict:
    lines = [purchasing.PoLineIn(**line.model_dump()) for line in body.lines]
    po = purchasing.create_purchase_order(
        backend.uow,
        body.supplier_id,
        lines,
        backend.clock(),
        warehouse=body.warehouse,
        reference=body.reference,
        send=body.send,
    )
    return serialize.plain(po)


@router.get("/purchase-orders", tags=["supply"], **role(Role.VIEWER))
def list_purchase_orders(
    backend: BackendDep,
    status: Annotated[str | None, Query(max_length=20)] = None,
    limit: Limit = 100,
) -> list[dict]:
    return serialize.plain(queries.purchase_orders(backend.uow, status, limit))


@router.get("/purchase-orders/{po_id}", tags=["supply"], **role(Role.VIEWER))
def get_purchase_order(po_id: Id, backend: BackendDep) -> dict:
    return serialize.plain(queries.purchase_order(backend.uow, po_id))


@router.post("/purchase-orders/{po_id}/send", tags=["supply"], **role(Role.OPERATOR))
def send_purchase_order(po_id: Id, backend: BackendDep) -> dict:
    return serialize.plain(purchasing.send_purchase_order(backend.uow, po_id, backend.clock()))


class PoDeliveryIn(StrictModel):
    reference: Reference = None


@router.post(
    "/purchase-orders/{po_id}/receive",
    tags=["supply"],
    status_code=201,
    responses=REPEATED,
    **role(Role.INTEGRATION),
)
def receive_purchase_order(
    po_id: Id, backend: BackendDep, response: Response, body: PoDeliveryIn | None = None
) -> dict:
    """Everything still open on the PO arrived: one delivery of its open lines, each a receipt
    against its line. Without a reference the PO's own stands in (a repeat answers 200)."""
    reference = body.reference if body else None
    result = deliveries.receive_purchase_order(backend.uow, po_id, backend.clock(), reference)
    if result["repeated"]:
        response.status_code = 200
    return result


@router.patch("/po-lines/{po_line_id}", tags=["supply"], **role(Role.OPERATOR))
def change_expected_date(po_line_id: Id, body: ExpectedDateIn, backend: BackendDep) -> dict:
    """Move an expected date: the promises resting on it move too (promise_delayed/improved)."""
    po = purchasing.change_expected_date(
        backend.uow, po_line_id, body.expected_date, backend.clock()
    )
    return serialize.plain(po)


@router.post("/po-lines/{po_line_id}/cancel", tags=["supply"], **role(Role.OPERATOR))
def cancel_po_line(po_line_id: Id, backend: BackendDep) -> dict:
    return serialize.plain(purchasing.cancel_po_line(backend.uow, po_line_id, backend.clock()))


@router.post(
    "/po-lines/{po_line_id}/receipts",
    tags=["supply"],
    status_code=201,
    responses=REPEATED,
    **role(Role.INTEGRATION),
)
def receive_po_line(
    po_line_id: Id, body: PoReceiptIn, backend: BackendDep, response: Response
) -> dict:
    """Receive against a PO line (partial and over-receipts allowed); units go to the queue."""
    result = purchasing.receive_po_line(
        backend.uow, po_line_id, body.qty, backend.clock(), body.reference
    )
    if result["repeated"]:
        response.status_code = 200
    return result


@router.post("/receipts/{receipt_id}/reverse", tags=["supply"], **role(Role.OPERATOR))
def reverse_receipt(receipt_id: Id, backend: BackendDep) -> dict:
    """Take a receipt back; refused for units already shipped."""
    return purchasing.reverse_receipt(backend.uow, receipt_id, backend.clock())


@router.get("/replenishment", tags=["supply"], **role(Role.VIEWER))
def replenishment_suggestions(backend: BackendDep) -> list[dict]:
    return serialize.plain(replenishment.suggestions(backend.uow, backend.clock()))


@router.post("/replenishment/drafts", tags=["supply"], status_code=201, **role(Role.OPERATOR))
def draft_purchase_orders(backend: BackendDep) -> list[dict]:
    return replenishment.create_draft_orders(backend.uow, backend.clock())


@router.get("/skus/{sku}", tags=["supply"], **role(Role.VIEWER))
def sku_view(sku: Annotated[str, Path(min_length=1, max_length=100)], backend: BackendDep) -> dict:
    """Time-phased picture: on hand, allocated, incoming PO lines, waiting lines with dates."""
    return serialize.plain(queries.sku_view(backend.uow, sku))


@router.get("/availability", tags=["supply"], **role(Role.VIEWER))
def availability(
    backend: BackendDep,
    sku: Annotated[list[str], Query(min_length=1, max_length=100)],
    qty: Annotated[list[int], Query(min_length=1, max_length=100)],
    customer_id: Annotated[int | None, Query(gt=0, le=2**31 - 1)] = None,
    paid_priority: PaidPriority = PaidPriority.NORMAL,
) -> list[dict]:
    """Quote without ordering: `?sku=A&qty=2&sku=B&qty=1` — what ships now, what waits, the
    date this customer would be promised, or why it cannot be ordered."""
    if len(sku) != len(qty):
        raise InvalidInput("qty", "give one qty per sku, in the same order")
    items = list(zip(sku, qty, strict=True))
    return serialize.plain(
        quotes.quote(backend.uow, items, backend.clock(), customer_id, paid_priority)
    )
