"""The pure rules of customer care: who gets holds, when to warn and cancel, which slip asks
for consent, the feedback buckets, and the signed links."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from backorder.domain.allocation import Supply
from backorder.domain.waitlist import Subscriber, plan_holds
from backorder.service.auto_cancel import cancel_time, next_step
from backorder.service.consent import slipped_past
from backorder.service.feedback import wait_bucket
from backorder.service.signing import InvalidToken, sign, verify

NOW = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)
DAY = timedelta(days=1)


def test_holds_go_one_each_in_subscription_order_across_warehouses_until_stock_runs_out():
    subscribers = [Subscriber(3, 30, NOW), Subscriber(1, 10, NOW - DAY), Subscriber(2, 20, NOW)]
    plans = plan_holds(subscribers, [Supply("a", 1), Supply("b", 0), Supply("c", 1)], NOW, DAY)

    assert [(p.customer_id, p.warehouse, p.qty) for p in plans] == [(10, "a", 1), (20, "c", 1)]
    assert {p.expires_at for p in plans} == {NOW + DAY}


@pytest.mark.parametrize(
    ("days_in", "warned", "step", "told"),
    [
        (26.9, None, None, 30),
        (27, None, "warn", 30),
        (29, 30, None, 30),
        (30, 30, "cancel", 30),
        (40, None, "warn", 43),
        (42.9, 43, None, 43),
        (43, 43, "cancel", 43),
    ],
)
def test_a_30_day_limit_warns_3_days_ahead_and_never_cancels_before_the_warned_time(
    days_in, warned, step, told
):
    cancel_at = cancel_time(NOW, None, 30)
    warned_at = NOW + timedelta(days=warned) if warned is not None else None

    result = next_step(cancel_at, warned_at, 3 * DAY, NOW + timedelta(days=days_in))

    assert result == (step, NOW + timedelta(days=told))


def test_a_preorders_wait_starts_at_its_release():
    assert cancel_time(NOW, NOW + 5 * DAY, 30) == NOW + 35 * DAY


@pytest.mark.parametrize(
    ("promised", "reference", "slipped"),
    [
        (date(2026, 12, 20), date(2026, 12, 13), True),
        (date(2026, 12, 13), date(2026, 12, 13), False),
        (None, date(2026, 12, 13), True),
        (date(2026, 12, 20), None, False),
    ],
)
def test_a_slip_is_a_later_date_or_a_lost_one(promised, reference, slipped):
    assert slipped_past(promised, reference) is slipped


@pytest.mark.parametrize(
    ("days", "bucket"),
    [
        (0, "0-7 days"),
        (7, "0-7 days"),
        (8, "8-14 days"),
        (14, "8-14 days"),
        (15, "15-30 days"),
        (30, "15-30 days"),
        (31, "30+ days"),
    ],
)
def test_waiting_days_fall_into_four_buckets(days, bucket):
    assert wait_bucket(days) == bucket


def test_a_signed_token_verifies_only_unaltered_for_its_purpose_and_key():
    token = sign(b"k" * 32, "feedback", 7, "nonce")

    claims = verify(b"k" * 32, token, {"feedback"})

    assert (claims.purpose, claims.row_id, claims.nonce) == ("feedback", 7, "nonce")
    for bad_key, bad_token, purposes in [
        (b"x" * 32, token, {"feedback"}),
        (b"k" * 32, token[:-1] + "A", {"feedback"}),
        (b"k" * 32, token, {"consent-keep"}),
        (b"k" * 32, "garbage", {"feedback"}),
    ]:
        with pytest.raises(InvalidToken):
            verify(bad_key, bad_token, purposes)
