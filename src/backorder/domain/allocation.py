"""Who gets received or freed stock: one priority key, one pure planner.

The key is a tuple ending in the line id, so no two lines ever tie. Rules that change
the order of service change the key, never the loop in `plan_allocation`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

from .model import PaidPriority, Tier

TIER_RANK = {Tier.CRITICAL: 0, Tier.PRIORITY: 1, Tier.STANDARD: 2}
PAID_RANK = {PaidPriority.EXPEDITED: 0, PaidPriority.NORMAL: 1}

PriorityKey = tuple[int, int, int, datetime, datetime, int]


class WaitingLine(NamedTuple):
    """An order line that is owed units (`backordered`) of one SKU. (A named tuple: a
    delivery reads thousands, and a frozen dataclass costs four times as much to build.)"""

    line_id: int
    order_id: int
    sku: str
    backordered: int
    tier: Tier
    paid_priority: PaidPriority
    due: datetime  # the requested date, or the order time when none was asked
    ordered_at: datetime
    override: int = 0  # an operator's raise (< 0) or lower (> 0); 0 when nobody touched it


@dataclass(frozen=True, slots=True)
class Supply:
    """Units of one SKU free to hand out in one warehouse."""

    warehouse: str
    qty: int


@dataclass(frozen=True, slots=True)
class Grant:
    """`qty` units from `warehouse` go to `line_id`; `ahead_of` is the next line left waiting."""

    line_id: int
    order_id: int
    warehouse: str
    qty: int
    key: PriorityKey
    ahead_of: int | None = None


def priority_key(line: WaitingLine) -> PriorityKey:
    """The operator's override comes first: a manual decision beats every rule after it."""
    return key_of(
        line.override, line.tier, line.paid_priority, line.due, line.ordered_at, line.line_id
    )


def key_of(override: int, tier: str, paid: str, due, ordered_at, line_id: int) -> PriorityKey:
    """`priority_key` from a line's stored columns (tier and paid priority as their values),
    for bulk readers that build no WaitingLine; `due` and `ordered_at` need only be
    comparable among the lines being ordered."""
    return (override, TIER_RANK[tier], PAID_RANK[paid], due, ordered_at, line_id)


def plan_allocation(waiting: Iterable[WaitingLine], supply: Sequence[Supply]) -> list[Grant]:
    """Hand `supply` to `waiting` lines in priority-key order, warehouses in the given order."""
    queue = sorted((priority_key(line), line) for line in waiting)  # keys end in the line id
    stock = [[s.warehouse, s.qty] for s in supply if s.qty > 0]
    takes: list[tuple[PriorityKey, WaitingLine, str, int]] = []
    unmet: list[int] = []  # line ids left waiting, in queue order
    cursor = 0
    for key, line in queue:
        need = line.backordered
        while need and cursor < len(stock):
            warehouse, free = stock[cursor]
            take = min(need, free)
            takes.append((key, line, warehouse, take))
            need -= take
            stock[cursor][1] -= take
            if stock[cursor][1] == 0:
                cursor += 1
        if need:
            unmet.append(line.line_id)
            if cursor >= len(stock) and len(unmet) > 1:  # a part-served line needs one more
                break
    return [
        Grant(line.line_id, line.order_id, warehouse, take, key, _first_other(unmet, line.line_id))
        for key, line, warehouse, take in takes
    ]


def _first_other(unmet: list[int], line_id: int) -> int | None:
    """The first line left waiting other than this one: whom this grant went ahead of."""
    for other in unmet[:2]:
        if other != line_id:
            return other
    return None


def describe_key(line: WaitingLine, times: tuple[str, str] | None = None) -> str:
    """The key in words, for operators and customers; `times`: `iso_times(line)`, when the
    caller has them already."""
    due, ordered = times or iso_times(line)
    words = (
        f"{line.tier.value} customer, {line.paid_priority.value} shipping, due {due[:10]}, "
        f"ordered {ordered[:10]} {ordered[11:16]} UTC, line {line.line_id}"
    )
    return f"{_override_words(line.override)}, {words}" if line.override else words


def iso_times(line: WaitingLine) -> tuple[str, str]:
    """The line's due and order times as ISO text: sliced for words, whole in the logged key.
    Once each, and once for both when nothing was requested (due is then the order time): a
    delivery describes a thousand keys."""
    due = line.due.isoformat()
    return due, due if line.ordered_at is line.due else line.ordered_at.isoformat()


def _override_words(override: int) -> str:
    direction = "raised" if override < 0 else "lowered"
    return f"{direction} by an operator (override {override:+d})"


_KEY_PARTS = (
    "operator override",
    "customer tier",
    "paid priority",
    "due date",
    "order time",
    "line id",
)


def explain_precedence(first: WaitingLine, second: WaitingLine) -> str:
    """Say which key component puts `first` ahead of `second` (or the reverse)."""
    a, b = priority_key(first), priority_key(second)
    if a == b:
        return "the two lines are the same line"
    winner, loser = (first, second) if a < b else (second, first)
    wa, wb = priority_key(winner), priority_key(loser)
    index = next(i for i in range(len(wa)) if wa[i] != wb[i])
    values = [_key_value(winner, index), _key_value(loser, index)]
    return (
        f"line {winner.line_id} (order {winner.order_id}) comes before line {loser.line_id} "
        f"(order {loser.order_id}) by {_KEY_PARTS[index]}: {values[0]} before {values[1]}"
    )


def _key_value(line: WaitingLine, index: int) -> str:
    return (
        f"{line.override:+d}",
        line.tier.value,
        line.paid_priority.value,
        f"{line.due:%Y-%m-%d %H:%M}",
        f"{line.ordered_at:%Y-%m-%d %H:%M:%S}",
        str(line.line_id),
    )[index]
