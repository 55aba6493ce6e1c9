"""The web app: operator pages under /ui (login required) and the customer's own pages under
/my (a signed link). Two small sub-applications mounted on the API, each with the signed
session, security headers and HTML error pages; the API itself is left as it was."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.staticfiles import StaticFiles
from starlette.datastructures import State
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ...domain.errors import DomainError
from ..errors import http_status
from . import pages_auth, pages_customer, pages_imports, pages_ops, pages_reports, pages_stock
from .core import (
    HERE,
    MY,
    N_,
    UI,
    CsrfRefused,
    LoginRequired,
    PageNotFound,
    Refused,
    login_redirect,
    render,
)
from .keys import session_key
from .session import SignedCookieSession

CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self' data:; script-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)


def mount_web(api: FastAPI) -> None:
    operator_routers = [
        pages_auth.router,
        pages_auth.language_router,
        pages_ops.router,
        pages_stock.router,
        pages_imports.router,
        pages_reports.router,
    ]
    api.mount(UI, _site(api, operator_routers, static=True))
    api.mount(MY, _site(api, [pages_auth.language_router, pages_customer.router]))


class InheritedState(State):
    """A mounted app's state that falls back to the API's: the backend is the API's (set
    when it starts), and middleware of the API that reads `scope["app"].state.backend` after
    the request went through a page (the mount replaced `scope["app"]`) still finds it."""

    def __init__(self, parent: FastAPI) -> None:
        super().__init__({"parent": parent})

    def __getattr__(self, key):
        try:
            return super().__getattr__(key)
        except AttributeError:
            return getattr(self._state["parent"].state, key)


def _site(api: FastAPI, routers: list, static: bool = False) -> FastAPI:
    site = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
    site.state = InheritedState(api)
    for router in routers:
        site.include_router(router)
    if static:
        site.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    site.add_middleware(SecurityHeaders)
    site.add_middleware(
        SignedCookieSession,
        key=lambda scope: session_key(api),
        https=lambda scope: _is_https(api, scope),
    )
    _add_error_pages(site)
    return site


def _is_https(api: FastAPI, scope: Scope) -> bool:
    public = api.state.backend.settings.public_url
    return scope.get("scheme") == "https" or public.startswith("https://")


class SecurityHeaders:
    """No framing, no foreign scripts or styles, no referrer (customer links carry a token),
    and pages are not cached (they show private data)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        static = "/static/" in scope.get("path", "")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = message.setdefault("headers", [])
                headers += [
                    (b"content-security-policy", CSP.encode()),
                    (b"x-content-type-options", b"nosniff"),
                    (b"x-frame-options", b"DENY"),
                    (b"referrer-policy", b"no-referrer"),
                ]
                if not static:
                    headers.append((b"cache-control", b"no-store"))
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _add_error_pages(site: FastAPI) -> None:
    async def login_needed(request: Request, _error: Exception):
        return login_redirect(request)

    async def refused(request: Request, _error: Exception):
        return render(
            request,
            "error.html",
            403,
            title=N_("Not allowed"),
            message=N_("Your role does not allow this."),
        )

    async def csrf(request: Request, _error: Exception):
        return render(
            request,
            "error.html",
            403,
            title=N_("Form expired"),
            message=N_(
                "This form was not sent from this page, or the page is too old. "
                "Go back, reload the page and try again."
            ),
        )

    async def not_found(request: Request, _error: Exception):
        return render(
            request,
            "error.html",
            404,
            title=N_("Not found"),
            message=N_("There is nothing at this address."),
        )

    async def http_error(request: Request, error: StarletteHTTPException):
        if error.status_code == 404:
            return await not_found(request, error)
        return render(
            request, "error.html", error.status_code, title=N_("Error"), message=str(error.detail)
        )

    async def bad_request(request: Request, _error: Exception):
        return render(
            request,
            "error.html",
            400,
            title=N_("Error"),
            message=N_("The address has a value this page cannot use."),
        )

    async def domain_error(request: Request, error: DomainError):
        if error.code == "not_found":
            return await not_found(request, error)
        return render(
            request, "error.html", http_status(error.code), title=N_("Error"), message=error.message
        )

    for error_type, handler in (
        (LoginRequired, login_needed),
        (Refused, refused),
        (CsrfRefused, csrf),
        (PageNotFound, not_found),
        (StarletteHTTPException, http_error),
        (RequestValidationError, bad_request),
        (DomainError, domain_error),
    ):
        site.add_exception_handler(error_type, handler)
