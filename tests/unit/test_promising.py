"""Promised dates from supply in time order, walked in priority order."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from backorder.domain.allocation import WaitingLine, priority_key
from backorder.domain.model import PaidPriority, Tier
from backorder.domain.promising import IncomingSupply, PromiseBasis, plan_promises

T0 = datetime(2026, 12, 3, 9, tzinfo=UTC)
TODAY = date(2026, 12, 3)


def waiting(line_id: int, qty: int, tier: Tier = Tier.STANDARD, minutes: int = 0) -> WaitingLine:
    at = T0 + timedelta(minutes=minutes)
    return WaitingLine(line_id, line_id, "A", qty, tier, PaidPriority.NORMAL, at, at)


def test_critical_line_is_promised_the_first_purchase_order():
    lines = [waiting(1, 4, minutes=0), waiting(2, 3, Tier.CRITICAL, minutes=5)]
    pos = [
        IncomingSupply(TODAY + timedelta(days=10), 5, 71),
        IncomingSupply(TODAY + timedelta(days=20), 10, 72),
    ]
    promises = {p.line_id: p for p in plan_promises(lines, 0, TODAY, pos, None)}
    assert promises[2].promised == date(2026, 12, 13)
    assert promises[2].po_line_id == 71
    # 3 + 4 = 7 > 5: the standard line is covered only by the second PO.
    assert promises[1].promised == date(2026, 12, 23)
    assert promises[1].basis is PromiseBasis.PURCHASE_ORDER


def test_uncovered_lines_are_estimated_by_lead_time_never_before_the_line_ahead():
    lines = [waiting(1, 5), waiting(2, 5, minutes=1), waiting(3, 5, minutes=2)]
    pos = [IncomingSupply(TODAY + timedelta(days=30), 5, 9)]
    lead = TODAY + timedelta(days=14)
    promises = plan_promises(lines, 0, TODAY, pos, lead)
    assert [(p.line_id, p.promised, p.basis.value) for p in promises] == [
        (1, date(2027, 1, 2), "purchase_order"),
        (2, date(2027, 1, 2), "lead_time"),
        (3, date(2027, 1, 2), "lead_time"),
    ]


def test_a_line_that_needs_every_known_po_and_more_waits_for_the_last_po_at_least():
    """A new order placed today (lead time 10 days) cannot complete a line whose first
    units arrive on a PO due in two months: it was promised today + 10 days."""
    lines = [waiting(1, 2), waiting(2, 14, minutes=1)]
    pos = [
        IncomingSupply(TODAY + timedelta(days=5), 3, 1),
        IncomingSupply(TODAY + timedelta(days=60), 4, 2),
    ]
    promises = plan_promises(lines, 0, TODAY, pos, TODAY + timedelta(days=10))
    assert [(p.promised, p.basis.value) for p in promises] == [
        (TODAY + timedelta(days=5), "purchase_order"),
        (TODAY + timedelta(days=60), "lead_time"),
    ]


def test_no_supply_and_no_lead_time_means_no_date_yet():
    [promise] = plan_promises([waiting(1, 2)], 0, TODAY, [], None)
    assert (promise.promised, promise.basis) == (None, PromiseBasis.NONE)


def test_free_stock_of_a_preorder_is_promised_for_its_release_date():
    release = date(2027, 1, 1)
    promises = plan_promises(
        [waiting(1, 2), waiting(2, 2, minutes=1)],
        3,
        release,
        [IncomingSupply(date(2027, 2, 1), 1, 5)],
        None,
    )
    assert [(p.promised, p.basis.value) for p in promises] == [
        (release, "stock"),
        (date(2027, 2, 1), "purchase_order"),
    ]


lines_strategy = st.lists(
    st.tuples(st.integers(1, 20), st.sampled_from(list(Tier)), st.integers(0, 1000)),
    min_size=1,
    max_size=30,
)
supply_strategy = st.lists(st.tuples(st.integers(0, 60), st.integers(0, 30)), max_size=10)


@given(
    lines_strategy, supply_strategy, st.integers(0, 20), st.one_of(st.none(), st.integers(0, 90))
)
def test_promises_never_precede_their_supply_and_are_monotone_along_the_queue(
    raw_lines, raw_supply, free, lead_days
):
    lines = [waiting(i + 1, qty, tier, minutes) for i, (qty, tier, minutes) in enumerate(raw_lines)]
    incoming = [
        IncomingSupply(TODAY + timedelta(days=d), q, i + 1) for i, (d, q) in enumerate(raw_supply)
    ]
    lead = None if lead_days is None else TODAY + timedelta(days=lead_days)
    promises = plan_promises(lines, free, TODAY, incoming, lead)

    queue = sorted(lines, key=priority_key)
    assert [p.line_id for p in promises] == [line.line_id for line in queue]
    dated = [p.promised for p in promises if p.promised is not None]
    assert dated == sorted(dated), "monotone along the priority order"
    demand = 0
    for line, promise in zip(queue, promises, strict=True):
        demand += line.backordered
        if promise.basis in (PromiseBasis.STOCK, PromiseBasis.PURCHASE_ORDER):
            supplied = free + sum(s.qty for s in incoming if s.expected <= promise.promised)
            assert supplied >= demand, "a promise never precedes the supply that covers it"


def test_a_standing_lead_time_estimate_holds_until_passed_or_a_week_behind():
    from backorder.domain.promising import lead_time_estimate, standing_estimate

    today = date(2026, 12, 10)
    fresh = date(2026, 12, 24)  # today + 14
    assert lead_time_estimate(fresh, date(2026, 12, 17), today) == date(2026, 12, 17)  # 7 behind
    assert lead_time_estimate(fresh, date(2026, 12, 16), today) == fresh  # 8 behind: moves
    assert lead_time_estimate(fresh, date(2026, 12, 9), today) == fresh  # passed
    assert lead_time_estimate(date(2026, 12, 13), date(2026, 12, 17), today) == date(2026, 12, 13)
    assert lead_time_estimate(fresh, None, today) == fresh
    assert lead_time_estimate(None, date(2026, 12, 17), today) is None  # no lead time: no date
    # the standing estimate: the earliest lead-time date (later ones wait behind a PO's date)
    stored = [
        (date(2026, 12, 20), "lead_time"),
        (date(2026, 12, 12), "purchase_order"),
        (date(2026, 12, 17), "lead_time"),
        (None, "none"),
    ]
    assert standing_estimate(stored) == date(2026, 12, 17)
