"""What every page shares: the backend, the templates, the language, the logged-in user, the
CSRF check of forms, and the redirect and error responses."""

from __future__ import annotations

import hmac
import secrets
from functools import partial
from pathlib import Path
from urllib.parse import quote, urlsplit

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException

from ...bootstrap import App
from ...domain.roles import Role
from ...service import web_users
from ...service.web_users import WebUser
from . import i18n, words

UI, MY = "/ui", "/my"
HERE = Path(__file__).parent
MAX_UPLOAD = 50 * 1024 * 1024  # bytes of one import file

env = Environment(
    loader=FileSystemLoader(HERE / "templates"),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)


def N_(msgid: str) -> str:
    """Marks a message id translated later (by the template or `flash`): the catalog test
    finds it here."""
    return msgid


class LoginRequired(Exception):
    """Not logged in (or the session ended): the login page, then back here."""


class Refused(Exception):
    """Logged in, but the role does not allow this (403)."""


class CsrfRefused(Exception):
    """A form without the session's token: made elsewhere, or from an expired page (403)."""


class PageNotFound(Exception):
    """Unknown, or not yours: both look the same (404)."""


def backend_of(request: Request) -> App:
    return request.app.state.backend  # the API's, through InheritedState


def now_of(request: Request):
    return backend_of(request).clock()


# -- language ---------------------------------------------------------------------------------


def language(request: Request) -> str:
    chosen = request.cookies.get("lang")
    if chosen in i18n.LANGUAGES:
        return chosen
    preferred = getattr(request.state, "default_lang", None)  # a customer's own locale
    return preferred or i18n.best_language(request.headers.get("accept-language"))


def translator(request: Request):
    return partial(i18n.gettext, language(request))


# -- the user and the forms ---------------------------------------------------------------------


def current_user(request: Request) -> WebUser:
    """The logged-in, enabled user whose password has not changed since the login."""
    session = request.session
    user = web_users.get_user(backend_of(request).uow, session["uid"]) if "uid" in session else None
    if user is None or user.disabled or user.fingerprint != session.get("fp"):
        session.pop("uid", None)
        raise LoginRequired()
    request.state.user = user
    return user


def requires(role: Role):
    """A dependency: the current user, when their role allows `role`."""

    def dependency(request: Request) -> WebUser:
        user = current_user(request)
        if not user.may(role):
            raise Refused()
        return user

    return dependency


def csrf_token(request: Request) -> str:
    token = request.session.get("csrf")
    if not token:
        token = request.session["csrf"] = secrets.token_urlsafe(32)
    return token


async def checked_form(request: Request) -> FormData:
    """The posted form, when it carries this session's CSRF token."""
    length = request.headers.get("content-length")
    if length and length.isdigit() and int(length) > MAX_UPLOAD:
        raise HTTPException(413, N_("The file is too large: 50 MB at most."))
    form = await request.form(max_files=1, max_fields=200)
    sent, expected = str(form.get("csrf_token", "")), request.session.get("csrf", "")
    if not expected or not hmac.compare_digest(sent.encode(), expected.encode()):
        raise CsrfRefused()
    return form


def local_path(target: str | None, default: str = UI + "/") -> str:
    """Only paths of this site are followed after a login or a language switch."""
    if not target:
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target[1:2] in ("/", "\\"):
        return default
    return target


# -- responses ------------------------------------------------------------------------------------


def flash(request: Request, message: str, kind: str = "ok") -> None:
    """A message for the next page (after a redirect): done, or what went wrong."""
    request.session.setdefault("flash", []).append([kind, message])


def redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def login_redirect(request: Request) -> RedirectResponse:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return redirect(f"{UI}/login?next={quote(target)}")


def render(request: Request, template: str, status: int = 200, **context) -> HTMLResponse:
    lang = language(request)
    _, label = partial(i18n.gettext, lang), partial(i18n.label, lang)
    settings = backend_of(request).settings
    fmt = i18n.Formatter(lang, settings.shop_timezone)
    page = {
        "request": request,
        "_": _,
        "lang": lang,
        "label": label,
        "fmt": fmt,
        "languages": i18n.LANGUAGES,
        "csrf_token": csrf_token(request),
        "user": getattr(request.state, "user", None),
        "Role": Role,
        "UI": UI,
        "MY": MY,
        "flashes": request.session.pop("flash", []),
        "shop_name": settings.shop_name,
        "here": request.url.path + (f"?{request.url.query}" if request.url.query else ""),
        "key_words": lambda q: words.priority_words(q, _, fmt, label),
        "promise_words": lambda line, expected: words.promise_words(line, expected, _, fmt),
        "event_words": lambda kind, details: words.event_words(kind, details, _, label, fmt),
    }
    html = env.get_template(template).render(page | context)
    return HTMLResponse(html, status_code=status)
