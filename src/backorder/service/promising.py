"""Keep every waiting line's promised date true, inside the transaction that changed it.

Called with the SKU's lock held, after anything that feeds the promise changed: an order,
a cancel, an edit, a receipt, a purchase order created, sent, moved or cancelled.
A date that moves later emits `promise_delayed`; earlier, `promise_improved`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from ..domain.intake import SkuPosition, available_now
from ..domain.model import Product
from ..domain.promising import (
    IncomingSupply,
    Promise,
    PromiseBasis,
    lead_time_estimate,
    plan_promises,
    promise_queue,
    standing_estimate,
)
from .consent import ask_on_delays


def local_date(moment: datetime, timezone: str) -> date:
    """The shop-local calendar date of an instant (invariant 9)."""
    return moment.astimezone(ZoneInfo(timezone)).date()


def repromise(store, sku: str, now: datetime, timezone: str) -> list[dict]:
    """Recompute one SKU's promises; write the changed ones; return the events emitted."""
    product = store.get_product(sku)
    if product is None:
        return []
    waiting = store.waiting_lines(sku)
    if not waiting:
        return []
    current = store.line_promises(sku)
    promises = promises_for(store, product, waiting, now, timezone, current)
    events = _apply(store, sku, promises, current, now)
    events += ask_on_delays(store, events, now)  # issue 8: a slip asks the customer's consent
    store.insert_events(events)
    return events


def repromise_all(store, skus: Iterable[str], now: datetime, timezone: str) -> list[dict]:
    events = []
    for sku in sorted(set(skus)):
        events += repromise(store, sku, now, timezone)
    return events


def recompute_all(uow, now: datetime) -> dict[str, int]:
    """Recompute every waiting line's promise in one transaction, reading each table once
    (after a bulk import, or to repair). Emits the same events as `repromise`."""
    with uow:
        store = uow.store
        waiting = store.all_waiting()
        store.lock_skus(waiting)
        changed, events = _repromise_queues(store, waiting, None, now, uow.shop_timezone)
        uow.commit()
    lines = sum(len(queue) for queue in waiting.values())
    return {"skus": len(waiting), "lines": lines, "changed": changed, "events": len(events)}


def repromise_queues(store, waiting: dict, now: datetime, timezone: str) -> list[dict]:
    """`repromise` for many SKUs at once (a delivery, after handing out its units), over
    queues the caller has read: `waiting` maps each SKU to its waiting lines in queue order.
    Each other table is read once for all of them; the caller holds the SKUs' locks."""
    return _repromise_queues(store, waiting, sorted(waiting), now, timezone)[1]


def _repromise_queues(store, waiting: dict, skus, now: datetime, timezone: str):
    """Promise every queue in `waiting` (read for `skus`, None: all); write what changed and
    the events. Returns (lines changed, events)."""
    facts = store.waiting_sku_facts(skus)
    free, supply = store.free_stock_by_sku(skus), store.all_open_supply(skus)
    today = local_date(now, timezone)
    rows, events = [], []
    for sku in sorted(waiting):
        queue = waiting[sku]
        free_units, free_date, lead_date = _bulk_inputs(
            facts[sku], free.get(sku, 0), today, now, timezone
        )
        standing = standing_estimate((q.promised_date, q.basis) for q in queue)
        lead_date = lead_time_estimate(lead_date, standing, today)
        promises = promise_queue(
            ((q.line_id, q.backordered) for q in queue),
            free_units,
            free_date,
            not_before(supply.get(sku, []), today),
            lead_date,
        )
        for promise, line in zip(promises, queue, strict=True):
            change = _change(promise, line)
            if change is not None:
                rows.append(change)
                if _worth_telling(line, promise):
                    events.append(_promise_event(sku, line, promise, now))
    store.set_promises_bulk(rows)
    events += ask_on_delays(store, events, now)
    store.insert_events(events)
    return len(rows), events


def _bulk_inputs(facts, free: int, today: date, now: datetime, timezone: str):
    """(free units, the date they are free, the lead-time date) for one SKU, as
    `promises_for` finds them."""
    release_at = _utc(facts.release_at)
    free_date = today
    if release_at is not None and now < release_at:  # a preorder: free on its release date
        free_date = local_date(release_at, timezone)
    lead_days = facts.lead_time_days
    lead_date = today + timedelta(days=lead_days) if lead_days is not None else None
    return free, free_date, lead_date


def _utc(value) -> datetime | None:
    """A stored UTC time as the driver gives it (SQLite: text; PostgreSQL: naive)."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC)


def _change(promise: Promise, stored) -> tuple | None:
    """The row to write when the promise differs from the stored one:
    (promised, basis, po line, 1 if a date moved else 0, line id)."""
    basis = promise.basis.value
    if (stored.promised_date, stored.basis, stored.po_line_id) == (
        promise.promised,
        basis,
        promise.po_line_id,
    ):
        return None
    moved = stored.promised_date is not None and stored.promised_date != promise.promised
    return (promise.promised, basis, promise.po_line_id, int(moved), promise.line_id)


def _worth_telling(stored, promise: Promise) -> bool:
    """A promised date moved, or a line its customer was told has no date yet got one. (A
    new line's first promise is in its backorder notice: no event of its own.)"""
    if stored.promised_date is None:
        return stored.basis == PromiseBasis.NONE.value and promise.promised is not None
    return stored.promised_date != promise.promised


def promises_for(
    store,
    product: Product,
    waiting,
    now: datetime,
    timezone: str,
    current: dict | None = None,
    taken: int = 0,
) -> list[Promise]:
    """`current`: the SKU's stored promises by line, when the caller has read them; `taken`:
    free units the caller hands out first (a quote's ship-now part), not free for `waiting`."""
    today = local_date(now, timezone)
    position = SkuPosition(product, store.stock_levels(product.sku), 0)
    if product.is_preorder(now):  # its stock is free on the release date, not today
        free = sum(max(0, s.available) for s in position.stock)
        free_date = local_date(product.release_at, timezone)
    else:
        free, free_date = available_now(position, now), today
    free = max(0, free - taken)
    lead_days = store.lead_time_days(product.sku)
    lead_date = today + timedelta(days=lead_days) if lead_days is not None else None
    if lead_date is not None:
        stored = (current if current is not None else store.line_promises(product.sku)).values()
        standing = standing_estimate((p.promised_date, p.basis) for p in stored)
        lead_date = lead_time_estimate(lead_date, standing, today)
    incoming = not_before(store.open_supply(product.sku), today)
    return plan_promises(waiting, free, free_date, incoming, lead_date)


def not_before(incoming: list[IncomingSupply], today: date) -> list[IncomingSupply]:
    """An overdue PO line is expected any day now, not in the past: no promise is dated
    before today."""
    return [s if s.expected >= today else replace(s, expected=today) for s in incoming]


def _apply(store, sku: str, promises: list[Promise], current: dict, now: datetime) -> list[dict]:
    rows, events = _changes(sku, promises, current, now)
    store.set_promises_bulk(rows)
    return events


def _changes(sku: str, promises: list[Promise], current: dict, now: datetime):
    """The rows to write and the events to emit for promises that differ from the stored ones."""
    rows, events = [], []
    for promise in promises:
        old = current.get(promise.line_id)
        if old is None:
            continue
        change = _change(promise, old)
        if change is None:
            continue
        rows.append(change)
        if _worth_telling(old, promise):
            events.append(_promise_event(sku, old, promise, now))
    return rows, events


def _promise_event(sku: str, old, promise: Promise, now: datetime) -> dict:
    if old.promised_date is None:  # a first date: better than none
        later = False
    else:
        later = promise.promised is None or promise.promised > old.promised_date
    return {
        "kind": "promise_delayed" if later else "promise_improved",
        "order_id": old.order_id,
        "sku": sku,
        "created_at": now,
        "payload": {
            "order_id": old.order_id,
            "line_id": old.line_id,
            "sku": sku,
            "previous_date": old.promised_date,
            "promised_date": promise.promised,
            "first_promised_date": old.first_promised_date,
            "basis": promise.basis.value,
            "po_line_id": promise.po_line_id,
        },
    }


def start_of_local_day(day: date, timezone: str) -> datetime:
    """The UTC instant a shop-local date begins: a date-only release never shifts by a day."""
    from datetime import time

    return datetime.combine(day, time(0), ZoneInfo(timezone)).astimezone(UTC)
