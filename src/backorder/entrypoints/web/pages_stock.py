"""SKU pages, receiving (with a preview of who gets the units) and purchase orders."""

from __future__ import annotations

import secrets
from datetime import timedelta

from fastapi import APIRouter, Depends, Request
from starlette.datastructures import FormData

from ...domain.errors import DomainError
from ...domain.roles import Role
from ...service import operator_views, purchasing, queries, receipt_preview
from ...service import stock as stock_service
from ...service.promising import local_date
from ...service.web_users import WebUser
from . import charts
from .core import N_, backend_of, checked_form, now_of, render, requires, translator

router = APIRouter()
MAX_QTY = 1_000_000_000


@router.get("/skus")
def sku_list(request: Request, q: str = "", user: WebUser = Depends(requires(Role.VIEWER))):
    found = operator_views.search_products(backend_of(request).uow, q)
    return render(request, "skus.html", products=found, q=q)


@router.get("/skus/{sku}")
def sku_page(request: Request, sku: str, user: WebUser = Depends(requires(Role.VIEWER))):
    backend = backend_of(request)
    view = queries.sku_view(backend.uow, sku)
    log = queries.allocation_log(backend.uow, sku=sku, limit=100_000)[-100:][::-1]
    today = local_date(backend.clock(), backend.settings.shop_timezone)
    return render(request, "sku.html", view=view, log=log, chart=_timephased(request, view, today))


def _timephased(request: Request, view: dict, today):
    """Free stock plus incoming PO lines, against the waiting units by promised date."""
    _ = translator(request)
    supply_total, supply = view["available"], [(today, view["available"])]
    for po in view["incoming"]:
        supply_total += po["open_qty"]
        supply.append((max(today, po["expected_date"]), supply_total))
    dated = sorted(
        (w["promised_date"], w["backordered"]) for w in view["waiting"] if w["promised_date"]
    )
    undated = sum(w["backordered"] for w in view["waiting"] if not w["promised_date"])
    end = max([today + timedelta(days=14)] + [d for d, _ in supply] + [d for d, _ in dated])
    end += timedelta(days=3)
    demand_total, demand = 0, [(today, 0)]
    for day, units in dated:
        demand_total += units
        demand.append((max(today, day), demand_total))
    if undated:  # no date yet: drawn at the chart's end
        demand.append((end, demand_total + undated))
    waiting = demand_total + undated
    series = [
        charts.Series(_("Free stock and incoming"), "supply", supply),
        charts.Series(_("Waiting units by promised date"), "demand", demand),
    ]
    description = _(
        "{supply} units free or incoming; {waiting} units waiting.",
        supply=supply_total,
        waiting=waiting,
    )
    attrs = f'data-supply="{supply_total}" data-waiting="{waiting}"'  # read by the browser tests
    title = _("Supply against waiting demand")
    return charts.step_chart(series, today, end, title, description, attrs=attrs)


# -- receiving -----------------------------------------------------------------------------------


@router.get("/receive")
def receive_form(
    request: Request,
    sku: str = "",
    po_line: str = "",
    user: WebUser = Depends(requires(Role.OPERATOR)),
):
    values = {"sku": sku, "po_line_id": po_line, "qty": "", "reference": "", "warehouse": ""}
    return _form(request, values, {})


def _form(request: Request, values: dict, errors: dict, status: int = 200):
    backend = backend_of(request)
    return render(
        request,
        "receive.html",
        status=status,
        values=values,
        errors=errors,
        warehouses=queries.warehouses(backend.uow),
        po_lines=_open_po_lines(backend),
    )


def _open_po_lines(backend) -> list[dict]:
    pos = queries.purchase_orders(backend.uow, limit=500)
    names = {s.id: s.name for s in queries.suppliers(backend.uow)}
    return [
        {
            "id": line.id,
            "po_id": po.id,
            "sku": line.sku,
            "open": line.open_qty,
            "expected": line.expected_date,
            "supplier": names.get(po.supplier_id, ""),
        }
        for po in pos
        if po.status in ("sent", "partially_received")
        for line in po.lines
        if line.open_qty
    ]


@router.post("/receive/preview")
def receive_preview(
    request: Request,
    form: FormData = Depends(checked_form),
    user: WebUser = Depends(requires(Role.OPERATOR)),
):
    values, errors = _read_receipt(form)
    if errors:
        return _form(request, values, errors, status=422)
    backend = backend_of(request)
    try:
        preview, po = _preview(backend, values, now_of(request))
    except DomainError as error:
        return _form(request, values, _field_error(error, translator(request)), status=422)
    values["reference"] = values["reference"] or f"web-{secrets.token_hex(6)}"
    return render(request, "receive_preview.html", preview=preview, po=po, values=values)


def _preview(backend, values: dict, now):
    if values["po_line_id"]:
        return receipt_preview.preview_po_receipt(
            backend.uow, int(values["po_line_id"]), values["qty"], now
        )
    preview = receipt_preview.preview_receipt(
        backend.uow, values["sku"], values["warehouse"], values["qty"], now
    )
    return preview, None


@router.post("/receive")
def receive(
    request: Request,
    form: FormData = Depends(checked_form),
    user: WebUser = Depends(requires(Role.OPERATOR)),
):
    values, errors = _read_receipt(form)
    if errors or not values["reference"]:
        return _form(
            request, values, errors or {"reference": N_("Preview the receipt first.")}, 422
        )
    backend, now = backend_of(request), now_of(request)
    try:
        result = _receive(backend, values, now)
    except DomainError as error:
        return _form(request, values, _field_error(error, translator(request)), status=422)
    log = [
        e
        for e in queries.allocation_log(backend.uow, sku=result["sku"], limit=100_000)
        if e.reference == values["reference"] and e.qty > 0
    ]
    return render(request, "receive_done.html", result=result, log=log, values=values)


def _receive(backend, values: dict, now) -> dict:
    if values["po_line_id"]:
        return purchasing.receive_po_line(
            backend.uow, int(values["po_line_id"]), values["qty"], now, values["reference"]
        )
    return stock_service.receive_stock(
        backend.uow, values["sku"], values["warehouse"], values["qty"], now, values["reference"]
    )


def _read_receipt(form: FormData) -> tuple[dict, dict]:
    """The receipt's fields, and a message per field that is missing or wrong."""
    values = {
        k: str(form.get(k, "")).strip()
        for k in ("sku", "warehouse", "qty", "reference", "po_line_id")
    }
    errors = {}
    if values["po_line_id"] and not values["po_line_id"].isdigit():
        errors["po_line_id"] = N_("Choose a purchase-order line from the list.")
    if not values["po_line_id"]:
        if not values["sku"]:
            errors["sku"] = N_("Give the SKU you received.")
        if not values["warehouse"]:
            errors["warehouse"] = N_("Choose the warehouse the units went to.")
    qty = values["qty"]
    if not qty.isdigit() or not 1 <= int(qty) <= MAX_QTY:
        errors["qty"] = N_("Give the number of units received: a whole number, at least 1.")
    else:
        values["qty"] = int(qty)
    if len(values["reference"]) > 200:
        errors["reference"] = N_("At most 200 characters.")
    return values, errors


KNOWN_ERRORS = {
    ("not_found", "sku"): N_("No product has this SKU."),
    ("not_found", "warehouse"): N_("Unknown warehouse."),
    ("not_found", "po_line_id"): N_("Unknown purchase-order line."),
}


def _field_error(error: DomainError, _) -> dict:
    """The service's refusal as a message next to the field it names."""
    field = str(error.details.get("field") or "form")
    field = {"po_id": "po_line_id"}.get(field, field)
    known = KNOWN_ERRORS.get((error.code, field))
    reason = error.details.get("reason") if error.code == "invalid_input" else None
    return {field: _(known or reason) if (known or reason) else error.message}


# -- purchase orders -------------------------------------------------------------------------


@router.get("/purchase-orders")
def purchase_orders(request: Request, user: WebUser = Depends(requires(Role.VIEWER))):
    backend = backend_of(request)
    names = {s.id: s.name for s in queries.suppliers(backend.uow)}
    pos = queries.purchase_orders(backend.uow, limit=500)
    return render(request, "purchase_orders.html", pos=pos, suppliers=names)


@router.get("/purchase-orders/{po_id}")
def purchase_order(request: Request, po_id: int, user: WebUser = Depends(requires(Role.VIEWER))):
    backend = backend_of(request)
    po = queries.purchase_order(backend.uow, po_id)
    names = {s.id: s.name for s in queries.suppliers(backend.uow)}
    return render(request, "purchase_order.html", po=po, supplier=names.get(po.supplier_id, ""))
