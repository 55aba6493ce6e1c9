"""Notification routes: webhook endpoints, customer opt-outs, the delivery log, timelines."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request
from pydantic import Field

from ...domain.roles import Role
from ...service import notify_admin, queries
from ...service.notifications import CUSTOMER_CHANNELS
from .. import serialize
from .auth import check_customer_owns, role
from .deps import BackendDep, Limit
from .routes import ERRORS
from .schemas import StrictModel

router = APIRouter(responses=ERRORS)
Id = Annotated[int, Path(gt=0, le=2**31 - 1)]
Channel = Literal[CUSTOMER_CHANNELS]  # type: ignore[valid-type]
Kind = Annotated[str, Field(min_length=1, max_length=50)]


class WebhookIn(StrictModel):
    url: Annotated[str, Field(min_length=1, max_length=2000)]
    event_kinds: Annotated[list[Kind], Field(max_length=100)] = []
    secret: Annotated[str | None, Field(min_length=16, max_length=200)] = None
    description: Annotated[str | None, Field(max_length=300)] = None


class OptOutIn(StrictModel):
    channel: Channel = "email"


def _endpoint(endpoint, with_secret: bool = False) -> dict[str, Any]:
    data = serialize.plain(endpoint)
    return data if with_secret else {k: v for k, v in data.items() if k != "secret"}


def _delivery(delivery, with_body: bool = False) -> dict[str, Any]:
    hidden = {"secret"} if with_body else {"secret", "body", "body_html"}
    return {k: v for k, v in serialize.plain(delivery).items() if k not in hidden}


@router.post("/webhooks", tags=["notifications"], status_code=201, **role(Role.ADMIN))
def add_webhook(body: WebhookIn, backend: BackendDep) -> dict:
    """Register an endpoint (no kinds: every kind). The answer is the only time the secret shows."""
    endpoint = notify_admin.add_webhook(
        backend.uow, body.url, backend.clock(), body.event_kinds, body.secret, body.description
    )
    return _endpoint(endpoint, with_secret=True)


@router.get("/webhooks", tags=["notifications"], **role(Role.VIEWER))
def list_webhooks(backend: BackendDep) -> list[dict]:
    return [_endpoint(e) for e in notify_admin.webhooks(backend.uow)]


@router.delete("/webhooks/{endpoint_id}", tags=["notifications"], **role(Role.ADMIN))
def remove_webhook(endpoint_id: Id, backend: BackendDep) -> dict:
    """Stop sending to an endpoint; its log stays, its waiting deliveries are dead-lettered."""
    return _endpoint(notify_admin.remove_webhook(backend.uow, endpoint_id, backend.clock()))


@router.get(
    "/customers/{customer_id}/opt-outs",
    tags=["notifications"],
    **role(Role.VIEWER, customers=True),
)
def opt_outs(customer_id: Id, request: Request, backend: BackendDep) -> dict:
    check_customer_owns(request, customer_id, "customer_id")
    return {
        "customer_id": customer_id,
        "opted_out": notify_admin.opt_outs(backend.uow, customer_id),
    }


@router.post(
    "/customers/{customer_id}/opt-outs",
    tags=["notifications"],
    **role(Role.OPERATOR, customers=True),
)
def opt_out(customer_id: Id, body: OptOutIn, request: Request, backend: BackendDep) -> dict:
    """The customer gets nothing more on this channel (a customer key: its own customer)."""
    check_customer_owns(request, customer_id, "customer_id")
    channels = notify_admin.set_opt_out(
        backend.uow, customer_id, body.channel, True, backend.clock()
    )
    return {"customer_id": customer_id, "opted_out": channels}


@router.delete(
    "/customers/{customer_id}/opt-outs/{channel}",
    tags=["notifications"],
    **role(Role.OPERATOR, customers=True),
)
def opt_in(
    customer_id: Id,
    channel: Annotated[str, Path(max_length=20)],
    request: Request,
    backend: BackendDep,
) -> dict:
    check_customer_owns(request, customer_id, "customer_id")
    channels = notify_admin.set_opt_out(backend.uow, customer_id, channel, False, backend.clock())
    return {"customer_id": customer_id, "opted_out": channels}


@router.get("/deliveries", tags=["notifications"], **role(Role.VIEWER))
def list_deliveries(
    backend: BackendDep,
    limit: Limit = 100,
    status: Annotated[str | None, Query(max_length=10)] = None,
    order_id: Annotated[int | None, Query(gt=0, le=2**31 - 1)] = None,
) -> list[dict]:
    """The delivery log, one row per event, recipient and channel (`status=dead`: dead letters)."""
    return [_delivery(d) for d in notify_admin.deliveries(backend.uow, status, order_id, limit)]


@router.get("/deliveries/{delivery_id}", tags=["notifications"], **role(Role.VIEWER))
def get_delivery(delivery_id: Id, backend: BackendDep) -> dict:
    """One delivery with the exact message (subject, text, HTML or webhook body)."""
    return _delivery(notify_admin.delivery(backend.uow, delivery_id), with_body=True)


@router.post("/deliveries/{delivery_id}/retry", tags=["notifications"], **role(Role.OPERATOR))
def retry_delivery(delivery_id: Id, backend: BackendDep) -> dict:
    """Give a dead delivery a fresh set of tries, due now."""
    return _delivery(notify_admin.retry_delivery(backend.uow, delivery_id, backend.clock()))


@router.get("/orders/{order_id}/timeline", tags=["orders"], **role(Role.VIEWER, customers=True))
def order_timeline(order_id: Id, request: Request, backend: BackendDep) -> list[dict]:
    """Every event of the order and every message sent about it, in time order."""
    check_customer_owns(request, queries.order(backend.uow, order_id).customer_id, "order_id")
    return serialize.plain(notify_admin.timeline(backend.uow, order_id))
