"""The pure order planner: what each line takes now, what waits, what is refused."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from backorder.domain.errors import InsufficientStock
from backorder.domain.intake import LineRequest, SkuPosition, plan_order, release_from, take_from
from backorder.domain.model import BackorderPolicy, Fulfilment, Product, StockLevel

NOW = datetime(2027, 1, 1, 9, 0, tzinfo=UTC)
DENY, ALLOW, NOTIFY = BackorderPolicy.DENY, BackorderPolicy.ALLOW, BackorderPolicy.ALLOW_NOTIFY
PARTIAL, CANCEL_REST = Fulfilment.SHIP_PARTIAL, Fulfilment.CANCEL_REMAINDER


def position(
    sku: str = "A",
    *stock: tuple[str, int, int],
    policy: BackorderPolicy = DENY,
    limit: int | None = None,
    waiting: int = 0,
    release_at: datetime | None = None,
) -> SkuPosition:
    """`stock` rows are (warehouse, on_hand, allocated), already in allocation order."""
    product = Product(sku, sku, 100, "EUR", policy, limit, release_at)
    levels = tuple(StockLevel(sku, w, on_hand, allocated) for w, on_hand, allocated in stock)
    return SkuPosition(product, levels, waiting)


def plan(lines: list[tuple[str, int]], *positions: SkuPosition, fulfilment=PARTIAL) -> list:
    requests = [LineRequest(no, sku, qty) for no, (sku, qty) in enumerate(lines, start=1)]
    by_sku = {p.product.sku: p for p in positions}
    return [
        (p.line_no, p.takes, p.backordered, p.cancelled)
        for p in plan_order(requests, by_sku, fulfilment, NOW)
    ]


def refusal(lines: list[tuple[str, int]], *positions: SkuPosition, fulfilment=PARTIAL) -> list:
    with pytest.raises(InsufficientStock) as refused:
        plan(lines, *positions, fulfilment=fulfilment)
    return [(s.sku, s.asked, s.available, s.backorder_room) for s in refused.value.shortages]


# -- summed demand and warehouses -----------------------------------------------------------


def test_two_lines_of_one_sku_are_summed_before_the_check():
    assert refusal([("A", 3), ("A", 4)], position("A", ("W1", 5, 0))) == [("A", 7, 5, 0)]


def test_summed_lines_share_the_stock_in_line_order_and_the_last_one_waits():
    allowed = position("A", ("W1", 5, 0), policy=ALLOW)

    assert plan([("A", 3), ("A", 4)], allowed) == [
        (1, (("W1", 3),), 0, 0),
        (2, (("W1", 2),), 2, 0),
    ]


def test_stock_is_taken_warehouse_by_warehouse_in_the_given_order():
    split = position("A", ("L1", 1, 0), ("L2", 5, 2))

    assert plan([("A", 4)], split) == [(1, (("L1", 1), ("L2", 3)), 0, 0)]


def test_a_warehouse_with_nothing_free_is_skipped():
    busy_first = position("A", ("L1", 4, 4), ("L2", 2, 0), ("L3", 9, 0))

    assert plan([("A", 3)], busy_first) == [(1, (("L2", 2), ("L3", 1)), 0, 0)]


# -- backorder policy and limit -------------------------------------------------------------

POLICIES = [
    # policy, limit, already waiting, outcome for 5 asked with 2 on hand
    pytest.param(DENY, None, 0, "refused", id="deny refuses any shortfall"),
    pytest.param(DENY, 10, 0, "refused", id="deny ignores a limit"),
    pytest.param(ALLOW, None, 0, "waits", id="allow with no limit"),
    pytest.param(ALLOW, None, 10_000, "waits", id="no limit means unlimited"),
    pytest.param(NOTIFY, None, 0, "waits", id="allow_notify allows"),
    pytest.param(ALLOW, 0, 0, "refused", id="limit 0 allows no backorder"),
    pytest.param(ALLOW, 3, 0, "waits", id="limit 3 lets 3 wait"),
    pytest.param(ALLOW, 2, 0, "refused", id="limit 2 refuses 3"),
    pytest.param(ALLOW, 5, 2, "waits", id="limit 5 with 2 waiting lets 3 more wait"),
    pytest.param(ALLOW, 5, 3, "refused", id="limit 5 with 3 waiting refuses 3 more"),
]


@pytest.mark.parametrize("policy, limit, already_waiting, outcome", POLICIES)
def test_the_shortfall_waits_only_within_policy_and_limit(policy, limit, already_waiting, outcome):
    sku = position("A", ("W1", 2, 0), policy=policy, limit=limit, waiting=already_waiting)

    if outcome == "waits":
        assert plan([("A", 5)], sku) == [(1, (("W1", 2),), 3, 0)]
    else:
        [(_, asked, available, room)] = refusal([("A", 5)], sku)
        assert (asked, available) == (5, 2)
        assert room == (0 if policy is DENY else max(0, limit - already_waiting))


def test_an_order_within_stock_never_asks_the_policy():
    assert plan([("A", 2)], position("A", ("W1", 2, 0), policy=ALLOW, limit=0)) == [
        (1, (("W1", 2),), 0, 0)
    ]


# -- preorders ------------------------------------------------------------------------------


def test_a_preorder_takes_no_stock_and_waits_even_under_deny():
    future = position("P", ("W1", 5, 0), release_at=NOW + timedelta(days=3))

    assert plan([("P", 2)], future) == [(1, (), 2, 0)]


def test_a_preorder_limit_caps_the_waiting_units():
    future = position("P", ("W1", 5, 0), limit=4, waiting=3, release_at=NOW + timedelta(days=3))

    assert refusal([("P", 2)], future) == [("P", 2, 0, 1)]


def test_a_released_product_is_no_longer_a_preorder():
    released = position("P", ("W1", 5, 0), release_at=NOW)

    assert plan([("P", 2)], released) == [(1, (("W1", 2),), 0, 0)]


# -- cancel_remainder -----------------------------------------------------------------------


def test_cancel_remainder_takes_what_is_there_and_cancels_the_rest_without_backorder():
    allowed = position("A", ("W1", 3, 0), policy=ALLOW)

    assert plan([("A", 5)], allowed, fulfilment=CANCEL_REST) == [(1, (("W1", 3),), 0, 2)]


def test_cancel_remainder_with_nothing_available_is_refused():
    empty = position("A", ("W1", 0, 0), policy=ALLOW)

    assert refusal([("A", 5)], empty, fulfilment=CANCEL_REST) == [("A", 5, 0, 0)]


def test_cancel_remainder_keeps_an_order_when_one_of_its_skus_is_there():
    assert plan(
        [("A", 2), ("B", 2)],
        position("A", ("W1", 0, 0)),
        position("B", ("W1", 1, 0)),
        fulfilment=CANCEL_REST,
    ) == [(1, (), 0, 2), (2, (("W1", 1),), 0, 1)]


def test_cancel_remainder_still_lets_a_preorder_wait():
    future = position("P", ("W1", 5, 0), release_at=NOW + timedelta(days=3))

    assert plan([("P", 2)], future, fulfilment=CANCEL_REST) == [(1, (), 2, 0)]


# -- every shortage at once -----------------------------------------------------------------


def test_one_refusal_lists_every_short_sku_at_once():
    shortages = refusal(
        [("C", 9), ("A", 2), ("B", 1), ("C", 1)],
        position("A", ("W1", 1, 0)),
        position("B", ("W1", 1, 0)),
        position("C", ("W1", 4, 0), policy=ALLOW, limit=2),
    )

    assert shortages == [("A", 2, 1, 0), ("C", 10, 4, 2)]


def test_plans_come_back_in_line_order_whatever_the_sku_order():
    assert [
        line_no
        for line_no, *_ in plan(
            [("B", 1), ("A", 1), ("B", 1)],
            position("A", ("W1", 5, 0)),
            position("B", ("W1", 5, 0)),
        )
    ] == [1, 2, 3]


# -- releasing and shipping holdings --------------------------------------------------------


@pytest.mark.parametrize(
    "holdings, units, released, shipped",
    [
        ([("L1", 1), ("L2", 3)], 2, [("L2", 2)], [("L1", 1), ("L2", 1)]),
        ([("L1", 1), ("L2", 3)], 4, [("L2", 3), ("L1", 1)], [("L1", 1), ("L2", 3)]),
        ([("L1", 2)], 0, [], []),
    ],
)
def test_release_gives_back_the_least_preferred_warehouse_first_and_ship_takes_the_most(
    holdings, units, released, shipped
):
    assert release_from(holdings, units) == released
    assert take_from(holdings, units) == shipped
