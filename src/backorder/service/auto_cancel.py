"""Auto-cancel: a line may wait for backordered units only so long.

The longest wait is the product's `max_wait_days`, else the shop's (BACKORDER_MAX_WAIT_DAYS;
unset: no limit), counted from the order, or from the release of a preorder. Once per line,
`auto_cancel_warning_days` before the cancel, the customer is warned (`auto_cancel_warning`
with `cancel_at`). No line is cancelled sooner than its warning said, so a limit set or
shortened later never cancels without notice. The cancel itself is orders.cancel_line with
reason "max_wait": the line's remaining units are cancelled, units it held go to the next
in line, and the customer hears it from the `line_cancelled` event.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from ..domain.errors import InvalidInput, NotFound
from . import orders
from .ports import UnitOfWork
from .runner import retried

MAX_DAYS = 3650


@retried
def set_max_wait(uow: UnitOfWork, sku: str, days: int | None, now: datetime) -> dict:
    """Set a product's longest wait in days; None: the shop-wide setting applies."""
    if days is not None and (not isinstance(days, int) or not 1 <= days <= MAX_DAYS):
        raise InvalidInput("max_wait_days", f"must be a whole number of days from 1 to {MAX_DAYS}")
    with uow:
        store = uow.store
        store.lock_skus([sku])
        if store.get_product(sku) is None:
            raise NotFound(f"unknown SKU {sku!r}", field="sku", sku=sku)
        store.set_max_wait_days(sku, days)
        uow.commit()
    return {"sku": sku, "max_wait_days": days}


def cancel_time(placed_at: datetime, release_at: datetime | None, days: int) -> datetime:
    """When a line's wait runs out: `days` after the order, or after a later release."""
    start = max(placed_at, release_at) if release_at is not None else placed_at
    return start + timedelta(days=days)


def next_step(
    cancel_at: datetime, warned_cancel_at: datetime | None, warning: timedelta, now: datetime
) -> tuple[str | None, datetime]:
    """("warn" | "cancel" | None, the cancel time the customer is or will be told)."""
    if not warning:  # no warnings wanted: cancel when the wait runs out
        return ("cancel" if now >= cancel_at else None), cancel_at
    if warned_cancel_at is None:
        if now < cancel_at - warning:
            return None, cancel_at
        return "warn", max(cancel_at, now + warning)  # a late warning still gives full notice
    effective = max(cancel_at, warned_cancel_at)
    return ("cancel" if now >= effective else None), effective


def run(uow: UnitOfWork, now: datetime) -> dict[str, int]:
    """Warn lines nearing their limit; cancel those past it (each its own transaction)."""
    warned, due = _warn_and_find_due(uow, now)
    for order_id, line_id in due:
        # The line may have been served since it was read: its wait ran out all the same, and
        # any units it now holds go to the next in line.
        orders.cancel_line(uow, order_id, line_id, now, reason="max_wait")
    return {"auto_cancel_warnings": warned, "auto_cancelled_lines": len(due)}


@retried
def _warn_and_find_due(uow: UnitOfWork, now: datetime) -> tuple[int, list[tuple[int, int]]]:
    with uow:
        store = uow.store
        policy = store.care_policy()
        warning = timedelta(days=policy.auto_cancel_warning_days)
        warnings, due = [], []
        for row in _lines_near_their_limit(store, policy.max_wait_days, warning, now):
            if row.release_at is not None and row.release_at > now:
                continue  # a preorder's wait starts at its release
            days = row.max_wait_days if row.max_wait_days is not None else policy.max_wait_days
            cancel_at = cancel_time(row.placed_at, row.release_at, days)
            step, told = next_step(cancel_at, row.warned_cancel_at, warning, now)
            if step == "warn":
                store.insert_auto_cancel_warning(row.line_id, told, now)
                warnings.append(_warning_event(row, told, now))
            elif step == "cancel":
                due.append((row.order_id, row.line_id))
        store.insert_events(warnings)
        uow.commit()
        return len(warnings), due


def _lines_near_their_limit(store, shop_days: int | None, warning: timedelta, now: datetime):
    """Waiting lines that have a limit and may be within a warning of it: none ordered after
    now - (the shortest limit - the warning), so the job reads few rows."""
    limits = [d for d in (shop_days, store.shortest_max_wait_days()) if d is not None]
    if not limits:
        return []
    horizon = now - timedelta(days=min(limits)) + warning
    return store.lines_with_max_wait(shop_wide=shop_days is not None, placed_before=horizon)


def _warning_event(row, cancel_at: datetime, now: datetime) -> dict:
    return {
        "kind": "auto_cancel_warning",
        "order_id": row.order_id,
        "sku": row.sku,
        "created_at": now,
        "payload": {
            "order_id": row.order_id,
            "line_id": row.line_id,
            "sku": row.sku,
            "customer_id": row.customer_id,
            "backordered": row.backordered,
            "cancel_at": cancel_at.isoformat(),
        },
    }
