"""Message templates: every kind in both languages, locale formats, merchant overrides."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from backorder.adapters.notify.messages import TemplateRenderer
from backorder.service.message_facts import units_by_line
from backorder.service.notifications import CUSTOMER_KINDS
from backorder.service.views import EventView

LINE = {
    "line_id": 11,
    "line_no": 1,
    "sku": "A",
    "name": "Item A",
    "qty": 5,
    "units": 2,
    "allocated": 3,
    "backordered": 2,
    "shipped": 0,
    "cancelled": 0,
    "unit_price_minor": 123456,
    "amount_minor": 246912,
    "currency": "EUR",
    "promised_date": date(2026, 12, 10),
    "promise_basis": "lead_time",
    "first_promised_date": date(2026, 12, 10),
    "preorder": False,
    "release_at": None,
    "queue_position": 3,
}
EVENT = {
    "order_id": 7,
    "line_id": 11,
    "sku": "A",
    "reason": "requested",
    "shipment_id": 4,
    "previous_date": "2026-12-10",
    "promised_date": "2026-12-20",
    "first_promised_date": "2026-12-08",
    "basis": "purchase_order",
    "hold_expires_at": "2026-12-05T12:00:00+00:00",
    "cancel_at": "2026-12-24T09:00:00+00:00",
    "url": "https://shop.example/feedback?o=7&t=x",
    "keep_url": "https://shop.example/keep",
    "cancel_url": "https://shop.example/cancel",
    "deadline": "2026-12-06T21:00:00+00:00",
}


def facts(kind: str, **changes) -> dict:
    base = {
        "kind": kind,
        "event": EVENT,
        "event_id": 1,
        "shop_name": "Dükkan",
        "occurred_at": datetime(2026, 12, 3, tzinfo=UTC),
        "customer": {"id": 1, "name": "Ayşe <b>", "email": "ayse@example.com"},
        "order": {
            "id": 7,
            "external_ref": None,
            "placed_at": None,
            "currency": "EUR",
            "fulfilment": "ship_partial",
            "status": "partially_allocated",
            "outstanding": 3,
            "waiting": 2,
        },
        "lines": [LINE],
        "preorder": False,
        "show_queue_position": False,
        "product": {
            "sku": "A",
            "name": "Item A",
            "price_minor": 1250,
            "currency": "EUR",
            "release_at": None,
        },
    }
    return base | changes


@pytest.fixture
def renderer() -> TemplateRenderer:
    return TemplateRenderer(timezone="Europe/Istanbul")


@pytest.mark.parametrize("locale", ["en", "tr"])
@pytest.mark.parametrize("kind", sorted(CUSTOMER_KINDS))
def test_every_customer_kind_has_a_subject_a_text_and_an_html_part(renderer, kind, locale):
    message = renderer.render(kind, locale, facts(kind))

    assert message.subject and "\n" not in message.subject
    assert "{{" not in message.text and "{%" not in message.text
    assert message.html.startswith("<!doctype html>")
    assert f'lang="{locale}"' in message.html


def test_turkish_dates_and_money_follow_the_locale(renderer):
    message = renderer.render("order_backordered", "tr", facts("order_backordered"))

    assert "Item A (A) ürününden 2 adet şu an stokta yok" in message.text
    assert "Tahmini tarih: 10 Aralık 2026" in message.text
    assert "€1.234,56" in message.text


def test_english_dates_and_money_follow_the_locale(renderer):
    message = renderer.render("order_backordered", "en", facts("order_backordered"))

    assert "2 units of Item A (A) are on backorder" in message.text
    assert "Estimated date: December 10, 2026" in message.text
    assert "€1,234.56" in message.text


def test_instants_are_shown_in_the_shop_time_zone(renderer):
    message = renderer.render("auto_cancel_warning", "tr", facts("auto_cancel_warning"))

    assert "24 Aralık 2026 12:00" in message.text  # 09:00 UTC is noon in Istanbul


def test_a_po_backed_date_says_so_and_an_estimate_says_it_is_one(renderer):
    po_line = LINE | {"promise_basis": "purchase_order"}
    po_backed = renderer.render("order_backordered", "en", facts("x", lines=[po_line]))
    estimate = renderer.render("order_backordered", "en", facts("x"))
    unknown = renderer.render(
        "order_backordered",
        "en",
        facts("x", lines=[LINE | {"promised_date": None, "promise_basis": "none"}]),
    )

    assert "confirmed, our supplier has it on a purchase order" in po_backed.text
    assert "an estimate from our supplier's usual lead time" in estimate.text
    assert "We do not have a date yet" in unknown.text


def test_the_queue_position_shows_only_when_the_merchant_allows_it(renderer):
    hidden = renderer.render("order_backordered", "en", facts("x"))
    shown = renderer.render("order_backordered", "en", facts("x", show_queue_position=True))

    assert "in line" not in hidden.text
    assert "You are number 3 in line for this item." in shown.text


def test_a_partial_shipment_says_what_is_still_to_come(renderer):
    partial = renderer.render("shipment_shipped", "en", facts("x"))
    full = renderer.render(
        "shipment_shipped",
        "en",
        facts("x", order=facts("x")["order"] | {"outstanding": 0, "waiting": 0}),
    )

    assert partial.subject == "Part of order 7 has shipped"
    assert "3 units still to come, 2 of them on backorder" in partial.text
    assert full.subject == "Order 7 has shipped" and "This completes your order." in full.text


def test_html_escapes_what_customers_typed(renderer):
    message = renderer.render("order_backordered", "en", facts("order_backordered"))

    assert "Ayşe &lt;b&gt;" in message.html
    assert "Hello Ayşe <b>," in message.text  # plain text stays as typed


def test_a_kind_without_a_template_has_no_message(renderer):
    assert renderer.render("order_placed", "en", facts("order_placed")) is None


def test_an_unknown_locale_falls_back_to_english(renderer):
    message = renderer.render("order_ready_to_ship", "de", facts("order_ready_to_ship"))

    assert message.subject == "Ready to ship: order 7"


def test_a_merchant_template_wins_over_the_packaged_one(tmp_path):
    (tmp_path / "tr").mkdir()
    (tmp_path / "tr" / "order_ready_to_ship.txt").write_text(
        "Kargoya hazır #{{ order.id }}\n\n{{ lines[0].units }} adet {{ lines[0].sku }}, "
        "{{ lines[0].promised_date|date }}\n",
        encoding="utf-8",
    )
    renderer = TemplateRenderer(str(tmp_path))

    message = renderer.render("order_ready_to_ship", "tr", facts("order_ready_to_ship"))
    packaged = renderer.render("order_ready_to_ship", "en", facts("order_ready_to_ship"))

    assert message.subject == "Kargoya hazır #7"
    assert message.text == "2 adet A, 10 Aralık 2026\n"
    assert "Gönderime hazır" in message.html  # no merchant HTML: the packaged one
    assert packaged.subject == "Ready to ship: order 7"


def test_a_shipment_adds_up_a_line_shipped_from_two_warehouses():
    shipped = [
        {"line_id": 11, "warehouse": "a", "qty": 2},
        {"line_id": 11, "warehouse": "b", "qty": 1},
        {"line_id": 12, "warehouse": "a", "qty": 4},
    ]
    event = EventView(
        1, "shipment_shipped", 7, None, {"lines": shipped}, datetime(2026, 12, 3, tzinfo=UTC)
    )

    units = {line_id: item["units"] for line_id, item in units_by_line(event).items()}

    assert units == {11: 3, 12: 4}


def test_a_backorder_notice_counts_only_the_backordered_part():
    event = EventView(
        1,
        "order_backordered",
        7,
        None,
        {"lines": [{"line_id": 11, "sku": "A", "qty": 5, "allocated": 3, "backordered": 2}]},
        datetime(2026, 12, 3, tzinfo=UTC),
    )

    assert units_by_line(event)[11]["units"] == 2


@pytest.mark.parametrize(
    ("locale", "reason", "said"),
    [
        (
            "en",
            "max_wait",
            "because it waited longer than the longest wait we allow. You are "
            "not charged for them (€2,469.12).",
        ),
        ("en", "refunded", "with a refund. The amount, €2,469.12, is refunded to you."),
        (
            "tr",
            "delay_declined",
            "yeni tarihi beklememeyi seçtiğiniz için iptal edildi. "
            "Bunun için ücret alınmaz (€2.469,12).",
        ),
        ("tr", "refunded", "iade ile iptal edildi. €2.469,12 tutarı size iade edilir."),
    ],
)
def test_a_cancellation_states_its_reason_and_what_is_charged(renderer, locale, reason, said):
    event = EVENT | {"reason": reason}

    message = renderer.render("line_cancelled", locale, facts("line_cancelled", event=event))

    assert said in message.text


def test_a_payment_event_listing_bare_line_ids_names_those_lines():
    event = EventView(
        1,
        "payment_required",
        7,
        None,
        {"order_id": 7, "lines": [11, 12]},
        datetime(2026, 12, 3, tzinfo=UTC),
    )
    assert list(units_by_line(event)) == [11, 12]


@pytest.mark.parametrize(
    ("locale", "says"),
    [("en", "update your payment method"), ("tr", "ödeme yönteminizi güncelleyin")],
)
def test_payment_required_tells_the_customer_until_when_the_items_stay_reserved(
    renderer, locale, says
):
    event = EVENT | {"grace_until": "2026-12-05T09:00:00+00:00", "reason": "card expired"}
    message = renderer.render("payment_required", locale, facts("payment_required", event=event))
    assert says in message.text
    assert "card expired" in message.text
    assert "2026" in message.text
