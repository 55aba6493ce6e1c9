"""Customer care routes (issue 8, part B): back-in-stock waitlist and holds, the longest wait
of a product, the periodic jobs, feedback and delay-consent links, the feedback report.

The link endpoints are public: the signed, single-use token in the path is the credential.
A GET shows what the link stands for and changes nothing (mail scanners open links); the
answer is a POST.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from pydantic import Field

from ...domain.roles import Role
from ...service import auto_cancel, consent, feedback, jobs, waitlist
from .. import serialize
from .auth import check_customer_owns, public, role
from .deps import BackendDep
from .routes import ERRORS
from .schemas import ErrorOut, StrictModel

router = APIRouter(responses=ERRORS)
# A link altered, never issued (403) or already answered (409, in ERRORS).
LINK_ERRORS: dict = {403: {"model": ErrorOut}}
Id = Annotated[int, Path(gt=0, le=2**31 - 1)]
Token = Annotated[str, Path(min_length=10, max_length=400)]
SkuPath = Annotated[str, Path(min_length=1, max_length=100)]


class SubscriptionIn(StrictModel):
    customer_id: Annotated[int, Field(gt=0, le=2**31 - 1)]


class MaxWaitIn(StrictModel):
    max_wait_days: Annotated[int | None, Field(ge=1, le=auto_cancel.MAX_DAYS)]


class FeedbackIn(StrictModel):
    rating: Annotated[int, Field(ge=1, le=5)]
    comment: Annotated[str | None, Field(max_length=feedback.MAX_COMMENT)] = None


# -- waitlist --------------------------------------------------------------------------------


@router.post(
    "/skus/{sku}/waitlist",
    tags=["waitlist"],
    status_code=201,
    **role(Role.INTEGRATION, customers=True),
)
def subscribe(sku: SkuPath, body: SubscriptionIn, backend: BackendDep, request: Request) -> dict:
    """Tell a customer when a SKU that cannot be ordered now is back: a unit is held for
    them for a while (`back_in_stock`), first subscribed first served."""
    check_customer_owns(request, body.customer_id, "customer_id")
    return serialize.plain(waitlist.subscribe(backend.uow, sku, body.customer_id, backend.clock()))


@router.get("/skus/{sku}/waitlist", tags=["waitlist"], **role(Role.VIEWER))
def sku_waitlist(sku: SkuPath, backend: BackendDep, closed: bool = False) -> list[dict]:
    """Subscribers in serving order, with their hold; `closed=true` adds closed ones."""
    return serialize.plain(waitlist.subscriptions(backend.uow, sku, open_only=not closed))


@router.delete(
    "/waitlist/{subscription_id}", tags=["waitlist"], **role(Role.INTEGRATION, customers=True)
)
def unsubscribe(subscription_id: Id, backend: BackendDep, request: Request) -> dict:
    """Leave the waitlist; a held unit goes to the queue, then to the next subscriber."""
    found = waitlist.subscription(backend.uow, subscription_id)
    check_customer_owns(request, found.customer_id, "subscription_id")
    return serialize.plain(waitlist.unsubscribe(backend.uow, subscription_id, backend.clock()))


@router.get("/holds", tags=["waitlist"], **role(Role.VIEWER))
def holds(
    backend: BackendDep, sku: Annotated[str | None, Query(max_length=100)] = None
) -> list[dict]:
    """Active back-in-stock holds (their units count as allocated)."""
    return serialize.plain(waitlist.active_holds(backend.uow, sku))


# -- longest wait and the jobs -----------------------------------------------------------------


@router.put("/products/{sku}/max-wait", tags=["auto-cancel"], **role(Role.OPERATOR))
def set_max_wait(sku: SkuPath, body: MaxWaitIn, backend: BackendDep) -> dict:
    """A product's longest wait for backordered units, in days; null: the shop-wide setting."""
    return auto_cancel.set_max_wait(backend.uow, sku, body.max_wait_days, backend.clock())


@router.post("/jobs/run", tags=["jobs"], **role(Role.OPERATOR))
def run_jobs(backend: BackendDep) -> dict:
    """Run the due jobs now (`serve` runs them every BACKORDER_JOBS_CHECK_SECONDS): expire
    holds, offer freed stock, auto-cancel warnings and cancels, consent deadlines."""
    return jobs.run_due_jobs(backend.uow, backend.clock())


# -- feedback ----------------------------------------------------------------------------------


@router.get("/feedback/{token}", tags=["feedback"], responses=LINK_ERRORS, **public())
def feedback_form(token: Token, backend: BackendDep) -> dict:
    """What the feedback link shows; a used or altered link is refused."""
    return serialize.plain(feedback.form(backend.uow, token))


@router.post("/feedback/{token}", tags=["feedback"], responses=LINK_ERRORS, **public())
def feedback_answer(token: Token, body: FeedbackIn, backend: BackendDep) -> dict:
    """Rate the order 1-5 with an optional comment; once per link."""
    result = feedback.submit(backend.uow, token, body.rating, body.comment, backend.clock())
    return serialize.plain(result)


@router.get("/reports/feedback", tags=["feedback"], **role(Role.VIEWER))
def feedback_report(backend: BackendDep, lowest: Annotated[int, Query(ge=0, le=1000)] = 10) -> dict:
    """Mean rating by waiting time (0-7, 8-14, 15-30, 30+ days) and by promise delays, and the
    comments of the lowest ratings."""
    return serialize.plain(feedback.report(backend.uow, lowest))


@router.get("/orders/{order_id}/feedback", tags=["feedback"], **role(Role.VIEWER))
def order_feedback(order_id: Id, backend: BackendDep) -> dict:
    return serialize.plain(feedback.of_order(backend.uow, order_id))


# -- delay consent -----------------------------------------------------------------------------


@router.get("/consent/{token}", tags=["delay consent"], responses=LINK_ERRORS, **public())
def consent_question(token: Token, backend: BackendDep) -> dict:
    """The delayed line, its first and new dates, the deadline, and what this link answers."""
    return serialize.plain(consent.show(backend.uow, token, backend.clock()))


@router.post("/consent/{token}", tags=["delay consent"], responses=LINK_ERRORS, **public())
def consent_answer(token: Token, backend: BackendDep) -> dict:
    """Answer with this link: keep waiting, or cancel the line."""
    return serialize.plain(consent.answer(backend.uow, token, backend.clock()))


@router.get(
    "/orders/{order_id}/delay-consents", tags=["delay consent"], **role(Role.VIEWER, customers=True)
)
def order_consents(order_id: Id, backend: BackendDep, request: Request) -> list[dict]:
    """Every delay question of an order, with its answer."""
    from ...service import queries

    check_customer_owns(request, queries.order(backend.uow, order_id).customer_id, "order_id")
    return serialize.plain(consent.for_order(backend.uow, order_id))
