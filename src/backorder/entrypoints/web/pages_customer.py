"""The customer's own pages (/my/<signed token>): their orders, each line's state and promise,
the story so far, and what they may change. Anything not theirs answers 404, like anything
that does not exist, so a tampered address tells nothing."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from starlette.datastructures import FormData

from ...domain.errors import DomainError, NotFound
from ...service import feedback, fulfilment, notify_admin, operator_views, orders, queries
from ...service.customer_links import verify_customer_token
from ...service.signing import InvalidToken
from ...service.views import CustomerView, OrderView
from .core import (
    MY,
    PageNotFound,
    backend_of,
    checked_form,
    flash,
    now_of,
    redirect,
    render,
    translator,
)
from .keys import customer_page_key

router = APIRouter()


def _customer(request: Request, token: str) -> CustomerView:
    try:
        customer_id = verify_customer_token(customer_page_key(request), token)
        customer = queries.customer(backend_of(request).uow, customer_id)
    except (InvalidToken, NotFound):
        raise PageNotFound() from None
    request.state.default_lang = "tr" if customer.locale.lower().startswith("tr") else "en"
    return customer


def _own_order(request: Request, customer: CustomerView, order_id: int) -> OrderView:
    try:
        order = queries.order(backend_of(request).uow, order_id)
    except NotFound:
        raise PageNotFound() from None
    if order.customer_id != customer.id:  # someone else's: it does not exist for you
        raise PageNotFound()
    return order


@router.get("/{token}")
def my_orders(request: Request, token: str):
    customer = _customer(request, token)
    found = queries.orders(backend_of(request).uow, customer_id=customer.id, limit=200)
    return render(request, "my_orders.html", customer=customer, orders=found, token=token)


@router.get("/{token}/orders/{order_id}")
def my_order(request: Request, token: str, order_id: int):
    customer = _customer(request, token)
    order = _own_order(request, customer, order_id)
    uow = backend_of(request).uow
    timeline = [e for e in notify_admin.timeline(uow, order_id) if e.entry == "event"]
    expected = operator_views.po_expected_dates(uow, [ln.promise_po_line_id for ln in order.lines])
    names = operator_views.product_names(uow, {line.sku for line in order.lines})
    return render(
        request,
        "my_order.html",
        customer=customer,
        order=order,
        token=token,
        timeline=timeline,
        expected=expected,
        names=names,
        feedback=_feedback_request(uow, timeline),
    )


def _feedback_request(uow, timeline) -> dict | None:
    """The open feedback request of a closed order: its link, and the token the form sends."""
    asked = [e for e in timeline if e.kind == "feedback_requested" and e.details.get("url")]
    if not asked:
        return None
    try:
        given = feedback.of_order(uow, asked[-1].details["order_id"])
    except (DomainError, KeyError):
        return None
    if given.get("answered_at") is not None:
        return {"answered": True, "rating": given.get("rating")}
    url = asked[-1].details["url"]
    return {"answered": False, "url": url, "token": url.rstrip("/").rsplit("/", 1)[-1]}


@router.post("/{token}/orders/{order_id}/lines/{line_id}/cancel")
def cancel_waiting_line(
    request: Request,
    token: str,
    order_id: int,
    line_id: int,
    form: FormData = Depends(checked_form),
):
    customer = _customer(request, token)
    order = _own_order(request, customer, order_id)
    line = next((ln for ln in order.lines if ln.id == line_id), None)
    if line is None:
        raise PageNotFound()
    _ = translator(request)
    if line.backordered == 0:
        flash(request, _("Only a line that is still waiting can be cancelled here."), "error")
    else:
        orders.cancel_line(
            backend_of(request).uow, order_id, line_id, now_of(request), reason="customer"
        )
        flash(request, _("The line is cancelled."))
    return redirect(f"{MY}/{token}/orders/{order_id}")


@router.post("/{token}/orders/{order_id}/fulfilment")
def change_choice(
    request: Request, token: str, order_id: int, form: FormData = Depends(checked_form)
):
    customer = _customer(request, token)
    _own_order(request, customer, order_id)
    _ = translator(request)
    try:
        fulfilment.change_fulfilment(
            backend_of(request).uow,
            order_id,
            str(form.get("fulfilment", "")),
            f"customer {customer.id}",
            now_of(request),
        )
        flash(request, _("Your choice is saved."))
    except DomainError as error:
        reason = error.details.get("reason")
        flash(request, _(reason) if reason else error.message, "error")
    return redirect(f"{MY}/{token}/orders/{order_id}")


@router.post("/{token}/orders/{order_id}/feedback")
def leave_feedback(
    request: Request, token: str, order_id: int, form: FormData = Depends(checked_form)
):
    """The order's own feedback request is looked up here: the form names no token."""
    customer = _customer(request, token)
    _own_order(request, customer, order_id)
    uow, _ = backend_of(request).uow, translator(request)
    timeline = [e for e in notify_admin.timeline(uow, order_id) if e.entry == "event"]
    asked = _feedback_request(uow, timeline)
    rating = str(form.get("rating", ""))
    if asked is None or asked["answered"]:
        flash(request, _("This order has no open feedback request."), "error")
    elif not rating.isdigit() or not 1 <= int(rating) <= 5:
        flash(request, _("Choose a rating from 1 to 5."), "error")
    else:
        try:
            feedback.submit(
                uow,
                asked["token"],
                int(rating),
                str(form.get("comment", "")) or None,
                now_of(request),
            )
            flash(request, _("Thank you for your feedback."))
        except DomainError as error:
            reason = error.details.get("reason")
            flash(request, _(reason) if reason else error.message, "error")
    return redirect(f"{MY}/{token}/orders/{order_id}")
