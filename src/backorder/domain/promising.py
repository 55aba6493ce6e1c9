"""Available-to-promise: when will each waiting line be covered? Pure.

Waiting lines are walked in priority-key order against supply in time order: free stock
first (today, or the release date of a preorder), then open purchase-order lines by expected
date. A line is promised the date on which cumulative supply first covers its cumulative
demand. Lines no known supply covers get an estimate from the lead time, never earlier
than the line before them, so promised dates are monotone along the queue.

A lead-time estimate stands once given (`lead_time_estimate`): today + lead time is a day
later every day, and re-dating on it would tell every customer on an estimate, every day,
that their date slipped.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum
from typing import NamedTuple

from .allocation import WaitingLine, priority_key

# How far a standing lead-time estimate may fall behind today + lead time before it moves.
ESTIMATE_SLACK = timedelta(days=7)


class PromiseBasis(StrEnum):
    STOCK = "stock"  # free stock, e.g. of a preorder waiting for its release date
    PURCHASE_ORDER = "purchase_order"  # an open PO line's expected date
    LEAD_TIME = "lead_time"  # no supply known: estimated from the lead time
    NONE = "none"  # no supply and no lead time: no date yet


@dataclass(frozen=True)
class IncomingSupply:
    """Units expected on a date (shop-local): an open PO line's remaining quantity."""

    expected: date
    qty: int
    po_line_id: int | None = None


class Promise(NamedTuple):  # a tuple: a full recompute makes one per waiting line
    line_id: int
    promised: date | None
    basis: PromiseBasis
    po_line_id: int | None = None


def plan_promises(
    waiting: Sequence[WaitingLine],
    free_now: int,
    free_date: date,
    incoming: Sequence[IncomingSupply],
    lead_time_date: date | None,
) -> list[Promise]:
    """One promise per waiting line, in queue order."""
    queue = ((line.line_id, line.backordered) for line in sorted(waiting, key=priority_key))
    return promise_queue(queue, free_now, free_date, incoming, lead_time_date)


def promise_queue(
    queue: Iterable[tuple[int, int]],
    free_now: int,
    free_date: date,
    incoming: Sequence[IncomingSupply],
    lead_time_date: date | None,
) -> list[Promise]:
    """`plan_promises` over (line id, units owed) already in priority-key order."""
    supply = _supply_in_time_order(free_now, free_date, incoming)
    promises: list[Promise] = []
    demand = covered = 0
    cursor = 0
    last: IncomingSupply | None = None
    for line_id, backordered in queue:
        demand += backordered
        while covered < demand and cursor < len(supply):
            last = supply[cursor]
            covered += last.qty
            cursor += 1
        if covered >= demand and last is not None:
            basis = PromiseBasis.STOCK if last.po_line_id is None else PromiseBasis.PURCHASE_ORDER
            promises.append(Promise(line_id, last.expected, basis, last.po_line_id))
        else:  # it needs every known unit and more: not before the last of them arrives
            promises.append(_estimate(line_id, lead_time_date, last.expected if last else None))
    return promises


def _supply_in_time_order(
    free_now: int, free_date: date, incoming: Sequence[IncomingSupply]
) -> list[IncomingSupply]:
    supply = [IncomingSupply(free_date, free_now)] if free_now > 0 else []
    ordered = sorted(
        (s for s in incoming if s.qty > 0), key=lambda s: (s.expected, s.po_line_id or 0)
    )
    return supply + ordered


def _estimate(line_id: int, lead_time_date: date | None, not_before: date | None) -> Promise:
    if lead_time_date is None:
        return Promise(line_id, None, PromiseBasis.NONE)
    if not_before is not None and not_before > lead_time_date:
        lead_time_date = not_before
    return Promise(line_id, lead_time_date, PromiseBasis.LEAD_TIME)


def lead_time_estimate(fresh: date | None, standing: date | None, today: date) -> date | None:
    """The lead-time date to promise: `fresh` (today + lead time), or the SKU's `standing`
    estimate while it still holds: not passed, and at most ESTIMATE_SLACK earlier than the
    fresh one. So an estimate moves when it has passed, fallen a week behind or the lead time
    changed, not each day; a shorter lead time moves it earlier at once."""
    if fresh is None or standing is None:
        return fresh
    if today <= standing <= fresh and fresh - standing <= ESTIMATE_SLACK:
        return standing
    return fresh


def standing_estimate(stored: Iterable[tuple[date | None, str | None]]) -> date | None:
    """A SKU's standing lead-time estimate from its lines' stored (date, basis): the
    earliest lead-time date (later ones were held back behind a purchase order's date)."""
    dates = [day for day, basis in stored if basis == PromiseBasis.LEAD_TIME and day]
    return min(dates, default=None)
