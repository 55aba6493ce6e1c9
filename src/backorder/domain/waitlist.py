"""Who gets a back-in-stock hold: subscribers in subscription order, one unit each. Pure.

A hold is one unit of free stock kept for one subscriber for a while. Only free stock is
ever offered, after the waiting backorders have taken theirs, so nobody hears of a unit
that is already promised to someone else.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from .allocation import Supply

HOLD_UNITS = 1  # a hold keeps one unit: enough to buy, not enough to hoard


@dataclass(frozen=True)
class Subscriber:
    """An open subscription still waiting for its hold."""

    subscription_id: int
    customer_id: int
    subscribed_at: datetime


@dataclass(frozen=True)
class HoldPlan:
    subscription_id: int
    customer_id: int
    warehouse: str
    qty: int
    expires_at: datetime


def serving_key(subscriber: Subscriber) -> tuple[datetime, int]:
    """First subscribed, first served; the id breaks a tie."""
    return (subscriber.subscribed_at, subscriber.subscription_id)


def plan_holds(
    subscribers: Iterable[Subscriber], supply: Sequence[Supply], now: datetime, hold_for: timedelta
) -> list[HoldPlan]:
    """One unit per subscriber, in serving order, from the warehouses in the given order,
    as far as the free stock goes."""
    free = [[s.warehouse, s.qty] for s in supply if s.qty > 0]
    plans: list[HoldPlan] = []
    cursor = 0
    for subscriber in sorted(subscribers, key=serving_key):
        while cursor < len(free) and free[cursor][1] < HOLD_UNITS:
            cursor += 1
        if cursor == len(free):
            break
        warehouse = free[cursor][0]
        free[cursor][1] -= HOLD_UNITS
        plans.append(
            HoldPlan(
                subscriber.subscription_id,
                subscriber.customer_id,
                warehouse,
                HOLD_UNITS,
                now + hold_for,
            )
        )
    return plans


def is_expired(expires_at: datetime, now: datetime) -> bool:
    return expires_at <= now
