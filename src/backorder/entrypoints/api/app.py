"""The HTTP API over the same service functions the CLI uses. OpenAPI at /docs."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from ...bootstrap import App, build
from ...domain.errors import DomainError
from ...service import stock as stock_service
from ..errors import http_status
from . import (
    routes,
    routes_customer_care,
    routes_notify,
    routes_payments,
    routes_risk,
    routes_supply,
)
from .idempotency import IdempotencyMiddleware
from .routes_reports import router as reports_router

log = logging.getLogger("backorder")


def create_app(backend: App | None = None, *, release_loop: bool = True) -> FastAPI:
    """Build the API; `backend` defaults to one built from the environment's settings."""

    @contextlib.asynccontextmanager
    async def lifespan(api: FastAPI) -> AsyncIterator[None]:
        api.state.backend = backend or build()
        task = (
            asyncio.create_task(_release_preorders_forever(api.state.backend))
            if release_loop
            else None
        )
        jobs = (
            asyncio.create_task(_run_due_jobs_forever(api.state.backend)) if release_loop else None
        )
        money = None
        if release_loop and api.state.backend.gateways:  # issue 4: intents, renewals, grace
            money = asyncio.create_task(routes_payments.payments_forever(api.state.backend))
        yield
        if money:
            money.cancel()
        if jobs:
            jobs.cancel()
        if task:
            task.cancel()
        if backend is None:
            api.state.backend.close()

    api = FastAPI(
        title="backorder",
        version="0.1.0",
        description="Exact stock, a fair backorder queue, honest promises.",
        lifespan=lifespan,
    )
    if backend is not None:
        api.state.backend = backend
    api.add_middleware(IdempotencyMiddleware)
    api.add_exception_handler(DomainError, _domain_error)
    api.add_exception_handler(RequestValidationError, _validation_error)
    api.add_exception_handler(StarletteHTTPException, _unreadable_body)
    api.include_router(routes.router)
    api.include_router(routes_supply.router)
    api.include_router(routes_risk.router)
    api.include_router(routes_notify.router)
    api.include_router(routes_customer_care.router)
    api.include_router(reports_router)  # issue 5: reports as JSON
    routes_payments.install(api)  # issue 4: payment routes, intents run after each command
    _mount_web(api)  # issue 5: operator pages under /ui, customer pages under /my (last)
    return api


def _mount_web(api: FastAPI) -> None:
    from ..web import mount_web

    mount_web(api)


async def _release_preorders_forever(backend: App) -> None:
    """The automatic check: serve preorder queues once their release time has passed."""
    while True:
        try:
            served = await run_in_threadpool(
                stock_service.release_preorders, backend.uow, backend.clock()
            )
            if served:
                log.info("released preorders: %s", served)
        except Exception:  # keep the loop alive; the next round tries again
            log.exception("preorder release failed")
        await asyncio.sleep(backend.settings.release_check_seconds)


async def _run_due_jobs_forever(backend: App) -> None:
    """Customer care (issue 8): expire holds, auto-cancel, consent deadlines, and so on."""
    from ...service.jobs import run_due_jobs

    while True:
        try:
            done = await run_in_threadpool(run_due_jobs, backend.uow, backend.clock())
            if any(done.values()):
                log.info("due jobs: %s", done)
        except Exception:  # keep the loop alive; the next round tries again
            log.exception("due jobs failed")
        await asyncio.sleep(backend.settings.jobs_check_seconds)


async def _domain_error(_request: Request, error: DomainError) -> JSONResponse:
    return JSONResponse(error.to_dict(), status_code=http_status(error.code))


async def _unreadable_body(request: Request, error: StarletteHTTPException) -> JSONResponse:
    """FastAPI answers 400 {"detail"} to a body it cannot read (not UTF-8): that is invalid
    input like any other, so 422 in our error shape. Other HTTP errors are left as they are."""
    if error.status_code != 400:
        return await http_exception_handler(request, error)
    reason = str(error.detail)
    body = {
        "code": "invalid_input",
        "message": f"body: {reason}",
        "details": {"field": "body", "reason": reason},
    }
    return JSONResponse(body, status_code=422)


async def _validation_error(_request: Request, error: RequestValidationError) -> JSONResponse:
    problems = [_problem(e) for e in error.errors()]
    first = problems[0] if problems else {"field": "", "reason": "invalid request"}
    body = {
        "code": "invalid_input",
        "message": f"{first['field']}: {first['reason']}",
        "details": {"field": first["field"], "reason": first["reason"], "errors": problems},
    }
    return JSONResponse(body, status_code=422)


def _problem(error: dict) -> dict:
    """One validation error as {field, reason}; a body that is no JSON at all is the body's
    fault, not that of a field named after the character position where parsing stopped."""
    if error.get("type") == "json_invalid":
        where = error["loc"][-1] if len(error["loc"]) > 1 else 0
        detail = (error.get("ctx") or {}).get("error", "")
        return {"field": "body", "reason": f"not valid JSON ({detail} at character {where})"}
    return {"field": ".".join(str(p) for p in error["loc"] if p != "body"), "reason": error["msg"]}
