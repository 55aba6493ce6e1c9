"""Routes: each parses its input, calls one service function, and serialises the result."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response

from ...domain.model import Product
from ...domain.roles import Role
from ...service import audit as audit_log
from ...service import auth as auth_service
from ...service import catalog, deliveries, orders, queries, stock
from .. import serialize
from .auth import audit_of, check_customer_owns, principal_of, public, role
from .deps import BackendDep, Limit, Offset
from .routes_payments import payment_in
from .schemas import (
    ERRORS,
    REPEATED,
    AdjustmentIn,
    ApiKeyIn,
    CancelIn,
    CustomerIn,
    DeliveryIn,
    LineQtyIn,
    OrderIn,
    ProductIn,
    ProductOut,
    ReceiptIn,
    ShipmentIn,
    WarehouseIn,
)

router = APIRouter(responses=ERRORS)
SkuPath = Annotated[str, Path(min_length=1, max_length=100)]
Id = Annotated[int, Path(gt=0, le=2**31 - 1)]


@router.get("/health", tags=["meta"], **public())
def health() -> dict:
    return {"status": "ok"}


# -- catalog -------------------------------------------------------------------------------


@router.post(
    "/products",
    tags=["catalog"],
    response_model=ProductOut,
    status_code=201,
    responses={200: {"model": ProductOut, "description": "Updated: the SKU existed"}},
    **role(Role.INTEGRATION),
)
def save_product(body: ProductIn, backend: BackendDep, response: Response) -> dict:
    """Create a product, or update it when the SKU exists (then 200)."""
    product, created = catalog.save_product(
        backend.uow, Product(**body.model_dump()), backend.clock()
    )
    if not created:
        response.status_code = 200
    return serialize.product(product)


@router.get("/products", tags=["catalog"], response_model=list[ProductOut], **role(Role.VIEWER))
def list_products(backend: BackendDep, limit: Limit = 100, offset: Offset = 0) -> list[dict]:
    return [serialize.product(p) for p in queries.products(backend.uow, limit, offset)]


@router.get("/products/{sku}", tags=["catalog"], response_model=ProductOut, **role(Role.VIEWER))
def get_product(sku: SkuPath, backend: BackendDep) -> dict:
    return serialize.product(catalog.get_product(backend.uow, sku))


@router.post("/warehouses", tags=["catalog"], status_code=201, **role(Role.ADMIN))
def save_warehouse(body: WarehouseIn, backend: BackendDep) -> dict:
    return catalog.save_warehouse(backend.uow, body.code, body.name, body.rank)


@router.get("/warehouses", tags=["catalog"], **role(Role.VIEWER))
def list_warehouses(backend: BackendDep) -> list[dict]:
    return queries.warehouses(backend.uow)


# -- customers -------------------------------------------------------------------------------


@router.post("/customers", tags=["customers"], status_code=201, **role(Role.INTEGRATION))
def create_customer(body: CustomerIn, backend: BackendDep) -> dict:
    customer = catalog.create_customer(
        backend.uow, catalog.CustomerIn(**body.model_dump()), backend.clock()
    )
    return serialize.plain(customer)


@router.get("/customers", tags=["customers"], **role(Role.VIEWER))
def list_customers(backend: BackendDep, limit: Limit = 100, offset: Offset = 0) -> list[dict]:
    return serialize.plain(queries.customers(backend.uow, limit, offset))


@router.get("/customers/{customer_id}", tags=["customers"], **role(Role.VIEWER))
def get_customer(customer_id: Id, backend: BackendDep) -> dict:
    return serialize.plain(queries.customer(backend.uow, customer_id))


@router.put("/customers/{customer_id}", tags=["customers"], **role(Role.OPERATOR))
def update_customer(customer_id: Id, body: CustomerIn, backend: BackendDep) -> dict:
    customer = catalog.update_customer(
        backend.uow, customer_id, catalog.CustomerIn(**body.model_dump())
    )
    return serialize.plain(customer)


# -- stock -----------------------------------------------------------------------------------


@router.get("/stock", tags=["stock"], **role(Role.VIEWER))
def list_stock(
    backend: BackendDep, sku: Annotated[str | None, Query(max_length=100)] = None
) -> list[dict]:
    return serialize.plain(queries.stock(backend.uow, sku))


@router.post(
    "/receipts", tags=["stock"], status_code=201, responses=REPEATED, **role(Role.INTEGRATION)
)
def receive(body: ReceiptIn, backend: BackendDep, response: Response) -> dict:
    """Add units and hand them to waiting lines by priority; a repeated reference is a no-op."""
    result = stock.receive_stock(
        backend.uow, body.sku, body.warehouse, body.qty, backend.clock(), reference=body.reference
    )
    if result["repeated"]:
        response.status_code = 200
    return result


@router.post(
    "/delivery-notes", tags=["stock"], status_code=201, responses=REPEATED, **role(Role.INTEGRATION)
)
def receive_delivery(body: DeliveryIn, backend: BackendDep, response: Response) -> dict:
    """Receive a whole delivery in one transaction: every line goes through the ledger and
    to its SKU's waiting lines by priority; each order served hears of it once. A repeated
    reference with the same lines is a no-op (200); with other lines, 409."""
    lines = [deliveries.DeliveryLine(**line.model_dump()) for line in body.lines]
    result = deliveries.receive_delivery(
        backend.uow, lines, backend.clock(), reference=body.reference
    )
    if result["repeated"]:
        response.status_code = 200
    return result


@router.post("/adjustments", tags=["stock"], status_code=201, **role(Role.OPERATOR))
def adjust(body: AdjustmentIn, request: Request, backend: BackendDep) -> dict:
    """Correct on_hand by `delta` or to a counted `count`; logged in the audit log."""
    return stock.adjust_stock(
        backend.uow,
        body.sku,
        body.warehouse,
        backend.clock(),
        delta=body.delta,
        count=body.count,
        reason=body.reason,
        reference=body.reference,
        audit=audit_of(request, audit_log.why(body.reason, body.note)),
    )


@router.get("/ledger", tags=["stock"], **role(Role.VIEWER))
def ledger(
    backend: BackendDep,
    sku: Annotated[str | None, Query(max_length=100)] = None,
    limit: Limit = 1000,
) -> list[dict]:
    return serialize.plain(queries.ledger(backend.uow, sku, limit))


@router.post("/preorders/release", tags=["stock"], **role(Role.OPERATOR))
def release_preorders(backend: BackendDep) -> dict:
    """Serve the queues of SKUs whose release time has passed (also runs on a timer)."""
    return {"released": stock.release_preorders(backend.uow, backend.clock())}


# -- orders ----------------------------------------------------------------------------------


@router.post(
    "/orders", tags=["orders"], status_code=201, responses=REPEATED, **role(Role.INTEGRATION)
)
def place_order(body: OrderIn, backend: BackendDep, response: Response) -> dict:
    """Allocate what is there and backorder the rest within policy; a known external_ref returns
    the first order (200) instead of placing a second one."""
    if body.external_ref and _exists(backend, body.external_ref):
        response.status_code = 200
    cmd = orders.PlaceOrder(
        customer_id=body.customer_id,
        lines=[orders.OrderLineIn(**line.model_dump()) for line in body.lines],
        fulfilment=body.fulfilment,
        paid_priority=body.paid_priority,
        requested_date=body.requested_date,
        external_ref=body.external_ref,
        channel=body.channel,
        payment=payment_in(backend, body.payment),
    )
    return serialize.order(orders.place_order(backend.uow, cmd, backend.clock()))


def _exists(backend, external_ref: str) -> bool:
    try:
        queries.order_by_ref(backend.uow, external_ref)
    except Exception:
        return False
    return True


@router.get("/orders", tags=["orders"], **role(Role.VIEWER, customers=True))
def list_orders(
    request: Request,
    backend: BackendDep,
    customer_id: Annotated[int | None, Query(gt=0, le=2**31 - 1)] = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> list[dict]:
    if principal_of(request).role is Role.CUSTOMER:  # a customer key lists its own orders only
        customer_id = principal_of(request).customer_id
    return [serialize.order(o) for o in queries.orders(backend.uow, customer_id, limit, offset)]


@router.get("/orders/{order_id}", tags=["orders"], **role(Role.VIEWER, customers=True))
def get_order(order_id: Id, request: Request, backend: BackendDep) -> dict:
    return serialize.order(_visible_order(request, backend, order_id))


def _visible_order(request: Request, backend, order_id: int):
    order = queries.order(backend.uow, order_id)
    check_customer_owns(request, order.customer_id, "order_id")
    return order


@router.post("/orders/{order_id}/cancel", tags=["orders"], **role(Role.OPERATOR))
def cancel_order(
    order_id: Id, request: Request, backend: BackendDep, body: CancelIn | None = None
) -> dict:
    reason = body.reason if body else "requested"
    audit = audit_of(request, reason)
    return serialize.order(
        orders.cancel_order(backend.uow, order_id, backend.clock(), reason, audit)
    )


@router.post(
    "/orders/{order_id}/lines/{line_id}/cancel",
    tags=["orders"],
    **role(Role.OPERATOR, customers=True),
)
def cancel_line(
    order_id: Id, line_id: Id, request: Request, backend: BackendDep, body: CancelIn | None = None
) -> dict:
    reason = body.reason if body else "requested"
    _visible_order(request, backend, order_id)
    audit = audit_of(request, reason)
    return serialize.order(
        orders.cancel_line(backend.uow, order_id, line_id, backend.clock(), reason, audit)
    )


@router.patch("/orders/{order_id}/lines/{line_id}", tags=["orders"], **role(Role.OPERATOR))
def change_line(order_id: Id, line_id: Id, body: LineQtyIn, backend: BackendDep) -> dict:
    """Change a line's quantity; its own allocation counts as available to it."""
    return serialize.order(
        orders.change_line_qty(backend.uow, order_id, line_id, body.qty, backend.clock())
    )


@router.post(
    "/orders/{order_id}/shipments",
    tags=["orders"],
    status_code=201,
    responses=REPEATED,
    **role(Role.INTEGRATION),
)
def ship(
    order_id: Id, backend: BackendDep, response: Response, body: ShipmentIn | None = None
) -> dict:
    """Ship allocated units: all of them, or `quantities` per line id."""
    body = body or ShipmentIn()
    result = orders.ship_order(
        backend.uow, order_id, backend.clock(), body.quantities, body.reference
    )
    if result["repeated"]:
        response.status_code = 200
    return result


@router.get("/orders/{order_id}/events", tags=["orders"], **role(Role.VIEWER, customers=True))
def order_events(order_id: Id, request: Request, backend: BackendDep) -> list[dict]:
    _visible_order(request, backend, order_id)
    return serialize.plain(queries.events(backend.uow, order_id=order_id))


# -- the queue and why -----------------------------------------------------------------------


@router.get("/skus/{sku}/queue", tags=["allocation"], **role(Role.VIEWER))
def sku_queue(sku: SkuPath, backend: BackendDep) -> list[dict]:
    """Waiting lines in the order they will be served, with each position and key in words."""
    return serialize.plain(queries.queue(backend.uow, sku))


@router.get("/allocation-log", tags=["allocation"], **role(Role.VIEWER))
def allocation_log(
    backend: BackendDep,
    sku: Annotated[str | None, Query(max_length=100)] = None,
    order_id: Annotated[int | None, Query(gt=0, le=2**31 - 1)] = None,
    limit: Limit = 1000,
) -> list[dict]:
    return serialize.plain(queries.allocation_log(backend.uow, sku, order_id, limit))


@router.get("/explain", tags=["allocation"], **role(Role.VIEWER))
def explain(
    backend: BackendDep,
    sku: Annotated[str, Query(min_length=1, max_length=100)],
    first_order: Annotated[int, Query(gt=0, le=2**31 - 1)],
    second_order: Annotated[int, Query(gt=0, le=2**31 - 1)],
) -> dict:
    """Why did one order get stock of a SKU before another?"""
    return serialize.plain(queries.explain(backend.uow, sku, first_order, second_order))


@router.get("/events", tags=["allocation"], **role(Role.VIEWER))
def list_events(
    backend: BackendDep,
    kind: Annotated[str | None, Query(max_length=50)] = None,
    limit: Limit = 1000,
    after_id: Annotated[int | None, Query(ge=0, le=2**63 - 1)] = None,
) -> list[dict]:
    """Events oldest first; pass the last id seen as `after_id` for the next page."""
    events = queries.events(backend.uow, kind=kind, limit=limit, after_id=after_id)
    return serialize.plain(events)


@router.get("/check", tags=["meta"], **role(Role.VIEWER))
def check(backend: BackendDep, response: Response) -> dict:
    """Verify every invariant of DESIGN.md §3 against the database (409 on a breach)."""
    breaches = queries.check(backend.uow)
    if breaches:
        response.status_code = 409
    return {"ok": not breaches, "breaches": serialize.plain(breaches)}


@router.get("/audit", tags=["access"], **role(Role.VIEWER))
def audit_entries(
    backend: BackendDep,
    subject: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=audit_log.MAX_LIMIT)] = 100,
    before_id: Annotated[int | None, Query(ge=1, le=2**63 - 1)] = None,
) -> list[dict]:
    """Operator actions, latest first: who, when, what, to which subject (e.g. `order 7`,
    `line 12`, `sku MUG @ main`), why, and the numbers. For the next page pass the last id
    seen as `before_id`."""
    return serialize.plain(audit_log.entries(backend.uow, limit, subject, before_id))


# -- API keys --------------------------------------------------------------------------------


@router.post("/api-keys", tags=["access"], status_code=201, **role(Role.ADMIN))
def create_api_key(body: ApiKeyIn, backend: BackendDep) -> dict:
    """Make a key; the response is the only time the key itself is shown."""
    key, record = auth_service.create_key(backend.uow, body.name, body.role, backend.clock())
    return serialize.plain(record | {"key": key})


@router.get("/api-keys", tags=["access"], **role(Role.ADMIN))
def list_api_keys(backend: BackendDep) -> list[dict]:
    return serialize.plain(auth_service.list_keys(backend.uow))


@router.post("/api-keys/{key_id}/revoke", tags=["access"], **role(Role.ADMIN))
def revoke_api_key(key_id: Id, backend: BackendDep) -> dict:
    return serialize.plain(auth_service.revoke_key(backend.uow, key_id, backend.clock()))


@router.post(
    "/customers/{customer_id}/keys", tags=["access"], status_code=201, **role(Role.OPERATOR)
)
def create_customer_key(customer_id: Id, backend: BackendDep) -> dict:
    """A key that reaches only this customer's orders (for a storefront's order page)."""
    key, record = auth_service.create_key(
        backend.uow, f"customer {customer_id}", Role.CUSTOMER, backend.clock(), customer_id
    )
    return serialize.plain(record | {"key": key})
