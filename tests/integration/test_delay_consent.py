"""Delay consent: a slip past the first promise asks "keep waiting or cancel this line?" with
signed links and a deadline; the shop's default answers silence (issue 8, item 9)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from fastapi.testclient import TestClient

from backorder.bootstrap import build
from backorder.config import Settings
from backorder.domain.model import BackorderPolicy
from backorder.entrypoints.api.app import create_app
from backorder.service import consent, jobs, purchasing, queries
from backorder.service.signing import TokenUsed
from tests.acceptance.helpers import add_customer, add_product, assert_invariants, line_of, place

TODAY = date(2026, 12, 3)  # the FakeClock's first day; the shop's time zone is UTC


def day(offset: int) -> date:
    return TODAY + timedelta(days=offset)


def questions(app, order_id: int | None = None) -> list:
    return queries.events(app.uow, kind="delay_consent_requested", order_id=order_id)


def token_of(url: str) -> str:
    return url.rsplit("/", 1)[1]


def promised_on_a_po(app, clock) -> tuple[int, int]:
    """A x1 ordered against a PO line expected on day 10: (order id, PO line id)."""
    add_product(app, "A", policy=BackorderPolicy.ALLOW)
    acme = purchasing.SupplierIn("Acme", 14, "EUR")
    supplier = purchasing.create_supplier(app.uow, acme, clock())
    po = purchasing.create_purchase_order(
        app.uow, supplier.id, [purchasing.PoLineIn("A", 5, day(10))], clock()
    )
    order = place(app, add_customer(app), ("A", 1))
    assert line_of(app, order.id).promised_date == day(10)
    return order.id, po.lines[0].id


def move(app, po_line: int, to: date) -> None:
    purchasing.change_expected_date(app.uow, po_line, to, app.clock())


@pytest.fixture
def cancel_by_default(tmp_path, clock):
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'c.db'}", delay_consent_default="cancel_line"
    )
    app = build(settings, clock=clock)
    yield app
    app.close()


def test_a_slip_past_the_first_promise_asks_with_two_links_and_a_deadline(any_app, clock):
    order_id, po_line = promised_on_a_po(any_app, clock)
    move(any_app, po_line, day(15))

    [asked] = questions(any_app, order_id)
    payload = asked.payload
    assert {
        k: payload[k]
        for k in ("order_id", "line_id", "sku", "first_promised_date", "promised_date", "deadline")
    } == {
        "order_id": order_id,
        "line_id": line_of(any_app, order_id).id,
        "sku": "A",
        "first_promised_date": "2026-12-13",
        "promised_date": "2026-12-18",
        "deadline": (clock() + timedelta(days=7)).isoformat(),
    }
    assert payload["keep_url"].startswith("http://127.0.0.1:8000/consent/")
    assert payload["keep_url"] != payload["cancel_url"]
    with TestClient(create_app(any_app, release_loop=False)) as client:
        keep, cancel = token_of(payload["keep_url"]), token_of(payload["cancel_url"])
        assert client.get(f"/consent/{cancel}").json()["action"] == "cancel_line"
        answered = client.post(f"/consent/{keep}")
        assert (answered.status_code, answered.json()["answer"]) == (200, "keep_waiting")
        late = client.post(f"/consent/{cancel}")
        assert (late.status_code, late.json()["code"]) == (409, "token_used")
        [stored] = client.get(f"/orders/{order_id}/delay-consents").json()
    assert (stored["status"], stored["answer"], stored["answered_by"]) == (
        "answered",
        "keep_waiting",
        "customer",
    )
    [told] = queries.events(any_app.uow, kind="delay_consent_answered", order_id=order_id)
    assert (told.payload["answer"], told.payload["answered_by"]) == ("keep_waiting", "customer")
    assert line_of(any_app, order_id).backordered == 1
    assert_invariants(any_app)


def test_a_further_slip_asks_again_and_retires_the_open_question(app, clock):
    order_id, po_line = promised_on_a_po(app, clock)
    move(app, po_line, day(15))
    first = questions(app, order_id)[0].payload

    move(app, po_line, day(20))  # further: ask again
    move(app, po_line, day(18))  # better
    move(app, po_line, day(19))  # later again, but not past day 20 already asked about

    assert [q.payload["promised_date"] for q in questions(app, order_id)] == [
        "2026-12-18",
        "2026-12-23",
    ]
    with pytest.raises(TokenUsed, match="moved again"):
        consent.answer(app.uow, token_of(first["keep_url"]), clock())
    latest = questions(app, order_id)[-1].payload
    consent.answer(app.uow, token_of(latest["keep_url"]), clock())
    move(app, po_line, day(25))  # past the date the customer agreed to: ask again
    assert len(questions(app, order_id)) == 3
    assert_invariants(app)


def test_cancel_this_line_cancels_it_through_the_service(any_app, clock):
    order_id, po_line = promised_on_a_po(any_app, clock)
    move(any_app, po_line, day(15))
    cancel_url = questions(any_app, order_id)[0].payload["cancel_url"]

    result = consent.answer(any_app.uow, token_of(cancel_url), clock())

    assert result["answer"] == "cancel_line"
    line = line_of(any_app, order_id)
    assert (line.backordered, line.cancelled) == (0, 1)
    [cancel] = queries.events(any_app.uow, kind="line_cancelled", order_id=order_id)
    assert cancel.payload["reason"] == "delay_declined"
    assert jobs.run_due_jobs(any_app.uow, clock())["consent_cancels"] == 0  # nothing left over
    assert_invariants(any_app)


def test_silence_keeps_the_line_waiting_by_default(app, clock):
    order_id, po_line = promised_on_a_po(app, clock)
    move(app, po_line, day(15))

    clock.advance(days=6, hours=23)
    assert jobs.run_due_jobs(app.uow, clock())["consents_decided_at_deadline"] == 0
    clock.advance(hours=1)
    assert jobs.run_due_jobs(app.uow, clock())["consents_decided_at_deadline"] == 1

    [stored] = consent.for_order(app.uow, order_id)
    assert (stored["answer"], stored["answered_by"]) == ("keep_waiting", "deadline")
    assert line_of(app, order_id).backordered == 1
    keep = questions(app, order_id)[0].payload["keep_url"]
    with pytest.raises(TokenUsed, match="already answered"):
        consent.answer(app.uow, token_of(keep), clock())
    assert_invariants(app)


def test_silence_cancels_the_line_when_the_shop_says_so(cancel_by_default, clock):
    app = cancel_by_default
    order_id, po_line = promised_on_a_po(app, clock)
    move(app, po_line, day(15))

    clock.advance(days=7)
    done = jobs.run_due_jobs(app.uow, clock())

    assert (done["consents_decided_at_deadline"], done["consent_cancels"]) == (1, 1)
    assert line_of(app, order_id).cancelled == 1
    [cancel] = queries.events(app.uow, kind="line_cancelled", order_id=order_id)
    assert cancel.payload["reason"] == "delay_consent_deadline"
    assert_invariants(app)


def test_a_line_back_on_time_by_the_deadline_is_not_cancelled(cancel_by_default, clock):
    app = cancel_by_default
    order_id, po_line = promised_on_a_po(app, clock)
    move(app, po_line, day(15))
    move(app, po_line, day(10))  # back to the first promise

    clock.advance(days=7)
    done = jobs.run_due_jobs(app.uow, clock())

    assert (done["consents_decided_at_deadline"], done["consent_cancels"]) == (1, 0)
    assert consent.for_order(app.uow, order_id)[0]["status"] == "moot"
    assert line_of(app, order_id).backordered == 1
    assert_invariants(app)


def test_a_line_never_given_a_date_is_asked_once_14_days_after_the_order(app, clock):
    add_product(app, "A", policy=BackorderPolicy.ALLOW)  # no supplier, no lead time: no date
    order = place(app, add_customer(app), ("A", 1))
    assert line_of(app, order.id).promised_date is None

    clock.advance(days=13, hours=23)
    assert jobs.run_due_jobs(app.uow, clock())["consents_requested"] == 0
    clock.advance(hours=1)
    assert jobs.run_due_jobs(app.uow, clock())["consents_requested"] == 1
    assert jobs.run_due_jobs(app.uow, clock())["consents_requested"] == 0

    [asked] = questions(app, order.id)
    assert (asked.payload["first_promised_date"], asked.payload["promised_date"]) == (None, None)
    assert consent.for_order(app.uow, order.id)[0]["reference_date"] == day(14)
    assert_invariants(app)


def test_an_answer_after_the_deadline_is_refused(app, clock):
    order_id, po_line = promised_on_a_po(app, clock)
    move(app, po_line, day(15))
    keep = questions(app, order_id)[0].payload["keep_url"]

    clock.advance(days=7, seconds=1)

    with pytest.raises(TokenUsed, match="deadline"):
        consent.answer(app.uow, token_of(keep), clock())
    assert line_of(app, order_id).backordered == 1
    assert_invariants(app)
