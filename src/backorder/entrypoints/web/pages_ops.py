"""The operator's daily pages: the dashboard, the backorder queue, an order, the audit log,
and the queue actions (raise, lower, release a hold, cancel a line), each with a reason."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from starlette.datastructures import FormData

from ...domain.errors import DomainError, NotFound
from ...domain.roles import Role
from ...service import notify_admin, operator_views, overrides, queries, web_users
from ...service.customer_links import customer_token
from ...service.web_users import WebUser
from . import charts
from .core import (
    MY,
    N_,
    UI,
    backend_of,
    checked_form,
    flash,
    local_path,
    now_of,
    redirect,
    render,
    requires,
    translator,
)
from .keys import customer_page_key

router = APIRouter()
TIERS = ("critical", "priority", "standard")
AGE_LABELS = {
    "0-7": N_("0-7 days"),
    "8-14": N_("8-14 days"),
    "15-30": N_("15-30 days"),
    "30+": N_("30+ days"),
}


@router.get("/")
def dashboard(request: Request, user: WebUser = Depends(requires(Role.VIEWER))):
    backend = backend_of(request)
    data = operator_views.dashboard(backend.uow, backend.clock())
    _ = translator(request)
    ageing = data["ageing"]
    chart = charts.bar_chart(
        [(_(AGE_LABELS[label]), value) for label, value in ageing.chart],
        _("Open backorder lines by days waited"),
        _(
            "{lines} open lines; bars show how many waited 0-7, 8-14, 15-30 and over 30 days.",
            lines=ageing.summary["lines"],
        ),
        chart_id="ageing",
    )
    return render(request, "dashboard.html", data=data, ageing_chart=chart)


@router.get("/queue")
def queue(
    request: Request,
    sku: str = "",
    customer: str = "",
    tier: str = "",
    min_age: str = "",
    max_age: str = "",
    user: WebUser = Depends(requires(Role.VIEWER)),
):
    errors = {}
    ages = {
        name: _whole(value, name, errors)
        for name, value in (("min_age", min_age), ("max_age", max_age))
    }
    if tier and tier not in TIERS:
        errors["tier"], tier = N_("Choose a tier from the list."), ""
    backend = backend_of(request)
    rows = operator_views.queue_rows(
        backend.uow,
        backend.clock(),
        sku=sku.strip() or None,
        customer=customer,
        tier=tier or None,
        **ages,
    )
    filters = {
        "sku": sku,
        "customer": customer,
        "tier": tier,
        "min_age": min_age,
        "max_age": max_age,
    }
    return render(
        request,
        "queue.html",
        rows=rows[:1000],
        total=len(rows),
        filters=filters,
        errors=errors,
        tiers=TIERS,
    )


def _whole(value: str, name: str, errors: dict) -> int | None:
    value = value.strip()
    if not value:
        return None
    if not value.isdigit() or int(value) > 100_000:
        errors[name] = N_("Give a whole number of days.")
        return None
    return int(value)


@router.get("/orders/{order_id}")
def order_page(request: Request, order_id: int, user: WebUser = Depends(requires(Role.VIEWER))):
    backend = backend_of(request)
    order = queries.order(backend.uow, order_id)
    customer = queries.customer(backend.uow, order.customer_id)
    positions = {  # the order's waiting lines in their SKUs' queues
        q.line_id: q
        for sku in sorted({line.sku for line in order.lines if line.backordered})
        for q in operator_views.queue_rows(backend.uow, backend.clock(), sku=sku)
        if q.order_id == order_id
    }
    audit = web_users.audit_entries(backend.uow, 100, f"order {order_id}")  # its lines too
    link = None
    if user.may(Role.OPERATOR):  # the link opens the customer's page: for those who act
        link = f"{MY}/{customer_token(customer_page_key(request), customer.id)}"
    return render(
        request,
        "order.html",
        order=order,
        customer=customer,
        positions=positions,
        timeline=notify_admin.timeline(backend.uow, order_id),
        audit=sorted(audit, key=lambda e: e["id"], reverse=True),
        customer_link=link,
    )


@router.get("/audit")
def audit_log(request: Request, user: WebUser = Depends(requires(Role.VIEWER))):
    entries = web_users.audit_entries(backend_of(request).uow, 500)
    return render(request, "audit.html", entries=entries)


# -- actions -----------------------------------------------------------------------------------


@router.post("/lines/{line_id}/priority")
def change_priority(
    request: Request,
    line_id: int,
    form: FormData = Depends(checked_form),
    user: WebUser = Depends(requires(Role.OPERATOR)),
):
    direction = str(form.get("direction", ""))
    return _act(
        request,
        form,
        lambda: overrides.change_priority(
            backend_of(request).uow,
            line_id,
            direction,
            user.name,
            str(form.get("reason", "")),
            now_of(request),
        ),
        N_("Priority changed."),
    )


@router.post("/orders/{order_id}/release")
def release_hold(
    request: Request,
    order_id: int,
    form: FormData = Depends(checked_form),
    user: WebUser = Depends(requires(Role.OPERATOR)),
):
    return _act(
        request,
        form,
        lambda: overrides.release_hold(
            backend_of(request).uow,
            order_id,
            user.name,
            str(form.get("reason", "")),
            now_of(request),
        ),
        N_("The held units went back to the queue."),
    )


@router.post("/orders/{order_id}/lines/{line_id}/cancel")
def cancel_line(
    request: Request,
    order_id: int,
    line_id: int,
    form: FormData = Depends(checked_form),
    user: WebUser = Depends(requires(Role.OPERATOR)),
):
    return _act(
        request,
        form,
        lambda: overrides.cancel_line(
            backend_of(request).uow,
            order_id,
            line_id,
            user.name,
            str(form.get("reason", "")),
            now_of(request),
        ),
        N_("Line cancelled."),
    )


def _act(request: Request, form: FormData, action, done: str):
    """Run an action; back to the page it came from with what happened, or why not."""
    back = local_path(str(form.get("next", "")), f"{UI}/queue")
    _ = translator(request)
    try:
        action()
    except NotFound:
        raise
    except DomainError as error:
        reason = error.details.get("reason") if error.code == "invalid_input" else None
        flash(request, _(reason) if reason else error.message, "error")
        return redirect(back)
    flash(request, _(done))
    return redirect(back)
