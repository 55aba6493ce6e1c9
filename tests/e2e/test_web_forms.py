"""The web app through its forms (no browser): logging in, CSRF, roles, the queue actions,
receiving with a preview, imports, reports, the customer's page, and the two languages."""

from __future__ import annotations

import re
from datetime import date

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from backorder.domain.model import BackorderPolicy, Fulfilment, Product, Tier
from backorder.entrypoints.api.app import create_app
from backorder.service import catalog, orders, purchasing, queries, stock, web_users
from backorder.service.customer_links import PAGE_PURPOSE, customer_token, derived_key

PASSWORD = "correct horse battery"


@pytest.fixture
def shop(app, clock):
    """Two SKUs, a critical and a standard customer, and a web user of each role."""
    uow, now = app.uow, clock()
    for role in ("admin", "operator", "viewer"):
        web_users.add_user(uow, role, role, PASSWORD, now)
    for sku, name in (("MUG", "Enamel mug"), ("CUP", "Tin cup")):
        catalog.save_product(uow, Product(sku, name, 1250, "EUR", BackorderPolicy.ALLOW), now)
    ann = catalog.create_customer(uow, catalog.CustomerIn("Ann"), now)
    vip = catalog.create_customer(uow, catalog.CustomerIn("Vip Ltd", tier=Tier.CRITICAL), now)
    return app, ann, vip


@pytest.fixture
def client(shop):
    app, *_ = shop
    with TestClient(create_app(app, release_loop=False)) as test_client:
        yield test_client


def place(app, customer, *lines, fulfilment=None):
    cmd = orders.PlaceOrder(customer.id, [orders.OrderLineIn(s, q) for s, q in lines], fulfilment)
    return orders.place_order(app.uow, cmd, app.clock())


def token_of(client, path: str) -> str:
    page = client.get(path)
    return re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)


def login(client, name: str, password: str = PASSWORD):
    token = token_of(client, "/ui/login")
    return client.post(
        "/ui/login",
        data={"csrf_token": token, "name": name, "password": password, "next": "/ui/queue"},
        follow_redirects=False,
    )


def post(client, path: str, data: dict, page: str = "/ui/queue"):
    return client.post(
        path, data={"csrf_token": token_of(client, page), **data}, follow_redirects=False
    )


# -- logging in, CSRF, roles -----------------------------------------------------------------------


def test_pages_need_a_login_and_a_wrong_password_is_refused(client):
    assert client.get("/ui/queue", follow_redirects=False).headers["location"] == (
        "/ui/login?next=/ui/queue"
    )
    refused = login(client, "operator", "not the password")
    assert refused.status_code == 401 and "Wrong name or password." in refused.text
    unknown = login(client, "nobody", PASSWORD)
    assert unknown.status_code == 401 and "Wrong name or password." in unknown.text
    assert client.get("/ui/queue", follow_redirects=False).status_code == 303

    accepted = login(client, "operator")
    assert (accepted.status_code, accepted.headers["location"]) == (303, "/ui/queue")
    cookie = accepted.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
    assert client.get("/ui/queue").status_code == 200


def test_a_login_never_sends_you_to_another_site(client):
    token = token_of(client, "/ui/login")
    sent = client.post(
        "/ui/login",
        data={
            "csrf_token": token,
            "name": "viewer",
            "password": PASSWORD,
            "next": "//evil.example/x",
        },
        follow_redirects=False,
    )
    assert sent.headers["location"] == "/ui/"


def test_a_form_without_this_sessions_csrf_token_is_refused_and_changes_nothing(shop, client):
    app, ann, _ = shop
    order = place(app, ann, ("MUG", 2))
    login(client, "operator")
    line = order.lines[0].id
    for token in ("", "forged-token"):
        sent = client.post(
            f"/ui/lines/{line}/priority",
            data={"csrf_token": token, "direction": "raise", "reason": "vip"},
        )
        assert sent.status_code == 403 and "Form expired" in sent.text
    assert web_users.audit_entries(app.uow) == []
    assert client.post("/ui/login", data={"name": "admin", "password": PASSWORD}).status_code == 403


def test_a_viewer_reads_every_page_but_cannot_act(shop, client):
    app, ann, _ = shop
    order = place(app, ann, ("MUG", 2))
    login(client, "viewer")
    queue = client.get("/ui/queue")
    assert queue.status_code == 200 and f"#{order.id}" in queue.text
    assert "/priority" not in queue.text  # no action forms shown
    for page in ("/ui/", "/ui/skus/MUG", f"/ui/orders/{order.id}", "/ui/reports", "/ui/audit"):
        assert client.get(page).status_code == 200, page
    for page in ("/ui/receive", "/ui/imports"):
        assert client.get(page).status_code == 403, page
    acted = post(
        client, f"/ui/lines/{order.lines[0].id}/priority", {"direction": "raise", "reason": "vip"}
    )
    assert acted.status_code == 403 and "Your role does not allow this." in acted.text
    assert queries.queue(app.uow, "MUG")[0].priority.startswith("standard customer")


def test_a_password_change_ends_the_users_open_sessions(shop, client):
    app, *_ = shop
    login(client, "operator")
    assert client.get("/ui/queue").status_code == 200
    web_users.set_password(app.uow, "operator", "another long password")
    assert client.get("/ui/queue", follow_redirects=False).status_code == 303


# -- queue actions ---------------------------------------------------------------------------------


def test_raising_a_line_puts_it_first_logs_who_and_why_and_the_next_receipt_follows(shop, client):
    app, ann, vip = shop
    ann_order, vip_order = place(app, ann, ("MUG", 2)), place(app, vip, ("MUG", 2))
    assert [q.order_id for q in queries.queue(app.uow, "MUG")] == [vip_order.id, ann_order.id]
    login(client, "operator")
    line = ann_order.lines[0].id
    missing = post(client, f"/ui/lines/{line}/priority", {"direction": "raise", "reason": " "})
    assert "say why: it is kept in the audit log" in client.get(missing.headers["location"]).text

    done = post(client, f"/ui/lines/{line}/priority", {"direction": "raise", "reason": "promised"})
    assert "Priority changed." in client.get(done.headers["location"]).text
    queue = queries.queue(app.uow, "MUG")
    assert [q.order_id for q in queue] == [ann_order.id, vip_order.id]
    assert queue[0].priority.startswith("raised by an operator (override -1)")
    [entry] = web_users.audit_entries(app.uow)
    assert (entry["actor"], entry["action"], entry["subject"], entry["reason"]) == (
        "operator",
        "priority_override",
        f"line {line}",
        "promised",
    )
    assert entry["detail"]["to"] == -1
    stock.receive_stock(app.uow, "MUG", "main", 2, app.clock())
    assert queries.order(app.uow, ann_order.id).lines[0].allocated == 2
    assert queries.order(app.uow, vip_order.id).lines[0].allocated == 0


def test_releasing_a_ship_complete_hold_hands_its_units_to_the_next_in_line(shop, client):
    app, ann, vip = shop
    stock.receive_stock(app.uow, "MUG", "main", 2, app.clock())
    held = place(app, vip, ("MUG", 2), ("CUP", 1), fulfilment=Fulfilment.SHIP_COMPLETE)
    waiting = place(app, ann, ("MUG", 2))
    assert held.lines[0].allocated == 2 and waiting.lines[0].backordered == 2
    login(client, "operator")
    done = post(client, f"/ui/orders/{held.id}/release", {"reason": "CUP is months away"})
    assert "The held units went back to the queue." in client.get(done.headers["location"]).text

    assert queries.order(app.uow, waiting.id).lines[0].allocated == 2
    mug = queries.order(app.uow, held.id).lines[0]
    assert (mug.allocated, mug.backordered) == (0, 2)
    causes = [(e.order_id, e.qty, e.cause) for e in queries.allocation_log(app.uow, sku="MUG")]
    assert (held.id, -2, "hold_released") in causes and (waiting.id, 2, "hold_released") in causes
    assert web_users.audit_entries(app.uow)[0]["action"] == "release_hold"
    assert queries.check(app.uow) == []


def test_an_operator_cancels_a_line_with_a_reason_in_the_audit_log(shop, client):
    app, ann, _ = shop
    order = place(app, ann, ("MUG", 3))
    login(client, "operator")
    post(
        client,
        f"/ui/orders/{order.id}/lines/{order.lines[0].id}/cancel",
        {"reason": "customer phoned"},
    )
    assert queries.order(app.uow, order.id).lines[0].cancelled == 3
    [event] = queries.events(app.uow, kind="line_cancelled")
    assert event.payload["reason"] == "operator"
    assert web_users.audit_entries(app.uow)[0]["reason"] == "customer phoned"
    page = client.get(f"/ui/orders/{order.id}").text  # the order's history shows it once
    assert page.count("customer phoned") == 1


# -- receiving -------------------------------------------------------------------------------------


def test_the_receipt_preview_changes_nothing_and_the_confirmation_allocates_as_shown(shop, client):
    app, ann, vip = shop
    place(app, ann, ("MUG", 3))
    place(app, vip, ("MUG", 1))
    login(client, "operator")
    preview = post(
        client,
        "/ui/receive/preview",
        {"sku": "MUG", "warehouse": "main", "qty": "2"},
        page="/ui/receive",
    )
    assert "These 2 lines will be allocated 2 units." in preview.text
    assert queries.stock(app.uow, "MUG") == []  # nothing written yet
    fields = dict(re.findall(r'type="hidden" name="(\w+)" value="([^"]*)"', preview.text))
    done = client.post("/ui/receive", data=fields)
    assert "2 × MUG into main: 2 units went to 2 waiting lines." in done.text
    assert "critical customer" in done.text  # who got the units and why
    again = client.post("/ui/receive", data=fields)
    assert "already made" in again.text
    assert queries.stock(app.uow, "MUG")[0].on_hand == 2


def test_receipt_form_errors_are_shown_next_to_their_fields(client):
    login(client, "operator")
    sent = post(
        client,
        "/ui/receive/preview",
        {"sku": "NOPE", "warehouse": "main", "qty": "x"},
        page="/ui/receive",
    )
    assert sent.status_code == 422
    assert 'id="qty-error"' in sent.text and 'aria-invalid="true"' in sent.text
    unknown = post(
        client,
        "/ui/receive/preview",
        {"sku": "NOPE", "warehouse": "main", "qty": "1"},
        page="/ui/receive",
    )
    assert "No product has this SKU." in unknown.text


def test_a_po_line_is_received_through_the_same_preview(shop, client):
    app, ann, _ = shop
    place(app, ann, ("CUP", 2))
    supplier = purchasing.create_supplier(
        app.uow, purchasing.SupplierIn("Acme", 5, "EUR"), app.clock()
    )
    po = purchasing.create_purchase_order(
        app.uow, supplier.id, [purchasing.PoLineIn("CUP", 5, date(2026, 12, 20))], app.clock()
    )
    login(client, "operator")
    assert "PO " in client.get(f"/ui/purchase-orders/{po.id}").text
    preview = post(
        client,
        "/ui/receive/preview",
        {"po_line_id": str(po.lines[0].id), "qty": "5"},
        page="/ui/receive",
    )
    assert "These 1 lines will be allocated 2 units." in preview.text
    fields = dict(re.findall(r'type="hidden" name="(\w+)" value="([^"]*)"', preview.text))
    client.post("/ui/receive", data=fields)
    assert queries.purchase_order(app.uow, po.id).status == "received"


# -- imports -------------------------------------------------------------------------------------


def test_an_upload_is_checked_first_and_applied_on_request(shop, client):
    app, *_ = shop
    login(client, "operator")
    csv = (
        "Handle,Title,Option1 Name,Option1 Value,Variant SKU,Variant Inventory Qty,"
        "Variant Inventory Policy,Variant Price\n"
        "pot,Pot,Title,Default Title,POT-1,4,continue,12.50\n"
        "pan,Pan,Title,Default Title,PAN-1,2,deny,not-a-price\n"
    )
    checked = client.post(
        "/ui/imports",
        data={
            "csrf_token": token_of(client, "/ui/imports"),
            "warehouse": "main",
            "currency": "EUR",
        },
        files={"file": ("shop.csv", csv, "text/csv")},
    )
    assert "Dry run: nothing was written yet." in checked.text and "Variant Price" in checked.text
    assert queries.stock(app.uow, "POT-1") == []
    apply_path = re.search(r'action="(/ui/imports/[^"]+/apply)"', checked.text).group(1)
    applied = client.post(apply_path, data={"csrf_token": token_of(client, "/ui/imports")})
    assert "Import applied" in applied.text
    assert queries.stock(app.uow, "POT-1")[0].on_hand == 4
    assert (
        client.post(apply_path, data={"csrf_token": token_of(client, "/ui/imports")}).status_code
        == 404
    )


# -- reports -----------------------------------------------------------------------------------


def test_report_csv_guards_cells_that_a_spreadsheet_would_run(shop, client):
    app, *_ = shop
    evil = purchasing.create_supplier(
        app.uow, purchasing.SupplierIn("=HYPERLINK(1)", 5, "EUR"), app.clock()
    )
    po = purchasing.create_purchase_order(
        app.uow, evil.id, [purchasing.PoLineIn("MUG", 1, date(2026, 12, 3))], app.clock()
    )
    purchasing.receive_po_line(app.uow, po.lines[0].id, 1, app.clock())
    login(client, "viewer")
    csv = client.get("/ui/reports/supplier-on-time.csv?days=30")
    assert csv.headers["content-type"].startswith("text/csv")
    assert "'=HYPERLINK(1)" in csv.text and ",=HYPERLINK" not in csv.text
    assert client.get("/reports/supplier-on-time?days=30").json()["summary"]["on_time_rate"] == 1.0


def test_every_report_page_has_its_chart_and_table(client):
    login(client, "viewer")
    index = client.get("/ui/reports?days=7")
    assert index.text.count('<svg class="chart"') == 8
    for name in ("fill-rate", "time-to-fulfil", "cancellations", "feedback-by-wait"):
        page = client.get(f"/ui/reports/{name}?days=90")
        assert page.status_code == 200 and 'role="img"' in page.text and "<table>" in page.text
    assert client.get("/ui/reports/nonsense").status_code == 404


# -- the customer's page ------------------------------------------------------------------------


def link_of(app, customer) -> str:
    return "/my/" + customer_token(derived_key(app.uow, PAGE_PURPOSE, app.clock()), customer.id)


def test_a_customer_sees_only_their_own_orders(shop, client):
    app, ann, vip = shop
    own, other = place(app, ann, ("MUG", 1)), place(app, vip, ("MUG", 1))
    page = client.get(link_of(app, ann))
    assert f"Order #{own.id}" in page.text and f"#{other.id}" not in page.text
    assert client.get(f"{link_of(app, ann)}/orders/{own.id}").status_code == 200
    assert client.get(f"{link_of(app, ann)}/orders/{other.id}").status_code == 404
    forged = link_of(app, ann).replace(f"/my/{ann.id}.", f"/my/{vip.id}.")
    assert client.get(forged).status_code == 404
    cancel = f"{link_of(app, ann)}/orders/{other.id}/lines/{other.lines[0].id}/cancel"
    token = token_of(client, link_of(app, ann) + f"/orders/{own.id}")
    assert client.post(cancel, data={"csrf_token": token}).status_code == 404
    assert queries.order(app.uow, other.id).lines[0].cancelled == 0


def test_a_customer_cancels_a_waiting_line_and_changes_how_the_order_ships(shop, client):
    app, ann, _ = shop
    stock.receive_stock(app.uow, "CUP", "main", 1, app.clock())
    order = place(app, ann, ("MUG", 2), ("CUP", 1))
    page = f"{link_of(app, ann)}/orders/{order.id}"
    assert "no date yet" in client.get(page).text
    client.post(
        f"{page}/fulfilment",
        data={"csrf_token": token_of(client, page), "fulfilment": "ship_complete"},
    )
    assert queries.order(app.uow, order.id).fulfilment == "ship_complete"
    assert client.post(f"{page}/lines/{order.lines[0].id}/cancel", data={}).status_code == 403
    client.post(
        f"{page}/lines/{order.lines[0].id}/cancel", data={"csrf_token": token_of(client, page)}
    )
    assert queries.order(app.uow, order.id).lines[0].cancelled == 2
    assert queries.events(app.uow, kind="line_cancelled")[0].payload["reason"] == "customer"
    shown = client.get(page).text
    assert "Item cancelled" in shown and "Shipping choice changed" in shown


def test_a_purchase_order_backed_promise_says_what_it_rests_on(shop, client):
    app, ann, _ = shop
    supplier = purchasing.create_supplier(
        app.uow, purchasing.SupplierIn("Acme", 5, "EUR"), app.clock()
    )
    purchasing.create_purchase_order(
        app.uow, supplier.id, [purchasing.PoLineIn("MUG", 5, date(2026, 12, 20))], app.clock()
    )
    order = place(app, ann, ("MUG", 2))
    page = client.get(f"{link_of(app, ann)}/orders/{order.id}").text
    assert "backed by a purchase order expected 20 Dec 2026" in page


# -- languages and the catalog --------------------------------------------------------------------


def test_the_language_switch_turns_the_pages_turkish(shop, client):
    app, ann, _ = shop
    login(client, "viewer")
    switched = client.get("/ui/lang/tr?next=/ui/", follow_redirects=False)
    assert switched.headers["location"] == "/ui/"
    page = client.get("/ui/").text
    assert '<html lang="tr">' in page and "Gösterge paneli" in page and "Açık bekleyen" in page
    assert (
        client.get("/ui/lang/tr?next=https://evil.example", follow_redirects=False).headers[
            "location"
        ]
        == "/"
    )


def test_every_text_of_the_web_app_has_a_turkish_translation():
    from pathlib import Path

    from backorder.entrypoints import web
    from backorder.entrypoints.web.catalog_tr import LABELS, TR

    root = Path(web.__file__).parent
    string = r'"(?:[^"\\]|\\.)*"(?:\s*"(?:[^"\\]|\\.)*")*|\'(?:[^\'\\]|\\.)*\''
    ids = set(LABELS.values())
    for path in [*root.glob("templates/*.html"), *root.glob("*.py")]:
        ids |= {eval(f"({m})") for m in re.findall(rf"_\(\s*({string})", path.read_text())}
    assert len(ids) > 200
    assert sorted(i for i in ids if i not in TR) == []


def test_dates_in_turkish_use_the_shops_time_zone():
    from datetime import UTC, datetime

    from backorder.entrypoints.web.i18n import Formatter

    late = datetime(2026, 12, 31, 22, 30, tzinfo=UTC)
    assert Formatter("tr", "Europe/Istanbul").date(late) == "1 Oca 2027"
    assert Formatter("en", "UTC").date(late) == "31 Dec 2026"
    assert Formatter("tr", "UTC").money(125050, "TRY").replace("\xa0", " ") in (
        "₺1.250,50",
        "1.250,50 ₺",
    )


def test_the_signed_session_cookie_is_secure_behind_https(tmp_path, clock):
    from backorder.bootstrap import build
    from backorder.config import Settings

    backend = build(
        Settings(database_url=f"sqlite:///{tmp_path / 's.db'}", public_url="https://shop.example"),
        clock,
    )
    with TestClient(create_app(backend, release_loop=False)) as https_client:
        cookie = https_client.get("/ui/login").headers["set-cookie"]
    assert "Secure" in cookie and "HttpOnly" in cookie
    with backend.engine.connect() as conn:  # the key behind it was generated, not fixed
        assert conn.execute(text("SELECT count(*) FROM app_secrets")).scalar() == 1
    backend.close()


def test_ageing_on_the_dashboard(shop, client):
    app, ann, _ = shop
    place(app, ann, ("MUG", 1))
    app.clock.advance(days=20)
    place(app, ann, ("CUP", 2))
    login(client, "viewer")
    page = client.get("/ui/").text
    assert re.search(
        r'<th scope="row">15-30</th><td class="num">1</td><td class="num">1</td>', page
    )
    assert re.search(r'<th scope="row">0-7</th><td class="num">1</td><td class="num">2</td>', page)


def test_a_customer_rates_a_delivered_order_on_their_page(shop, client):
    app, ann, _ = shop
    stock.receive_stock(app.uow, "MUG", "main", 1, app.clock())
    order = place(app, ann, ("MUG", 1))
    orders.ship_order(app.uow, order.id, app.clock())
    page = f"{link_of(app, ann)}/orders/{order.id}"
    assert "How was your experience with this order?" in client.get(page).text
    token = token_of(client, page)  # the session's: the form is gone once answered
    client.post(f"{page}/feedback", data={"csrf_token": token, "rating": "4", "comment": "fine"})
    assert "you rated this order 4 of 5" in client.get(page).text
    again = client.post(
        f"{page}/feedback", data={"csrf_token": token, "rating": "1"}, follow_redirects=True
    )
    assert "This order has no open feedback request." in again.text


def test_the_dashboard_shows_payment_problems_when_there_are_some(shop, client):
    app, ann, _ = shop
    order = place(app, ann, ("MUG", 1))
    with app.uow:
        app.uow.store.insert_events(
            [
                {
                    "kind": "payment_required",
                    "order_id": order.id,
                    "sku": None,
                    "created_at": app.clock(),
                    "payload": {"order_id": order.id},
                }
            ]
        )
        app.uow.commit()
    login(client, "viewer")
    dashboard = client.get("/ui/").text
    assert "Payment needed" in dashboard and f'href="/ui/orders/{order.id}"' in dashboard
