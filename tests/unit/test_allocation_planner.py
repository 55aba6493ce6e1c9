"""The priority key and the pure planner that hands supply to waiting lines."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from backorder.domain.allocation import (
    Grant,
    Supply,
    WaitingLine,
    explain_precedence,
    plan_allocation,
    priority_key,
)
from backorder.domain.model import PaidPriority, Tier

T0 = datetime(2027, 1, 1, 9, 0, tzinfo=UTC)
STD, PRIO, CRIT = Tier.STANDARD, Tier.PRIORITY, Tier.CRITICAL
NORMAL, EXPEDITED = PaidPriority.NORMAL, PaidPriority.EXPEDITED


def waiting(line_id: int, need: int = 1, **changes) -> WaitingLine:
    """A standard, normal-shipping line ordered at T0 and due at T0, unless told otherwise."""
    base = WaitingLine(line_id, 100 + line_id, "A", need, STD, NORMAL, T0, T0)
    return base._replace(**changes)


def grants_as_tuples(grants: list[Grant]) -> list[tuple]:
    return [(g.line_id, g.warehouse, g.qty, g.ahead_of) for g in grants]


# -- the priority key -------------------------------------------------------------------------

LATER = T0 + timedelta(days=1)

PRECEDENCE = [
    # (first served, served after, the key part that decides)
    (waiting(9, tier=CRIT), waiting(1, tier=PRIO), "customer tier"),
    (waiting(9, tier=PRIO), waiting(1, tier=STD), "customer tier"),
    (waiting(9, tier=CRIT, ordered_at=LATER), waiting(1, paid_priority=EXPEDITED), "customer tier"),
    (waiting(9, paid_priority=EXPEDITED), waiting(1), "paid priority"),
    (waiting(9, paid_priority=EXPEDITED, due=LATER), waiting(1), "paid priority"),
    (waiting(9, due=T0), waiting(1, due=LATER, ordered_at=T0 - timedelta(days=9)), "due date"),
    (waiting(9, ordered_at=T0), waiting(1, ordered_at=T0 + timedelta(seconds=1)), "order time"),
    (waiting(1), waiting(2), "line id"),
]


@pytest.mark.parametrize("first, second, decided_by", PRECEDENCE)
def test_priority_key_orders_by_tier_then_paid_priority_due_date_order_time_line_id(
    first, second, decided_by
):
    assert priority_key(first) < priority_key(second)
    assert f"by {decided_by}:" in explain_precedence(second, first)
    assert explain_precedence(first, second).startswith(f"line {first.line_id} ")


def test_priority_key_never_ties_two_different_lines():
    twins = [waiting(line_id) for line_id in (3, 1, 2)]

    assert sorted(twins, key=priority_key) == [waiting(1), waiting(2), waiting(3)]
    assert len({priority_key(line) for line in twins}) == 3


# -- the planner ------------------------------------------------------------------------------

PLANS = [
    pytest.param(
        [waiting(1, 5)],
        [Supply("W1", 3)],
        [(1, "W1", 3, None)],
        id="partial fill: a line owed 5 gets the 3 there are",
    ),
    pytest.param(
        [waiting(1, 2)],
        [Supply("W1", 10)],
        [(1, "W1", 2, None)],
        id="a line takes no more than it is owed",
    ),
    pytest.param(
        [waiting(1, 4)],
        [Supply("W1", 1), Supply("W2", 3)],
        [(1, "W1", 1, None), (1, "W2", 3, None)],
        id="one line served from two warehouses in the given order",
    ),
    pytest.param(
        [waiting(1, 2), waiting(2, 2)],
        [Supply("W2", 1), Supply("W1", 3)],
        [(1, "W2", 1, None), (1, "W1", 1, None), (2, "W1", 2, None)],
        id="warehouses are used in the order given, not by name",
    ),
    pytest.param(
        [waiting(1, 2), waiting(2, 2), waiting(3, 2)],
        [Supply("W1", 3)],
        [(1, "W1", 2, 2), (2, "W1", 1, 3)],
        id="supply exhausted: each grant names the next line left waiting",
    ),
    pytest.param(
        [waiting(1, 1), waiting(2, 1), waiting(3, 1)],
        [Supply("W1", 2)],
        [(1, "W1", 1, 3), (2, "W1", 1, 3)],
        id="fully served lines are ahead of the first line that got nothing",
    ),
    pytest.param(
        [waiting(1, 2), waiting(2, 3, tier=CRIT)],
        [Supply("W1", 4)],
        [(2, "W1", 3, 1), (1, "W1", 1, None)],
        id="a critical line is served before an earlier standard one",
    ),
    pytest.param(
        [waiting(1, 2)],
        [Supply("W1", 0)],
        [],
        id="no supply, no grants",
    ),
    pytest.param(
        [],
        [Supply("W1", 5)],
        [],
        id="no waiting lines, no grants",
    ),
]


@pytest.mark.parametrize("queue, supply, expected", PLANS)
def test_plan_allocation_hands_supply_to_the_queue_in_key_order(queue, supply, expected):
    assert grants_as_tuples(plan_allocation(queue, supply)) == expected


def test_plan_allocation_never_grants_more_than_supply_or_need():
    queue = [waiting(i, need) for i, need in enumerate([3, 1, 4, 1, 5, 9, 2, 6], start=1)]
    supply = [Supply("W1", 7), Supply("W2", 0), Supply("W3", 8)]

    grants = plan_allocation(queue, supply)

    assert sum(g.qty for g in grants) == 15
    for s in supply:
        assert sum(g.qty for g in grants if g.warehouse == s.warehouse) <= s.qty
    for line in queue:
        assert sum(g.qty for g in grants if g.line_id == line.line_id) <= line.backordered


def test_a_grant_carries_the_key_that_decided_it():
    line = waiting(4, 1, tier=PRIO)

    [grant] = plan_allocation([line], [Supply("W1", 1)])

    assert grant.key == priority_key(line)
    assert (grant.order_id, grant.line_id) == (104, 4)
