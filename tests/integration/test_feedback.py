"""Feedback: one signed, single-use link per closed order; the report by waiting time and by
promise delays (issue 8, item 8)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from backorder.bootstrap import build
from backorder.config import Settings
from backorder.domain.errors import InvalidInput
from backorder.domain.model import BackorderPolicy
from backorder.entrypoints.api.app import create_app
from backorder.service import feedback, orders, purchasing, queries
from backorder.service.signing import InvalidToken, TokenUsed
from tests.acceptance.helpers import add_customer, add_product, assert_invariants, place, receive

ALLOW = BackorderPolicy.ALLOW
KEY_1, KEY_2 = "k1-" + "x7Qp2LmZ" * 5, "k2-" + "b9Wd4TrY" * 5


def links(app, order_id: int | None = None) -> list[str]:
    return [e.payload["url"] for e in queries.events(app.uow, "feedback_requested", order_id)]


def token_of(url: str) -> str:
    return url.rsplit("/", 1)[1]


def ship(app, order_id: int) -> dict:
    return orders.ship_order(app.uow, order_id, app.clock())


def waited_and_shipped(app, clock, days: int) -> int:
    """An order of A x1 that waits `days` for stock and then ships; returns its id."""
    order = place(app, add_customer(app), ("A", 1))
    clock.advance(days=days)
    receive(app, "A", 1)
    ship(app, order.id)
    return order.id


def test_a_shipped_order_gets_one_link_that_takes_one_answer(any_app, clock):
    add_product(any_app, "A", policy=ALLOW)
    order_id = waited_and_shipped(any_app, clock, days=10)

    [url] = links(any_app, order_id)
    assert url.startswith("http://127.0.0.1:8000/feedback/")
    with TestClient(create_app(any_app, release_loop=False)) as client:
        shown = client.get(f"/feedback/{token_of(url)}")
        assert (shown.status_code, shown.json()["order_id"]) == (200, order_id)
        answered = client.post(f"/feedback/{token_of(url)}", json={"rating": 4, "comment": "ok"})
        assert answered.status_code == 200
        again = client.post(f"/feedback/{token_of(url)}", json={"rating": 1})
        assert (again.status_code, again.json()["code"]) == (409, "token_used")
        assert client.get(f"/feedback/{token_of(url)}").status_code == 409
        tampered = token_of(url)[:-2] + ("AA" if not token_of(url).endswith("AA") else "BB")
        refused = client.get(f"/feedback/{tampered}")
        assert (refused.status_code, refused.json()["code"]) == (403, "invalid_token")
        stored = client.get(f"/orders/{order_id}/feedback").json()
    assert {k: stored[k] for k in ("order_status", "waiting_days", "rating", "comment")} == {
        "order_status": "shipped",
        "waiting_days": 10,
        "rating": 4,
        "comment": "ok",
    }
    assert_invariants(any_app)


def test_a_part_shipped_order_asks_once_when_its_rest_is_cancelled(app, clock):
    add_product(app, "A", policy=ALLOW)
    receive(app, "A", 1)
    order = place(app, add_customer(app), ("A", 3))
    ship(app, order.id)
    assert links(app) == []  # two units still wait
    clock.advance(days=16)

    orders.cancel_order(app.uow, order.id, clock())
    orders.cancel_order(app.uow, order.id, clock())

    assert len(links(app, order.id)) == 1
    assert feedback.of_order(app.uow, order.id)["waiting_days"] == 16
    assert_invariants(app)


def _po_line(app, clock, sku: str) -> int:
    supplier = purchasing.create_supplier(
        app.uow, purchasing.SupplierIn(f"S-{sku}", 5, "EUR"), clock()
    )
    po = purchasing.create_purchase_order(
        app.uow, supplier.id, [purchasing.PoLineIn(sku, 1, date(2026, 12, 8))], clock()
    )
    return po.lines[0].id


def test_the_report_groups_ratings_by_waiting_time_and_promise_delays(app, clock):
    """O1 waits 3 days (no delay, rates 5), O2 10 days (1 delay, 3), O3 20 days (2 delays, 2),
    O4 40 days (2 delays, 1)."""
    plan = {
        "A1": (3, 0, 5, None),
        "A2": (10, 1, 3, "late once"),
        "A3": (20, 2, 2, "slow"),
        "A4": (40, 2, 1, "never again"),
    }
    start, placed = clock(), {}
    for sku, (_, delays, _, _) in plan.items():
        add_product(app, sku, policy=ALLOW)
        po_line = _po_line(app, clock, sku)
        placed[sku] = place(app, add_customer(app, sku), (sku, 1)).id
        for step in range(delays):
            later = date(2026, 12, 8) + timedelta(days=7 * (step + 1))
            purchasing.change_expected_date(app.uow, po_line, later, clock())
    for sku, (days, _, rating, comment) in plan.items():
        clock.now = start + timedelta(days=days)
        receive(app, sku, 1)
        ship(app, placed[sku])
        [url] = links(app, placed[sku])
        feedback.submit(app.uow, token_of(url), rating, comment, clock())

    report = feedback.report(app.uow)

    assert (report["requested"], report["answered"], report["mean_rating"]) == (4, 4, 2.75)
    assert [(g["bucket"], g["answers"], g["mean_rating"]) for g in report["by_waiting_time"]] == [
        ("0-7 days", 1, 5.0),
        ("8-14 days", 1, 3.0),
        ("15-30 days", 1, 2.0),
        ("30+ days", 1, 1.0),
    ]
    assert [
        (g["promise_delays"], g["answers"], g["mean_rating"]) for g in report["by_promise_delays"]
    ] == [(0, 1, 5.0), (1, 1, 3.0), (2, 2, 1.5)]
    assert [(c["rating"], c["comment"]) for c in report["lowest_rated_comments"]] == [
        (1, "never again"),
        (2, "slow"),
        (3, "late once"),
    ]
    assert feedback.of_order(app.uow, placed["A4"])["promise_changes"] == 2
    assert_invariants(app)


def test_a_rating_outside_1_to_5_is_refused_and_the_link_stays_usable(app, clock):
    add_product(app, "A", policy=ALLOW)
    [url] = links(app, waited_and_shipped(app, clock, days=1))

    with pytest.raises(InvalidInput, match="rating"):
        feedback.submit(app.uow, token_of(url), 6, None, clock())
    assert feedback.submit(app.uow, token_of(url), 5, "  ", clock())["comment"] is None
    with pytest.raises(TokenUsed):
        feedback.submit(app.uow, token_of(url), 5, None, clock())
    assert_invariants(app)


def test_a_generated_key_is_shared_through_the_database_and_a_configured_one_is_required_to_match(
    tmp_path, clock
):
    url = f"sqlite:///{tmp_path / 'keys.db'}"
    first = build(Settings(database_url=url), clock=clock)
    add_product(first, "A", policy=ALLOW)
    [generated] = links(first, waited_and_shipped(first, clock, days=1))
    first.close()
    second = build(Settings(database_url=url), clock=clock)  # another process, same database
    assert feedback.form(second.uow, token_of(generated))["rating_scale"] == [1, 2, 3, 4, 5]
    second.close()

    signed = build(Settings(database_url=url, secret_key=KEY_1), clock=clock)
    [configured] = links(signed, waited_and_shipped(signed, clock, days=1))
    assert feedback.form(signed.uow, token_of(configured))["order_status"] == "shipped"
    signed.close()
    other = build(Settings(database_url=url, secret_key=KEY_2), clock=clock)
    with pytest.raises(InvalidToken):
        feedback.form(other.uow, token_of(configured))
    other.close()


@pytest.mark.parametrize("weak", ["too-short", "change-me-" * 4, "a" * 40])
def test_a_weak_or_placeholder_secret_key_is_refused_at_start(weak):
    with pytest.raises(ValidationError, match="secret_key"):
        Settings(secret_key=weak)
