"""Payments over HTTP (issue 4): an order's payment history, the operator's actions, the
gateway's signed callbacks; and the intents run after every command that committed."""

from __future__ import annotations

import asyncio
import logging
from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, Path, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ...bootstrap import App
from ...domain.roles import Role
from ...service import payment_commands as commands
from ...service import payment_executor as executor
from ...service import payment_records as records
from ...service import queries
from ...service.payment_views import PaymentIn, PreAuthorization
from ...service.ports import InvalidCallback
from .. import serialize
from .auth import audit_of, check_customer_owns, public, role
from .deps import BackendDep
from .schemas import ERRORS, ErrorOut
from .schemas_payments import CaptureIn, MarkPaidIn, PaymentDetailsIn, RefundIn, RetryIn

log = logging.getLogger("backorder.payments")
router = APIRouter(tags=["payments"], responses=ERRORS)
Id = Annotated[int, Path(gt=0, le=2**31 - 1)]
GatewayName = Annotated[str, Path(min_length=1, max_length=50, pattern=r"^[A-Za-z0-9_.-]+$")]
WEBHOOKS = "/payments/webhooks/"


def install(api: FastAPI) -> None:
    """The routes, and the runner of intents after each command that committed."""
    api.include_router(router)
    api.add_middleware(RunPaymentsAfterCommands)


def payment_in(backend: App, details: PaymentDetailsIn | None) -> PaymentIn | None:
    """An order's payment details, completed from the shop's settings."""
    if details is None:
        return None
    pre = details.authorization
    authorization = (
        PreAuthorization(pre.reference, pre.amount_minor, pre.expires_at) if pre else None
    )
    return commands.resolve_payment(
        backend.payment_settings,
        backend.gateways,
        gateway=details.gateway,
        method=details.method,
        policy=details.policy,
        deposit_percent=details.deposit_percent,
        authorization=authorization,
    )


# -- history and operator actions -------------------------------------------------------------


@router.get("/orders/{order_id}/payments", **role(Role.VIEWER, customers=True))
def payment_history(order_id: Id, request: Request, backend: BackendDep) -> dict:
    """Authorized, captured, voided and refunded amounts, each authorization, every operation
    the gateway confirmed, and every intent with its state."""
    check_customer_owns(request, queries.order(backend.uow, order_id).customer_id, "order_id")
    return serialize.plain(commands.payment_history(backend.uow, order_id, backend.clock()))


@router.post("/orders/{order_id}/payments", status_code=201, **role(Role.INTEGRATION))
def attach_payment(order_id: Id, body: PaymentDetailsIn, backend: BackendDep) -> dict:
    """Give an order placed without payment details its payment (authorized after commit)."""
    payment = payment_in(backend, body)
    view = commands.attach_payment(backend.uow, order_id, payment, backend.clock())
    return serialize.plain(view)


@router.post("/orders/{order_id}/payments/capture", **role(Role.OPERATOR))
def capture_now(
    order_id: Id, request: Request, backend: BackendDep, body: CaptureIn | None = None
) -> dict:
    """Charge shipped or allocated units now: all of them, or `lines` {line id: units};
    logged in the audit log with the amount."""
    body = body or CaptureIn()
    audit = audit_of(request, body.reason)
    view = commands.capture_now(backend.uow, order_id, backend.clock(), body.lines, audit)
    return serialize.plain(view)


@router.post("/orders/{order_id}/payments/void", **role(Role.OPERATOR))
def void(order_id: Id, backend: BackendDep) -> dict:
    """Release what the customer's card still holds for this order."""
    return serialize.plain(commands.void_authorizations(backend.uow, order_id, backend.clock()))


@router.post("/orders/{order_id}/payments/refund", **role(Role.OPERATOR))
def refund(order_id: Id, body: RefundIn, backend: BackendDep) -> dict:
    """Refund a line's paid units: unshipped ones are released, shipped ones are returns."""
    view = commands.refund_line(
        backend.uow, order_id, body.line_id, backend.clock(), body.units, body.restock
    )
    return serialize.plain(view)


@router.post("/orders/{order_id}/payments/retry", **role(Role.OPERATOR, customers=True))
def retry(order_id: Id, request: Request, backend: BackendDep, body: RetryIn | None = None) -> dict:
    """Authorize again what is still owed, with the same or another payment method."""
    check_customer_owns(request, queries.order(backend.uow, order_id).customer_id, "order_id")
    method = body.method if body else None
    return serialize.plain(commands.retry_payment(backend.uow, order_id, backend.clock(), method))


@router.post("/orders/{order_id}/payments/mark-paid", **role(Role.OPERATOR))
def mark_paid(
    order_id: Id, request: Request, backend: BackendDep, body: MarkPaidIn | None = None
) -> dict:
    """The money arrived outside the system (the manual gateway): waiting captures are done;
    logged in the audit log with the amount."""
    now, audit = backend.clock(), audit_of(request, (body or MarkPaidIn()).reason)
    done = records.mark_paid(backend.uow, order_id, now, backend.payment_settings, audit)
    view = commands.payment_history(backend.uow, order_id, now)
    return {"confirmed": done} | serialize.plain(view)


@router.post("/payments/run", **role(Role.OPERATOR))
def run_now(backend: BackendDep) -> dict:
    """Renew lapsing authorizations, end grace periods, and execute every due intent."""
    return run_payments(backend)


# -- the gateway's callbacks -----------------------------------------------------------------


@router.post(WEBHOOKS + "{gateway}", responses={401: {"model": ErrorOut}}, **public())
async def callback(gateway: GatewayName, request: Request) -> Any:
    """A gateway's signed callback: recorded once, however often it comes."""
    backend: App = request.app.state.backend
    found = backend.gateways.get(gateway)
    if found is None:
        return JSONResponse(
            {"code": "not_found", "message": "unknown gateway", "details": {"field": "gateway"}},
            status_code=404,
        )
    body, now = await request.body(), backend.clock()
    try:
        event = found.parse_callback(body, request.headers, now)
    except InvalidCallback as error:
        return JSONResponse(
            {"code": "invalid_signature", "message": str(error), "details": {"reason": str(error)}},
            status_code=401,
        )
    return await run_in_threadpool(
        records.record_callback, backend.uow, gateway, event, now, backend.payment_settings
    )


# -- running intents ---------------------------------------------------------------------------


def run_payments(backend: App) -> dict:
    """One round: the sweep (renewals, grace periods), then every due intent."""
    return executor.run_payments(
        backend.uow, backend.gateways, backend.clock(), backend.payment_settings
    )


async def payments_forever(backend: App) -> None:
    """Inside `serve`: intents left by a crash or a slow gateway, renewals, grace periods."""
    while True:
        try:
            done = await run_in_threadpool(run_payments, backend)
            if any(done["sweep"].values()) or done["intents"]:
                log.info("payments: %s", done)
        except Exception:  # keep the loop alive; the next round tries again
            log.exception("payment round failed")
        await asyncio.sleep(backend.settings.payment_loop_seconds)


class RunPaymentsAfterCommands:
    """After a command answered 2xx, run the intents it wrote (the client already has its
    answer: a real server has sent it; the test client waits, which keeps tests exact).
    Callbacks are left to the loop: a gateway wants its answer fast."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        status: dict[str, int] = {}

        async def watch(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        await self.app(scope, receive, watch)
        backend = scope["app"].state.backend
        if status.get("code", 500) < 300 and backend.gateways and _is_command(scope["path"]):
            try:
                await run_in_threadpool(
                    executor.run_payment_intents,
                    backend.uow,
                    backend.gateways,
                    backend.clock(),
                    backend.payment_settings,
                )
            except Exception:  # the loop tries again; the command itself succeeded
                log.exception("payment intents after a command failed")


def _is_command(path: str) -> bool:
    return not path.startswith(WEBHOOKS) and path != "/payments/run"
