"""Idempotency keys for requests: the same key and body get the first answer again.

A key is reserved before the request runs (so two concurrent requests with one key cannot
both run), completed with the response afterwards, and forgotten after 24 hours.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from .ports import UnitOfWork
from .runner import retried

KEEP_FOR = timedelta(hours=24)
STALE_AFTER = timedelta(minutes=2)  # longer than any request may run
PREFIX = "http:"


@dataclass(frozen=True)
class Decision:
    """What to do with a request: run it, replay a stored answer, or refuse it."""

    action: str  # "run", "replay", "mismatch", "in_progress"
    status: int = 0
    body: str = ""


@retried
def reserve(uow: UnitOfWork, key: str, fingerprint: str, now: datetime) -> Decision:
    with uow:
        store = uow.store
        found = store.get_command(PREFIX + key)
        if found is not None:
            stored, created_at = found
            if now - created_at < KEEP_FOR and not _abandoned(stored, created_at, now):
                return _decide(stored, fingerprint)
            store.delete_command(PREFIX + key)
        # A concurrent request with the same key makes this insert fail; @retried then
        # runs again and finds that request's reservation.
        store.put_command_result(PREFIX + key, "http", {"fingerprint": fingerprint}, now)
        uow.commit()
        return Decision("run")


def _abandoned(stored: dict, reserved_at: datetime, now: datetime) -> bool:
    """A reservation never completed within STALE_AFTER belongs to a process that died (its
    request's own work is idempotent or was rolled back), so a retry may take it over."""
    return "status" not in stored and now - reserved_at >= STALE_AFTER


def _decide(stored: dict, fingerprint: str) -> Decision:
    if stored["fingerprint"] != fingerprint:
        return Decision("mismatch")
    if "status" not in stored:
        return Decision("in_progress")
    return Decision("replay", stored["status"], stored["body"])


@retried
def complete(uow: UnitOfWork, key: str, fingerprint: str, status: int, body: str) -> None:
    """Keep the answer; a server error is not kept, so the client may try again."""
    with uow:
        if status >= 500:
            uow.store.delete_command(PREFIX + key)
        else:
            uow.store.replace_command_result(
                PREFIX + key, {"fingerprint": fingerprint, "status": status, "body": body}
            )
        uow.commit()
