"""Every endpoint declares the role it needs: `@router.get(..., **role(Role.VIEWER))`.

The role is also written into the OpenAPI document (`x-required-role`), so a test can walk
every endpoint and check that anonymous callers and lower roles are refused.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Header, Request
from fastapi.concurrency import run_in_threadpool

from ...domain.errors import Forbidden, NotFound, Unauthenticated
from ...domain.roles import Role, allows
from ...service.audit import Audit
from ...service.auth import Principal, authenticate

ROLE_KEY = "x-required-role"
CUSTOMERS_KEY = "x-customer-keys"
_UNCHECKED = Principal(None, "authentication disabled", Role.ADMIN)


def require(needed: Role, *, customers: bool = False):
    async def dependency(
        request: Request,
        authorization: Annotated[str | None, Header(include_in_schema=False)] = None,
    ) -> Principal:
        backend = request.app.state.backend
        principal = _UNCHECKED
        if backend.settings.api_auth:
            principal = await _principal(backend, authorization)
            if not allows(principal.role, needed, customers=customers):
                raise Forbidden(
                    f"this needs the {needed.value} role; the key is {principal.role.value}",
                    needed=needed.value,
                    held=principal.role.value,
                )
        request.state.principal = principal
        return principal

    return dependency


async def _principal(backend, authorization: str | None) -> Principal:
    scheme, _, key = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not key:
        raise Unauthenticated("send an API key: Authorization: Bearer <key>", field="Authorization")
    principal = await run_in_threadpool(authenticate, backend.uow, key.strip())
    if principal is None:
        raise Unauthenticated("unknown or revoked API key", field="Authorization")
    return principal


def role(needed: Role, *, customers: bool = False) -> dict[str, Any]:
    """Keyword arguments for a route decorator declaring the role it needs."""
    return {
        "dependencies": [Depends(require(needed, customers=customers))],
        "openapi_extra": {ROLE_KEY: needed.value, CUSTOMERS_KEY: customers},
    }


def principal_of(request: Request) -> Principal:
    return getattr(request.state, "principal", _UNCHECKED)


def actor_of(request: Request) -> str:
    """Who the audit log names: the key's name and id, or that no key was asked for."""
    principal = principal_of(request)
    if principal.key_id is None:
        return "api (auth off)"
    return f"api:{principal.name} (key {principal.key_id})"


def audit_of(request: Request, reason: str) -> Audit | None:
    """Staff actions are audited; a customer acting on their own order is not an operator."""
    if principal_of(request).role is Role.CUSTOMER:
        return None
    return Audit(actor_of(request), reason)


def check_customer_owns(request: Request, customer_id: int, what: str) -> None:
    """A customer key sees only its own orders; another's looks like it does not exist."""
    principal = principal_of(request)
    if principal.role is Role.CUSTOMER and principal.customer_id != customer_id:
        raise NotFound(f"unknown {what}", field=what)


def public() -> dict[str, Any]:
    """An endpoint anyone may call (health checks)."""
    return {"openapi_extra": {ROLE_KEY: "public", CUSTOMERS_KEY: False}}
