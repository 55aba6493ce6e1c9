"""An operator's override is the first part of the priority key (issue 5): it beats the tier,
and the planner's loop never looks at it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from backorder.domain.allocation import (
    Supply,
    WaitingLine,
    describe_key,
    explain_precedence,
    plan_allocation,
    priority_key,
)
from backorder.domain.model import PaidPriority, Tier

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def line(line_id: int, tier: Tier = Tier.STANDARD, override: int = 0) -> WaitingLine:
    at = T0 + timedelta(minutes=line_id)
    return WaitingLine(line_id, 100 + line_id, "A", 2, tier, PaidPriority.NORMAL, at, at, override)


def test_a_raised_standard_line_comes_before_a_critical_one():
    raised, critical = line(2, override=-1), line(1, Tier.CRITICAL)
    assert priority_key(raised) < priority_key(critical)
    grants = plan_allocation([critical, raised], [Supply("main", 2)])
    assert [(g.line_id, g.qty, g.ahead_of) for g in grants] == [(2, 2, 1)]
    assert "by operator override: -1 before +0" in explain_precedence(critical, raised)


def test_a_lowered_line_goes_behind_every_untouched_line():
    lowered = line(1, Tier.CRITICAL, override=1)
    assert sorted([lowered, line(2), line(3)], key=priority_key)[-1] == lowered
    assert describe_key(lowered).startswith("lowered by an operator (override +1), critical")


def test_untouched_lines_keep_the_words_they_had():
    assert describe_key(line(1)).startswith("standard customer, normal shipping")
