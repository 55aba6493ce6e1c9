"""Quote before ordering: what would ship now, what would wait, and until when. Reads only."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime

from ..domain.allocation import WaitingLine
from ..domain.intake import SkuPosition, available_now, backorder_room
from ..domain.model import PaidPriority, Tier
from . import validation as v
from .ports import UnitOfWork
from .promising import local_date, promises_for

HYPOTHETICAL_LINE = 2**62  # sorts after every real line with the same key


def quote(
    uow: UnitOfWork,
    items: Sequence[tuple[str, int]],
    now: datetime,
    customer_id: int | None = None,
    paid_priority: PaidPriority = PaidPriority.NORMAL,
) -> list[dict]:
    """Per SKU (quantities of a repeated SKU are summed), without placing anything."""
    demand: dict[str, int] = defaultdict(int)
    for index, (sku, qty) in enumerate(items):
        demand[v.sku(sku, f"items[{index}].sku")] += v.quantity(qty, f"items[{index}].qty")
    with uow.reader() as r:
        tier = _tier(r.store, customer_id)
        return [
            _quote_one(r.store, sku, qty, tier, paid_priority, now, uow.shop_timezone)
            for sku, qty in demand.items()
        ]


def _tier(store, customer_id: int | None) -> Tier:
    if customer_id is None:
        return Tier.STANDARD
    customer = store.get_customer(customer_id)
    if customer is None:
        raise v.InvalidInput("customer_id", f"unknown customer {customer_id}")
    return Tier(customer.tier)


def _quote_one(store, sku, qty, tier, paid_priority, now, timezone) -> dict:
    product = store.get_product(sku)
    if product is None:
        return {"sku": sku, "qty": qty, "orderable": False, "reason": "unknown SKU"}
    position = SkuPosition(product, store.stock_levels(sku), store.backordered_total(sku))
    ship_now = min(qty, available_now(position, now))
    short = qty - ship_now
    room = backorder_room(position, now)
    answer = {
        "sku": sku,
        "qty": qty,
        "ship_now": ship_now,
        "backordered": short,
        "orderable": True,
        "reason": None,
        "promised_date": None,
        "promise_basis": None,
        "preorder": product.is_preorder(now),
        "release_date": local_date(product.release_at, timezone) if product.release_at else None,
    }
    if short and room is not None and short > room:
        return answer | {
            "orderable": False,
            "backordered": 0,
            "reason": _why_not(product, room, now),
        }
    if short:
        answer |= _promise_for(store, product, ship_now, short, tier, paid_priority, now, timezone)
    return answer


def _why_not(product, room: int, now) -> str:
    if product.is_preorder(now):
        return f"preorder limit reached ({room} left)"
    if room == 0 and product.backorder_policy.value == "deny":
        return "out of stock and backorders are not allowed"
    return f"backorder limit reached ({room} left)"


def _promise_for(store, product, ship_now, short, tier, paid_priority, now, timezone) -> dict:
    """The date the `short` part would be promised, once `ship_now` units are taken."""
    line = WaitingLine(HYPOTHETICAL_LINE, 0, product.sku, short, tier, paid_priority, now, now)
    waiting = [*store.waiting_lines(product.sku), line]
    promise = next(
        p
        for p in promises_for(store, product, waiting, now, timezone, taken=ship_now)
        if p.line_id == HYPOTHETICAL_LINE
    )
    return {"promised_date": promise.promised, "promise_basis": promise.basis.value}
