"""Plan an order: what each line takes now, what waits, what is refused. Pure."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from .errors import InsufficientStock, Shortage
from .model import BackorderPolicy, Fulfilment, Product, StockLevel


@dataclass(frozen=True)
class LineRequest:
    line_no: int
    sku: str
    qty: int


@dataclass(frozen=True)
class SkuPosition:
    """What the planner needs to know of one SKU, read under its lock."""

    product: Product
    stock: tuple[StockLevel, ...]  # in allocation order (warehouse rank, then code)
    backordered_total: int


@dataclass(frozen=True)
class LinePlan:
    line_no: int
    sku: str
    qty: int
    takes: tuple[tuple[str, int], ...]  # (warehouse, units) allocated now
    backordered: int
    cancelled: int

    @property
    def allocated(self) -> int:
        return sum(units for _, units in self.takes)


def backorder_room(position: SkuPosition, now: datetime) -> int | None:
    """How many more units of this SKU may wait; None means no limit."""
    product = position.product
    if not product.is_preorder(now) and product.backorder_policy is BackorderPolicy.DENY:
        return 0
    if product.backorder_limit is None:
        return None
    return max(0, product.backorder_limit - position.backordered_total)


def available_now(position: SkuPosition, now: datetime) -> int:
    """Preorders take no stock before their release time, even if stock exists."""
    if position.product.is_preorder(now):
        return 0
    return sum(max(0, s.available) for s in position.stock)


def plan_order(
    requests: Sequence[LineRequest],
    positions: dict[str, SkuPosition],
    fulfilment: Fulfilment,
    now: datetime,
) -> list[LinePlan]:
    """Allocate, backorder or cancel each line; raise one error listing every short SKU."""
    by_sku: dict[str, list[LineRequest]] = defaultdict(list)
    for request in requests:
        by_sku[request.sku].append(request)
    plans: list[LinePlan] = []
    shortages: list[Shortage] = []
    for sku in sorted(by_sku):
        lines = by_sku[sku]
        position = positions[sku]
        demand = sum(r.qty for r in lines)
        free = available_now(position, now)
        take = min(demand, free)
        waiting, cancelled, shortage = _split_shortfall(position, demand, free, fulfilment, now)
        if shortage:
            shortages.append(shortage)
            continue
        plans.extend(_distribute(lines, position.stock, take, waiting))
    if shortages:
        raise InsufficientStock(shortages)
    if fulfilment is Fulfilment.CANCEL_REMAINDER and all(
        p.allocated + p.backordered == 0 for p in plans
    ):
        raise InsufficientStock([_nothing_available(sku, by_sku, positions, now) for sku in by_sku])
    plans.sort(key=lambda p: p.line_no)
    return plans


def _split_shortfall(
    position: SkuPosition, demand: int, free: int, fulfilment: Fulfilment, now: datetime
) -> tuple[int, int, Shortage | None]:
    """Return (units to backorder, units to cancel, shortage or None) for one SKU."""
    short = max(0, demand - free)
    if short == 0:
        return 0, 0, None
    product = position.product
    if fulfilment is Fulfilment.CANCEL_REMAINDER and not product.is_preorder(now):
        return 0, short, None
    room = backorder_room(position, now)
    if room is None or short <= room:
        return short, 0, None
    reason = _refusal_reason(position, room, now)
    return 0, 0, Shortage(product.sku, demand, free, room, reason)


def _refusal_reason(position: SkuPosition, room: int, now: datetime) -> str:
    product = position.product
    if product.is_preorder(now):
        return f"preorder limit {product.backorder_limit} reached ({room} left)"
    if product.backorder_policy is BackorderPolicy.DENY:
        return "backorders are not allowed for this product"
    return f"backorder limit {product.backorder_limit} reached ({room} left)"


def _nothing_available(
    sku: str, by_sku: dict[str, list[LineRequest]], positions: dict[str, SkuPosition], now
) -> Shortage:
    demand = sum(r.qty for r in by_sku[sku])
    return Shortage(sku, demand, available_now(positions[sku], now), 0, "nothing to ship now")


def _distribute(
    lines: list[LineRequest],
    stock: tuple[StockLevel, ...],
    take: int,
    waiting: int,
) -> list[LinePlan]:
    """Spread one SKU's allocation, then backorders, over its lines in order; cancel the rest."""
    free = [[s.warehouse, max(0, s.available)] for s in stock]
    plans = []
    for line in lines:
        need = line.qty
        takes: list[tuple[str, int]] = []
        for slot in free:
            if not (need and take):
                break
            units = min(need, take, slot[1])
            if units:
                takes.append((slot[0], units))
                slot[1] -= units
                need -= units
                take -= units
        line_waits = min(need, waiting)
        waiting -= line_waits
        line_cancels = need - line_waits
        plans.append(
            LinePlan(line.line_no, line.sku, line.qty, tuple(takes), line_waits, line_cancels)
        )
    return plans


def release_from(holdings: Sequence[tuple[str, int]], units: int) -> list[tuple[str, int]]:
    """Which (warehouse, units) to give back: the least preferred warehouse first."""
    released = []
    for warehouse, held in reversed(holdings):
        if units == 0:
            break
        give = min(units, held)
        if give:
            released.append((warehouse, give))
            units -= give
    return released


def take_from(holdings: Sequence[tuple[str, int]], units: int) -> list[tuple[str, int]]:
    """Which (warehouse, units) to ship: the most preferred warehouse first."""
    return release_from(list(reversed(holdings)), units)
