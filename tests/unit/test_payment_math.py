"""The pure payment arithmetic: amounts from operations, what to capture, refund and void."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from backorder.domain.payments import (
    Charge,
    LineMoney,
    Operation,
    Policy,
    authorizations,
    capture_due,
    deposit_amount,
    future_need,
    needs_renewal,
    paid_units_held,
    payment_status,
    position,
    refundable_captures,
    settle,
    split_amount,
    totals,
    usable_authorization,
)

NOW = datetime(2026, 12, 3, 9, tzinfo=UTC)
WEEK = NOW + timedelta(days=7)


def line(line_id=1, qty=1, allocated=0, backordered=0, shipped=0, cancelled=0, price=2500):
    return LineMoney(line_id, qty, allocated, backordered, shipped, cancelled, price)


def capture(amount, units=(), status="done", reason="shipment"):
    return Charge("capture", status, amount, tuple(units), reason)


def refund(amount, units=(), status="done", reason="cancel"):
    return Charge("refund", status, amount, tuple(units), reason)


def test_amounts_are_summed_from_succeeded_operations_only():
    ops = [
        Operation("authorize", "succeeded", 5000, "a1", expires_at=WEEK),
        Operation("authorize", "declined", 0, None),
        Operation("capture", "succeeded", 2500, "c1", "a1"),
        Operation("refund", "succeeded", 1000, "r1", "c1"),
        Operation("capture", "declined", 0, None, "a1"),
    ]
    assert totals(ops, NOW) == totals(ops, NOW).__class__(5000, 2500, 0, 1000, 0)
    assert refundable_captures(ops) == [("c1", 1500)]


def test_each_authorization_knows_what_was_captured_and_voided_against_it():
    ops = [
        Operation("authorize", "succeeded", 20000, "a1", expires_at=WEEK),
        Operation("capture", "succeeded", 13000, "c1", "a1"),
        Operation("void", "succeeded", 7000, "a1", "a1"),
        Operation("authorize", "succeeded", 10000, "a2", expires_at=NOW + timedelta(days=1)),
    ]
    first, second = authorizations(ops)
    assert (first.remaining, first.status(NOW)) == (0, "voided")
    assert (second.remaining, second.status(NOW + timedelta(days=2))) == (10000, "expired")
    assert totals(ops, NOW + timedelta(days=2)).expired == 10000


def test_a_capture_uses_the_newest_authorization_that_stays_valid_past_the_margin():
    ops = [Operation("authorize", "succeeded", 10000, "a1", expires_at=NOW + timedelta(hours=12))]
    auths = authorizations(ops)
    assert usable_authorization(auths, 10000, NOW, timedelta(hours=1)).reference == "a1"
    assert usable_authorization(auths, 10000, NOW, timedelta(hours=24)) is None
    assert usable_authorization(auths, 10001, NOW, timedelta(0)) is None
    assert needs_renewal(auths, 10000, NOW, timedelta(hours=24))
    assert not needs_renewal(auths, 0, NOW, timedelta(hours=24))


def test_on_shipment_only_shipped_units_not_yet_paid_are_captured():
    lines = [line(1, qty=1, shipped=1), line(2, qty=1, backordered=1)]
    assert capture_due(lines, position([]), Policy.ON_SHIPMENT) == (((1, 1),), 2500)
    paid_for_first = position([capture(2500, [(1, 1)])])
    assert capture_due(lines, paid_for_first, Policy.ON_SHIPMENT) == ((), 0)


def test_on_allocation_allocated_units_are_captured_too():
    lines = [line(1, qty=3, allocated=2, backordered=1, price=1000)]
    assert capture_due(lines, position([]), Policy.ON_ALLOCATION) == (((1, 2),), 2000)


def test_a_pending_capture_is_never_planned_a_second_time_but_a_failed_one_is():
    lines = [line(1, qty=1, shipped=1)]
    assert capture_due(
        lines, position([capture(2500, [(1, 1)], "pending")]), Policy.ON_SHIPMENT
    ) == ((), 0)
    assert capture_due(
        lines, position([capture(2500, [(1, 1)], "failed")]), Policy.ON_SHIPMENT
    ) == (((1, 1),), 2500)


def test_a_deposit_pays_for_the_first_units_shipped():
    lines = [line(1, qty=1, shipped=1, price=10000), line(2, qty=1, backordered=1, price=10000)]
    deposit = capture(deposit_amount(20000, 30), reason="deposit")
    assert deposit.amount == 6000
    assert capture_due(lines, position([deposit]), Policy.DEPOSIT) == (((1, 1),), 4000)


def test_deposits_round_up_to_a_whole_minor_unit():
    assert [deposit_amount(v, 33) for v in (100, 101, 0)] == [33, 34, 0]


def test_cancelled_paid_units_are_refunded_and_an_order_owing_nothing_is_voided():
    lines = [line(1, qty=2, allocated=0, cancelled=2, price=2000)]
    plan = settle(lines, position([capture(4000, [(1, 2)])]), Policy.ON_ALLOCATION, 0)
    assert (plan.refund_units, plan.refund_amount, plan.void) == (((1, 2),), 4000, True)
    after = position([capture(4000, [(1, 2)]), refund(4000, [(1, 2)])])
    assert settle(lines, after, Policy.ON_ALLOCATION, 0).refund_amount == 0


def test_a_deposit_is_kept_only_on_units_that_will_still_ship():
    lines = [line(1, qty=1, allocated=1, price=10000), line(2, qty=1, cancelled=1, price=10000)]
    plan = settle(lines, position([capture(6000, reason="deposit")]), Policy.DEPOSIT, 30)
    assert (plan.refund_units, plan.refund_amount, plan.void) == ((), 3000, False)


def test_paid_units_not_yet_shipped_are_held_on_cancel():
    lines = [line(1, qty=10, allocated=10, price=1000), line(2, qty=10, allocated=10, price=1000)]
    pos = position([capture(13000, [(1, 7), (2, 6)], reason="operator")])
    assert paid_units_held(lines, pos) == {1: 7, 2: 6}
    assert future_need(lines, pos) == 7000


def test_the_payment_reads_as_one_word():
    sums = totals(
        [
            Operation("authorize", "succeeded", 5000, "a", expires_at=WEEK),
            Operation("capture", "succeeded", 2500, "c", "a"),
        ],
        NOW,
    )
    assert payment_status(sums, required=False, authorized_ever=True, need=2500) == (
        "partially_captured"
    )
    assert payment_status(sums, required=False, authorized_ever=True, need=0) == "captured"
    assert payment_status(sums, required=True, authorized_ever=True, need=0) == ("payment_required")


def test_an_amount_is_split_over_sources_in_order():
    assert split_amount(70, [("a", 50), ("b", 50)]) == [("a", 50), ("b", 20)]
    assert split_amount(120, [("a", 50), ("b", 50)]) == [("a", 50), ("b", 50)]


STEP = st.tuples(st.sampled_from(["ship", "cancel"]), st.integers(0, 2), st.integers(1, 3))


@settings(max_examples=200, deadline=None)
@given(
    quantities=st.lists(st.integers(1, 4), min_size=1, max_size=3),
    prices=st.lists(st.integers(0, 5000), min_size=3, max_size=3),
    policy=st.sampled_from(list(Policy)),
    percent=st.integers(1, 100),
    steps=st.lists(STEP, max_size=12),
)
def test_whatever_ships_or_is_cancelled_the_money_kept_is_what_shipped(
    quantities, prices, policy, percent, steps
):
    """Play ships and cancels on allocated lines, capturing and settling after each: at the
    end every line is shipped or cancelled, and captured minus refunded is the shipped value."""
    lines = {n: line(n, q, allocated=q, price=prices[n]) for n, q in enumerate(quantities)}
    charges = []
    if policy is Policy.DEPOSIT:
        value = sum(x.qty * x.unit_price for x in lines.values())
        charges.append(capture(deposit_amount(value, percent), reason="deposit"))
    for action, index, units in [*steps, *[("ship", n, 99) for n in lines]]:
        if index not in lines or not lines[index].allocated:
            continue
        x, units = lines[index], min(units, lines[index].allocated)
        if action == "ship":
            lines[index] = line(
                x.line_id,
                x.qty,
                x.allocated - units,
                0,
                x.shipped + units,
                x.cancelled,
                x.unit_price,
            )
        else:
            held = paid_units_held(list(lines.values()), position(charges)).get(index, 0)
            units = min(units, x.allocated - held)
            lines[index] = line(
                x.line_id,
                x.qty,
                x.allocated - units,
                0,
                x.shipped,
                x.cancelled + units,
                x.unit_price,
            )
        _capture_and_settle(list(lines.values()), charges, policy, percent)
    shipped = sum(x.shipped * x.unit_price for x in lines.values())
    net = sum(c.amount if c.kind == "capture" else -c.amount for c in charges)
    assert net == shipped
    assert all(c.amount >= 0 for c in charges)


def _capture_and_settle(lines, charges, policy, percent) -> None:
    units, amount = capture_due(lines, position(charges), policy)
    if units:
        charges.append(capture(amount, units))
    plan = settle(lines, position(charges), policy, percent)
    if plan.refund_units or plan.refund_amount:
        charges.append(refund(plan.refund_amount, plan.refund_units))
