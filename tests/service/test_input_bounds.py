"""Every date, lead time, cost and e-mail address a person gives is bounded by the service
itself, so the API and the command line refuse the same things, name the field, and write
nothing. Unbounded values were accepted before and broke later, in date arithmetic (500)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from fastapi.testclient import TestClient

from backorder.domain.errors import InvalidInput
from backorder.domain.model import BackorderPolicy, Product
from backorder.entrypoints.api.app import create_app
from backorder.service import catalog, orders, purchasing, queries, web_users
from backorder.service.validation import MAX_LEAD_TIME_DAYS  # 3650, the API's bound too
from tests.conftest import run_cli, shared_file
from tests.integration.importing import errors, run, write

PLUS_FIVE = timezone(timedelta(hours=5))
MINUS_FIVE = timezone(timedelta(hours=-5))


def _refused(call, field: str) -> InvalidInput:
    with pytest.raises(InvalidInput) as refused:
        call()
    assert refused.value.details["field"] == field, refused.value.message
    return refused.value


def _product(app, clock, sku="MUG", **fields) -> Product:
    product = Product(sku, sku, 1250, "EUR", BackorderPolicy.ALLOW, **fields)
    return catalog.save_product(app.uow, product, clock())[0]


def _order(app, clock, requested_date):
    customer = catalog.create_customer(app.uow, catalog.CustomerIn("Ann"), clock())
    cmd = orders.PlaceOrder(
        customer.id, [orders.OrderLineIn("MUG", 1)], requested_date=requested_date
    )
    return orders.place_order(app.uow, cmd, clock())


def _supplier(app, clock, lead_time_days=14, email=None):
    supplier = purchasing.SupplierIn("Acme", lead_time_days, "EUR", email=email)
    return purchasing.create_supplier(app.uow, supplier, clock())


def _po(app, clock, expected_date: date):
    supplier = _supplier(app, clock)
    line = purchasing.PoLineIn("MUG", 4, expected_date)
    return purchasing.create_purchase_order(app.uow, supplier.id, [line], clock())


# -- requested dates ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "requested",
    [
        datetime(2027, 1, 1),  # no UTC offset: which day it is depends on where you stand
        datetime(1, 1, 1, tzinfo=PLUS_FIVE),  # before year 1 in UTC: overflowed
        datetime(9999, 12, 31, 23, 0, tzinfo=MINUS_FIVE),  # after year 9999 in UTC
        datetime(1999, 12, 31, 23, 0, tzinfo=UTC),
        datetime(2100, 1, 1, tzinfo=UTC),
    ],
)
def test_an_order_with_a_requested_date_without_offset_or_out_of_range_is_refused(
    any_app, clock, requested
):
    _product(any_app, clock)

    refused = _refused(lambda: _order(any_app, clock, requested), "requested_date")

    assert "time zone" in refused.message or "2000-01-01 and 2099-12-31" in refused.message
    assert queries.orders(any_app.uow) == []


def test_an_order_names_every_unknown_sku_at_once(app, clock):
    """Only the first unknown SKU was named: one round trip per typo."""
    _product(app, clock)
    customer = catalog.create_customer(app.uow, catalog.CustomerIn("Ann"), clock())
    lines = [orders.OrderLineIn(sku, 1) for sku in ("NOPE", "MUG", "GONE")]

    refused = _refused(
        lambda: orders.place_order(app.uow, orders.PlaceOrder(customer.id, lines), clock()),
        "lines[0].sku",
    )

    assert refused.message == "lines[0].sku: unknown SKUs 'NOPE' (lines[0]), 'GONE' (lines[2])"
    assert queries.orders(app.uow) == []


def test_requested_dates_at_either_end_of_the_range_are_taken(app, clock):
    _product(app, clock)
    for requested in (datetime(2000, 1, 1, tzinfo=UTC), datetime(2099, 12, 31, tzinfo=UTC)):
        assert _order(app, clock, requested).requested_date == requested


# -- lead times -------------------------------------------------------------------------------


def test_a_product_lead_time_beyond_the_apis_maximum_is_refused(any_app, clock):
    refused = _refused(
        lambda: _product(any_app, clock, lead_time_days=MAX_LEAD_TIME_DAYS + 1), "lead_time_days"
    )

    assert str(MAX_LEAD_TIME_DAYS) in refused.message
    assert queries.products(any_app.uow) == []
    assert _product(any_app, clock, lead_time_days=MAX_LEAD_TIME_DAYS).lead_time_days == 3650


def test_a_supplier_lead_time_beyond_the_apis_maximum_is_refused(any_app, clock):
    _refused(lambda: _supplier(any_app, clock, lead_time_days=99_999_999), "lead_time_days")

    assert queries.suppliers(any_app.uow) == []
    assert _supplier(any_app, clock, lead_time_days=MAX_LEAD_TIME_DAYS).lead_time_days == 3650


# -- release dates ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "release_at",
    [
        datetime(1, 1, 1, tzinfo=PLUS_FIVE),
        datetime(1999, 12, 31, tzinfo=UTC),
        datetime(2100, 1, 1, tzinfo=UTC),
        datetime(9999, 12, 31, tzinfo=UTC),
    ],
)
def test_a_release_date_out_of_range_is_refused(app, clock, release_at):
    refused = _refused(lambda: _product(app, clock, release_at=release_at), "release_at")

    assert "between 2000-01-01 and 2099-12-31" in refused.message
    assert queries.products(app.uow) == []


def test_a_release_long_past_is_taken(app, clock):
    """A product released years ago (an old catalog, imported) is simply on sale."""
    released = datetime(2013, 11, 1, tzinfo=UTC)
    assert _product(app, clock, release_at=released).release_at == released


# -- purchase-order expected dates ----------------------------------------------------------


@pytest.mark.parametrize("expected", [date(9999, 12, 31), date(1, 1, 1), date(2100, 1, 1)])
def test_a_purchase_order_expected_out_of_range_is_refused(any_app, clock, expected):
    _product(any_app, clock)

    refused = _refused(lambda: _po(any_app, clock, expected), "lines[0].expected_date")

    assert "between 2000-01-01 and 2099-12-31" in refused.message
    assert queries.purchase_orders(any_app.uow) == []


def test_a_past_expected_date_stays_allowed_for_history_imports(app, clock):
    """PrestaShop's sample supply orders are due 2013-11-01: history, not a typo."""
    _product(app, clock)
    po = _po(app, clock, date(2013, 11, 1))
    assert po.lines[0].expected_date == date(2013, 11, 1)


def test_an_imported_supply_order_due_in_9999_is_refused_on_its_own_row(app, tmp_path):
    """The real PrestaShop suppliers, then supply orders of 2013 (history, taken) and 9999."""
    run(app, shared_file("prestashop/suppliers_import.csv"))
    supply_orders = write(
        tmp_path,
        "supply_orders.csv",
        [
            "ID;Supplier ID *;Lang ID;Warehouse ID *;Currency ID *;Supply Order Reference *;"
            "Delivery Date (Y-M-D)*;Discount Rate;Template",
            "1;1;1;1;1;Ref Apple 01;2013-11-01;;",
            "2;1;1;1;1;Ref Apple 02;9999-12-31;;",
        ],
    )

    result = run(app, supply_orders)

    assert (result.created, result.error_count) == (1, 1)
    assert "row 3, column Delivery Date (Y-M-D)*" in errors(result)[0]
    assert "between 2000-01-01 and 2099-12-31" in errors(result)[0]


@pytest.mark.parametrize("expected", [date(9999, 12, 31), date(1, 1, 1)])
def test_moving_an_expected_date_out_of_range_is_refused_and_the_line_keeps_its_date(
    app, clock, expected
):
    _product(app, clock)
    line = _po(app, clock, date(2026, 12, 20)).lines[0]

    _refused(
        lambda: purchasing.change_expected_date(app.uow, line.id, expected, clock()),
        "expected_date",
    )

    assert queries.purchase_order(app.uow, line.po_id).lines[0].expected_date == date(2026, 12, 20)


# -- supplier costs and e-mail addresses ----------------------------------------------------


def test_a_negative_supplier_cost_is_refused_and_nothing_is_recorded(any_app, clock):
    _product(any_app, clock)
    supplier = _supplier(any_app, clock)

    _refused(
        lambda: purchasing.set_supplier_product(
            any_app.uow, supplier.id, "MUG", clock(), unit_cost_minor=-5
        ),
        "unit_cost_minor",
    )

    with any_app.uow.reader() as reader:
        assert reader.store.supplier_products("MUG") == []


@pytest.mark.parametrize("email", ["notanemail", "two@at@signs", "a b@example.com", "@x", ""])
def test_a_supplier_email_that_is_no_address_is_refused(app, clock, email):
    _refused(lambda: _supplier(app, clock, email=email), "email")

    assert queries.suppliers(app.uow) == []


def test_a_supplier_email_address_is_taken(app, clock):
    assert _supplier(app, clock, email="buyer@acme.example").email == "buyer@acme.example"


# -- over HTTP, where these were 500s ----------------------------------------------------------


@pytest.fixture
def client(app):
    with TestClient(create_app(app, release_loop=False)) as client:
        yield client


@pytest.mark.parametrize(
    "requested",
    ["2027-01-01", "0001-01-01T00:00:00+05:00", "9999-12-31T23:00:00-05:00", "2100-01-01T00:00Z"],
)
def test_http_an_order_with_a_bad_requested_date_is_422_naming_it(app, clock, client, requested):
    _product(app, clock)
    ann = client.post("/customers", json={"name": "Ann"}).json()["id"]
    body = {"customer_id": ann, "lines": [{"sku": "MUG", "qty": 1}], "requested_date": requested}

    answer = client.post("/orders", json=body)

    assert answer.status_code == 422, answer.text
    assert answer.json()["details"]["field"] == "requested_date"
    assert client.get("/orders").json() == []


def test_http_purchase_order_dates_out_of_range_are_422_and_the_sku_page_still_renders(
    app, clock, client
):
    _product(app, clock)
    supplier = _supplier(app, clock)
    line = {"sku": "MUG", "qty": 4, "expected_date": "9999-12-31"}
    created = client.post("/purchase-orders", json={"supplier_id": supplier.id, "lines": [line]})
    assert created.status_code == 422, created.text
    assert "expected_date" in created.json()["details"]["field"]
    assert client.get("/purchase-orders").json() == []

    po = _po(app, clock, date(2026, 12, 20))
    moved = client.patch(f"/po-lines/{po.lines[0].id}", json={"expected_date": "0001-01-01"})
    assert moved.status_code == 422, moved.text
    assert "expected_date" in moved.json()["details"]["field"]
    assert client.get(f"/purchase-orders/{po.id}").json()["lines"][0]["expected_date"] == (
        "2026-12-20"
    )
    page = _sku_page(app, clock, client)  # its chart overflowed on a 9999-12-31 PO line
    assert page.status_code == 200 and 'id="timephased"' in page.text


def _sku_page(app, clock, client):
    web_users.add_user(app.uow, "ops", "viewer", "correct horse battery", clock())
    login = client.get("/ui/login").text
    token = login.split('name="csrf_token" value="')[1].split('"')[0]
    client.post(
        "/ui/login",
        data={"csrf_token": token, "name": "ops", "password": "correct horse battery"},
    )
    return client.get("/ui/skus/MUG")


# -- the command line refuses what the API refuses ------------------------------------------


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (["product", "add", "LT3", "Lead3", "--policy", "allow", "--lead-time", "99999999"],
         "lead_time_days"),
        (["product", "add", "REL", "Rel", "--release-date", "9999-12-31"], "release_date"),
        (["product", "add", "REL", "Rel", "--release-date", "0001-01-01"], "release_date"),
        (["supplier", "add", "Slow", "99999999"], "lead_time_days"),
        (["supplier", "add", "Acme3", "5", "--email", "notanemail"], "email"),
    ],
)  # fmt: skip
def test_cli_refuses_what_the_api_refuses(app, args, field):
    result = run_cli(app, *args)

    assert result.exit_code != 0, result.output
    assert field in result.output
    assert queries.products(app.uow) == [] and queries.suppliers(app.uow) == []


def test_cli_refuses_a_negative_supplier_cost_and_a_far_expected_date(app, clock):
    _product(app, clock)
    supplier = _supplier(app, clock)
    po = _po(app, clock, date(2026, 12, 20))

    cost = run_cli(app, "supplier", "sells", str(supplier.id), "MUG", "--cost", "-5")
    moved = run_cli(app, "po", "move", str(po.lines[0].id), "9999-12-31")

    assert cost.exit_code != 0 and "unit_cost_minor" in cost.output, cost.output
    assert moved.exit_code != 0 and "expected_date" in moved.output, moved.output
    with app.uow.reader() as reader:
        assert reader.store.supplier_products("MUG") == []
    assert queries.purchase_order(app.uow, po.id).lines[0].expected_date == date(2026, 12, 20)


def test_the_longest_lead_time_the_cli_takes_still_gives_promises_over_http(app, client):
    """99999999 days was taken, then ordering and availability were 500s (date overflow)."""
    too_long = "99999999"
    assert run_cli(app, "product", "add", "LT3", "Lead3", "--lead-time", too_long).exit_code != 0
    assert run_cli(app, "supplier", "add", "Slow", too_long).exit_code != 0
    for args in (
        ["product", "add", "LT3", "Lead3", "--policy", "allow", "--lead-time", "3650"],
        ["product", "add", "SLW", "Slow", "--policy", "allow"],
        ["supplier", "add", "Slow", "3650"],
        ["supplier", "sells", "1", "SLW", "--preferred"],
    ):
        assert run_cli(app, *args).exit_code == 0, args
    ann = client.post("/customers", json={"name": "Ann"}).json()["id"]

    for sku in ("LT3", "SLW"):
        order = client.post("/orders", json={"customer_id": ann, "lines": [{"sku": sku, "qty": 1}]})
        assert order.status_code == 201, order.text
        assert order.json()["lines"][0]["promised_date"] == "2036-11-30"  # 3650 days on
        assert client.get("/availability", params={"sku": sku, "qty": 1}).status_code == 200
