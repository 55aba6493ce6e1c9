"""The audit log (issue 6): who did what to which subject, when and why.

An action that is given an `Audit` writes its row itself, in its own transaction: a refused
action leaves no row, and no row is lost when the action commits. Only actions that changed
something are logged (cancelling twice logs one cancel).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ..domain.errors import InvalidInput
from .ports import Store, UnitOfWork

MAX_REASON = 500
MAX_LIMIT = 1000


@dataclass(frozen=True)
class Audit:
    """Who acts and why; the action adds what it did, to which subject, with its numbers."""

    actor: str
    reason: str

    def __post_init__(self) -> None:
        if len(self.reason) > MAX_REASON:
            raise InvalidInput("reason", f"at most {MAX_REASON} characters")


def write_audit(
    store: Store, audit: Audit | None, action: str, subject: str, detail: dict, now: datetime
) -> None:
    if audit is None:
        return
    store.insert_audit(
        {
            "actor": audit.actor,
            "action": action,
            "subject": subject,
            "reason": audit.reason,
            "detail": detail,
            "created_at": now,
        }
    )


def entries(
    uow: UnitOfWork, limit: int = 100, subject: str | None = None, before_id: int | None = None
) -> list[dict]:
    """The latest rows first (older than `before_id` when given); `subject` as written,
    e.g. "order 7" (its lines' rows too) or "sku MUG @ main"."""
    with uow.reader() as r:
        return r.store.audit_entries(min(limit, MAX_LIMIT), subject, before_id)


def stock_subject(sku: str, warehouse: str) -> str:
    return f"sku {sku} @ {warehouse}"


def why(reason_code: str, note: str | None) -> str:
    """An adjustment's reason for the audit log: its ledger code, then the operator's note."""
    words = " ".join(note.split()) if note else ""  # one line: the log lists one per action
    return f"{reason_code}: {words}" if words else reason_code
