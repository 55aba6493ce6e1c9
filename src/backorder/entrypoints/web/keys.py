"""The web app's keys, derived once per process from the shop's link-signing key."""

from __future__ import annotations

from fastapi import FastAPI, Request

from ...service.customer_links import PAGE_PURPOSE, SESSION_PURPOSE, derived_key


def key_for(api: FastAPI, purpose: bytes) -> bytes:
    """Cached: the signing key never changes while the process runs, and deriving it the
    first time may write it to the database."""
    cache = getattr(api.state, "web_keys", None)
    if cache is None:
        cache = api.state.web_keys = {}
    if purpose not in cache:
        backend = api.state.backend
        cache[purpose] = derived_key(backend.uow, purpose, backend.clock())
    return cache[purpose]


def customer_page_key(request: Request) -> bytes:
    return key_for(request.app.state.parent, PAGE_PURPOSE)


def session_key(api: FastAPI) -> bytes:
    return key_for(api, SESSION_PURPOSE)
