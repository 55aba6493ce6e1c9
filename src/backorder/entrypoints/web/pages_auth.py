"""Logging in and out, and the language switch (both sides of the site)."""

from __future__ import annotations

import secrets

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from starlette.datastructures import FormData

from ...service import web_users
from . import i18n
from .core import N_, UI, backend_of, checked_form, local_path, redirect, render

router = APIRouter()
language_router = APIRouter()


@router.get("/login")
def login_page(request: Request, next: str = ""):
    return render(request, "login.html", next=local_path(next), error=None, name="")


@router.post("/login")
async def login(request: Request, form: FormData = Depends(checked_form)):
    name, password = str(form.get("name", "")).strip(), str(form.get("password", ""))
    target = local_path(str(form.get("next", "")))
    user = await run_in_threadpool(web_users.authenticate, backend_of(request).uow, name, password)
    if user is None:  # one message for both: it must not tell which names exist
        return render(
            request,
            "login.html",
            status=401,
            next=target,
            name=name,
            error=N_("Wrong name or password."),
        )
    request.session.clear()  # a new session at login: nothing carried over from before
    request.session.update(uid=user.id, fp=user.fingerprint, csrf=secrets.token_urlsafe(32))
    return redirect(target)


@router.post("/logout")
async def logout(request: Request, form: FormData = Depends(checked_form)):
    request.session.clear()
    return redirect(f"{UI}/login")


@language_router.get("/lang/{code}")
def switch_language(code: str, next: str = ""):
    """Remember the reader's language in a cookie (a year) and go back to the page."""
    response = redirect(local_path(next, "/"))
    if code in i18n.LANGUAGES:
        response.set_cookie(
            "lang", code, max_age=365 * 86400, httponly=True, samesite="lax", path="/"
        )
    return response
