"""Customer e-mail through a real SMTP server on loopback: once per crossing, in their language."""

from __future__ import annotations

import pytest

from backorder.domain.model import BackorderPolicy
from backorder.service import notify_admin, orders, stock

from .notify_support import (
    SmtpSink,
    add_customer,
    add_product,
    dispatcher,
    html_of,
    place,
    text_of,
)


@pytest.fixture
def smtp():
    with SmtpSink() as sink:
        yield sink


def subjects(smtp: SmtpSink) -> list[str]:
    return [m["Subject"] for m in smtp.inbox]


def test_b44_the_turkish_backorder_notice_states_only_the_backordered_units(app, smtp):
    add_product(app, "A", on_hand=3, lead_time_days=7)
    ayse = add_customer(app, "Ayşe", "ayse@example.com", locale="tr")

    order = place(app, ayse, "A", 5)
    dispatcher(app, smtp).run_until_idle()

    assert (order.lines[0].allocated, order.lines[0].backordered) == (3, 2)
    [message] = smtp.inbox
    body = text_of(message)
    assert message["To"] == "ayse@example.com"
    assert message["Subject"] == f"Tedarik bekleyen ürün bildirimi: sipariş {order.id}"
    assert "Item A (A) ürününden 2 adet şu an stokta yok" in body
    assert "5 adet" not in body and "3 adet" not in body
    assert "Tahmini tarih: 10 Aralık 2026" in body  # a lead-time estimate, not a PO date
    assert "€12,50" in body
    assert "10 Aralık 2026" in html_of(message)
    [delivery] = notify_admin.deliveries(app.uow, status="sent")
    assert delivery.idempotency_key == f"evt{delivery.event_id}-email-c{ayse}"
    assert message["Message-ID"] == f"<{delivery.idempotency_key}@example.com>"


def test_b44_in_english_with_a_purchase_order_behind_the_date(app, smtp):
    from datetime import date

    from backorder.service import purchasing

    add_product(app, "A", on_hand=3, lead_time_days=None)
    supplier = purchasing.create_supplier(
        app.uow, purchasing.SupplierIn("Acme", 10, "EUR"), app.clock()
    )
    purchasing.create_purchase_order(
        app.uow,
        supplier.id,
        [purchasing.PoLineIn("A", 10, date(2026, 12, 17))],
        app.clock(),
        send=True,
    )
    ann = add_customer(app, "Ann", "ann@example.com", locale="en")

    place(app, ann, "A", 5)
    dispatcher(app, smtp).run_until_idle()

    [message] = smtp.inbox
    body = text_of(message)
    assert "2 units of Item A (A) are on backorder" in body
    assert "Expected by December 17, 2026: confirmed, our supplier has it on a purchase" in body


def test_b26_three_backordered_orders_get_three_notices(app, smtp):
    add_product(app, "A", on_hand=0)
    ann = add_customer(app, "Ann", "ann@example.com")

    for _ in range(3):
        place(app, ann, "A", 2)
    dispatcher(app, smtp).run_until_idle()
    dispatcher(app, smtp).run_until_idle()  # a second dispatcher finds nothing more to send

    assert len(smtp.inbox) == 3
    assert all(s.startswith("Backorder notice: order ") for s in subjects(smtp))
    assert all("2 units of Item A (A) are on backorder" in text_of(m) for m in smtp.inbox)


def test_b29_reducing_a_backordered_order_sends_no_ready_to_ship_message(app, smtp):
    add_product(app, "A", on_hand=0)
    ann = add_customer(app, "Ann", "ann@example.com")
    first, second, third = (place(app, ann, "A", qty) for qty in (1, 2, 1))

    orders.change_line_qty(app.uow, second.id, second.lines[0].id, 1, app.clock())
    dispatcher(app, smtp).run_until_idle()

    assert [s.split(":")[0] for s in subjects(smtp)] == ["Backorder notice"] * 3
    assert not any(s.startswith("Ready to ship") for s in subjects(smtp))


def test_b30_one_ready_to_ship_message_and_none_after_the_second_receipt(app, smtp):
    add_product(app, "A", on_hand=0)
    ann = add_customer(app, "Ann", "ann@example.com")
    order = place(app, ann, "A", 2)
    mail = dispatcher(app, smtp)

    stock.receive_stock(app.uow, "A", "main", 2, app.clock())
    mail.run_until_idle()
    stock.receive_stock(app.uow, "A", "main", 3, app.clock())
    mail.run_until_idle()

    ready = [m for m in smtp.inbox if m["Subject"] == f"Ready to ship: order {order.id}"]
    assert len(ready) == 1
    assert "- 2 units of Item A (A)" in text_of(ready[0])
    assert len(smtp.inbox) == 2  # the backorder notice and the ready-to-ship message


def test_an_opted_out_customer_gets_no_email_but_the_others_do(app, smtp):
    add_product(app, "A", on_hand=0)
    ann = add_customer(app, "Ann", "ann@example.com")
    bob = add_customer(app, "Bob", "bob@example.com")
    notify_admin.set_opt_out(app.uow, bob, "email", True, app.clock())

    place(app, ann, "A", 1)
    place(app, bob, "A", 1)
    dispatcher(app, smtp).run_until_idle()

    assert [m["To"] for m in smtp.inbox] == ["ann@example.com"]
    assert notify_admin.opt_outs(app.uow, bob) == ["email"]


def test_a_customer_without_an_address_and_a_policy_of_deny_get_nothing(app, smtp):
    add_product(app, "A", on_hand=5, policy=BackorderPolicy.DENY)
    nobody = add_customer(app, "No mail", None)

    place(app, nobody, "A", 1)
    dispatcher(app, smtp).run_until_idle()

    assert smtp.inbox == []


def test_a_preorder_gets_a_preorder_confirmation(app, smtp):
    from datetime import timedelta

    from backorder.domain.model import Product
    from backorder.service import catalog

    release = app.clock() + timedelta(days=10)
    product = Product("P", "Item P", 5000, "EUR", BackorderPolicy.ALLOW, None, release, 7)
    catalog.save_product(app.uow, product, app.clock())
    ann = add_customer(app, "Ann", "ann@example.com")

    order = place(app, ann, "P", 1)
    dispatcher(app, smtp).run_until_idle()

    [message] = smtp.inbox
    assert message["Subject"] == f"Preorder confirmed: order {order.id}"
    preorder = "Your preorder of 1 unit of Item P (P) is confirmed; it is released on December 13"
    assert preorder in text_of(message)


def test_history_older_than_the_age_limit_mails_nobody_but_reaches_webhooks(app, clock, smtp):
    from .notify_support import SECRET, WebhookReceiver

    add_product(app, "A", on_hand=0)
    ann = add_customer(app, "Ann", "ann@example.com")
    with WebhookReceiver() as hook:
        notify_admin.add_webhook(app.uow, hook.url, clock(), ["order_backordered"], SECRET)
        place(app, ann, "A", 1)  # as an import of last month's orders would
        clock.advance(hours=73)
        dispatcher(app, smtp, notify_max_age_hours=72).run_until_idle()

    assert smtp.inbox == []
    assert [r.kind for r in hook.received] == ["order_backordered"]


def test_a_broken_merchant_template_dead_letters_its_message_and_the_rest_go_on(
    app, smtp, tmp_path
):
    (tmp_path / "tr").mkdir()
    (tmp_path / "tr" / "order_backordered.txt").write_text("{{ lines[0].nope.deeper }}\n")
    add_product(app, "A", on_hand=0)
    ayse = add_customer(app, "Ayşe", "ayse@example.com", locale="tr")
    ann = add_customer(app, "Ann", "ann@example.com", locale="en")

    place(app, ayse, "A", 1)
    place(app, ann, "A", 1)
    dispatcher(app, smtp, template_dir=str(tmp_path)).run_until_idle()

    assert [m["To"] for m in smtp.inbox] == ["ann@example.com"]
    [dead] = notify_admin.deliveries(app.uow, status="dead")
    assert dead.recipient == "ayse@example.com"
    assert dead.last_error.startswith("message could not be built: UndefinedError")


def test_a_reversed_receipt_tells_the_customer_whose_units_went_back_to_waiting(app, smtp):
    """The reversal put their units back on backorder in silence: they had been told the
    order was ready to ship."""
    from datetime import date

    from backorder.service import purchasing

    add_product(app, "A", lead_time_days=7)
    ann = add_customer(app, "Ann", "ann@example.com")
    order = place(app, ann, "A", 4)
    supplier = purchasing.create_supplier(
        app.uow, purchasing.SupplierIn("Acme", 10, "EUR"), app.clock()
    )
    po = purchasing.create_purchase_order(
        app.uow, supplier.id, [purchasing.PoLineIn("A", 4, date(2026, 12, 20))], app.clock()
    )
    receipt = purchasing.receive_po_line(app.uow, po.lines[0].id, 4, app.clock())
    dispatcher(app, smtp).run_until_idle()
    smtp.inbox.clear()

    purchasing.reverse_receipt(app.uow, receipt["receipt_id"], app.clock())
    dispatcher(app, smtp).run_until_idle()

    [message] = smtp.inbox
    assert message["Subject"] == f"Backorder notice: order {order.id}"
    assert "4 units of Item A (A) are on backorder" in text_of(message)
    assert notify_admin.deliveries(app.uow, status="dead") == []


@pytest.mark.parametrize(
    ("locale", "subject", "says"),
    [
        ("en", "A date for Item A: order {}", "we now have a date for 2 units of Item A (A)"),
        ("tr", "Item A için tarih belli oldu: sipariş {}", "2 adet için artık bir tarihimiz var"),
    ],
)
def test_a_customer_told_no_date_yet_hears_the_first_date(app, smtp, locale, subject, says):
    from datetime import date

    from backorder.service import purchasing

    add_product(app, "A", lead_time_days=None)
    order = place(app, add_customer(app, "Ann", "ann@example.com", locale=locale), "A", 2)
    dispatcher(app, smtp).run_until_idle()
    smtp.inbox.clear()  # the backorder notice: "no date yet"

    supplier = purchasing.create_supplier(
        app.uow, purchasing.SupplierIn("Acme", 10, "EUR"), app.clock()
    )
    purchasing.create_purchase_order(
        app.uow, supplier.id, [purchasing.PoLineIn("A", 5, date(2026, 12, 20))], app.clock()
    )
    dispatcher(app, smtp).run_until_idle()

    [message] = smtp.inbox
    assert message["Subject"] == subject.format(order.id)
    assert says in text_of(message)
    assert f"<title>{subject.format(order.id)}</title>" in html_of(message)
