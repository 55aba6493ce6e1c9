"""The backorder-risk score: projected balance over the lead time, and its parts."""

from __future__ import annotations

from dataclasses import replace

from backorder.domain.risk import (
    DEFAULT_LEAD_TIME_DAYS,
    RiskInputs,
    assess,
    rank_key,
    scaled_to_lead_time,
)

# SKU 1475481 of the public file: 258 on hand, 10 in transit, lead time 15 weeks,
# forecast 10 for 3 months, 132 sold in the last 3 months, min_bank 47.
SKU_1475481 = RiskInputs(
    on_hand=258,
    allocated=0,
    owed=0,
    in_transit=10,
    forecast_3_month=10,
    sales_3_month=132,
    safety_stock=47,
    lead_time_days=105,
)
QUIET = RiskInputs(
    on_hand=0,
    allocated=0,
    owed=0,
    in_transit=0,
    forecast_3_month=0,
    sales_3_month=0,
    safety_stock=0,
    lead_time_days=56,
)


def test_a_three_month_figure_is_scaled_to_the_lead_time_and_rounded_up():
    assert scaled_to_lead_time(91, 91) == 91
    assert scaled_to_lead_time(91, 14) == 14
    assert scaled_to_lead_time(10, 105) == 12  # 11.5 units: 12 must be there
    assert scaled_to_lead_time(10, 0) == 0


def test_the_score_is_made_of_named_parts():
    a = assess(SKU_1475481)

    assert (a.forecast_over_lead_time, a.sales_above_forecast) == (12, 141)  # 122 x 105 / 91
    assert a.projected_balance == 258 + 10 - 12 - 47 == 209
    assert a.shortfall == 141 - 209 == -68
    assert a.need == 12 + 141 + 47 == 200
    assert a.score == -68 / 201
    assert (a.lead_time_days, a.lead_time_assumed) == (105, False)


def test_an_unknown_lead_time_assumes_the_default_and_says_so():
    a = assess(replace(SKU_1475481, lead_time_days=None))

    assert (a.lead_time_days, a.lead_time_assumed) == (DEFAULT_LEAD_TIME_DAYS, True)
    assert a.forecast_over_lead_time == 7  # 10 x 56 / 91 = 6.2
    assert "8 weeks (assumed)" in a.explain()


def test_owed_and_allocated_units_are_not_stock_to_count_on():
    base = assess(replace(QUIET, on_hand=10))
    owing = assess(replace(QUIET, on_hand=10, owed=4))
    holding = assess(replace(QUIET, on_hand=10, allocated=3))

    assert base.projected_balance == 10
    assert owing.projected_balance == 6
    assert (holding.free_stock, holding.projected_balance) == (7, 7)


def test_a_lower_projected_balance_is_riskier_at_the_same_need():
    need = replace(QUIET, forecast_3_month=91, lead_time_days=14)  # 14 units over the lead time
    scores = [assess(replace(need, on_hand=units)).score for units in (30, 14, 5, 0)]

    assert scores == sorted(scores)
    assert assess(replace(need, on_hand=14)).score == 0  # exactly covered


def test_being_short_of_a_small_need_is_riskier_than_the_same_units_short_of_a_large_one():
    small = assess(replace(QUIET, on_hand=1, safety_stock=6))  # 5 short of 6
    large = assess(replace(QUIET, on_hand=495, safety_stock=500))  # 5 short of 500

    assert small.shortfall == large.shortfall == 5
    assert small.score > large.score > 0


def test_sales_running_above_the_forecast_count_as_demand():
    lagging = assess(
        replace(QUIET, on_hand=20, forecast_3_month=10, sales_3_month=40, lead_time_days=91)
    )

    assert lagging.projected_balance == 10  # the forecast alone leaves 10
    assert lagging.sales_above_forecast == 30
    assert lagging.shortfall == 20


def test_a_sku_nobody_needs_scores_minus_its_spare_units():
    assert assess(replace(QUIET, on_hand=7)).score == -7
    assert assess(QUIET).score == 0


def test_units_already_owed_with_nothing_coming_are_the_riskiest():
    owed = assess(replace(QUIET, owed=3))

    assert (owed.projected_balance, owed.shortfall, owed.score) == (-3, 3, 3.0)
    assert owed.explain().startswith("short 3 of 0 needed over 8 weeks")


def test_ties_are_broken_by_units_short_then_by_sku():
    one = assess(replace(QUIET, owed=2, safety_stock=1))  # 3 short of 1 -> 1.5
    two = assess(replace(QUIET, owed=5, safety_stock=3))  # 8 short of 3 -> 2.0
    three = assess(replace(QUIET, owed=2, safety_stock=1))

    ranked = sorted([("b", one), ("c", two), ("a", three)], key=lambda p: rank_key(*p))

    assert [sku for sku, _ in ranked] == ["c", "a", "b"]
