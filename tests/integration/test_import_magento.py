"""Magento 2 imports (catalog, MSI source items, sample orders) on the real files and on small
files written here. Row numbers are file lines, the header being row 1."""

from __future__ import annotations

from backorder.adapters.importers import magento, registry
from backorder.adapters.importers.csvstream import CsvFile
from backorder.domain.model import BackorderPolicy, Product
from backorder.service import catalog, queries
from tests.conftest import shared_file

from .importing import counts, errors, facts, on_hand, run, write

CATALOG = "magento2/catalog_product.csv"
CATALOG_HEADER = (
    "sku,store_view_code,product_type,name,price,qty,out_of_stock_qty,use_config_min_qty,"
    "allow_backorders,use_config_backorders,manage_stock,use_config_manage_stock"
)


def add_products(app, *skus: str) -> None:
    for sku in skus:
        catalog.save_product(app.uow, Product(sku, f"Item {sku}", 1000), app.clock())


# -- catalog ----------------------------------------------------------------------------------


def test_the_catalog_sample_imports_its_simple_products_and_skips_composites(app):
    result = run(app, shared_file(CATALOG))

    assert counts(result) == {
        "read": 7,
        "created": 3,
        "updated": 0,
        "unchanged": 0,
        "skipped": 4,
        "errors": 0,
    }
    assert result.skipped_because == {
        "grouped product: made of other products, not a stock item": 1,
        "configurable product: made of other products, not a stock item": 1,
        "bundle product: made of other products, not a stock item": 2,
    }
    assert facts(app, "24-WG085") == ("Sprite Yoga Strap 6 foot", 1400, "USD", "deny", None)
    assert facts(app, "24-WG087") == ("Sprite Yoga Strap 10 foot", 2100, "USD", "deny", None)
    assert on_hand(app, "24-WG086") == {"main": 100}


def test_reimporting_the_catalog_changes_nothing(app):
    run(app, shared_file(CATALOG))
    ledger_rows = len(queries.ledger(app.uow))

    again = run(app, shared_file(CATALOG))

    assert (again.created, again.updated, again.unchanged, again.skipped) == (0, 0, 3, 4)
    assert len(queries.ledger(app.uow)) == ledger_rows


def test_backorder_settings_threshold_and_whole_quantities(app, tmp_path):
    path = write(
        tmp_path,
        "catalog.csv",
        [
            CATALOG_HEADER,
            "NOTE,,simple,Notebook,4.50,0,-5,0,2,0,1,1",
            "PEN,,simple,Pen,1,100.0000,0,0,1,0,1,1",
            "INK,,simple,Ink,3,10.55,0,1,0,1,1,1",
            "GIFT,,virtual,Gift card,25,7,0,1,1,0,0,0",
            "PEN,default,simple,Stylo,1,100,0,1,0,1,1,1",
            "KIT,,bundle,Kit,9,0,0,1,0,1,1,1",
        ],
    )

    result = run(app, path)

    assert errors(result) == [
        "row 4, column qty: quantity 10.55 is not a whole number of base units"
    ]
    assert counts(result) == {
        "read": 6,
        "created": 3,
        "updated": 0,
        "unchanged": 0,
        "skipped": 2,
        "errors": 1,
    }
    assert facts(app, "NOTE") == ("Notebook", 450, "USD", "allow_notify", 5)
    assert on_hand(app, "NOTE") == {"main": 0}
    assert facts(app, "PEN") == ("Pen", 100, "USD", "allow", None)
    assert on_hand(app, "PEN") == {"main": 100}
    assert facts(app, "GIFT")[3] == "allow"
    assert on_hand(app, "GIFT") == {}  # Magento does not manage its stock


def test_the_catalog_carries_the_limit_so_a_reimport_replaces_ours(app, tmp_path):
    row = "NOTE,,simple,Notebook,4.5,0,-5,0,1,0,1,1"
    path = write(tmp_path, "catalog.csv", [CATALOG_HEADER, row])
    run(app, path)
    ours = Product("NOTE", "Notebook", 450, "USD", BackorderPolicy.ALLOW, 9)
    catalog.save_product(app.uow, ours, app.clock())

    again = run(app, path)

    assert again.updated == 1
    assert facts(app, "NOTE")[3:] == ("allow", 5)


# -- MSI source items -------------------------------------------------------------------------


def test_source_items_refuse_fractional_quantities_and_create_a_warehouse_per_source(app):
    add_products(app, "sku1", "sku2", "sku3", "sku4")

    result = run(app, shared_file("magento-inventory/stock_sources.csv"))

    assert errors(result) == [
        "row 2, column quantity: quantity 10.10 is not a whole number of base units",
        "row 3, column quantity: quantity 10.55 is not a whole number of base units",
    ]
    assert counts(result) == {
        "read": 4,
        "created": 2,
        "updated": 0,
        "unchanged": 0,
        "skipped": 0,
        "errors": 2,
    }
    assert on_hand(app, "sku3") == {"source-1": 10}
    assert on_hand(app, "sku4") == {"source-2": 15}
    assert on_hand(app, "sku1") == {}
    assert {"source-1", "source-2"} <= {w["code"] for w in queries.warehouses(app.uow)}


def test_an_out_of_stock_source_item_counts_zero_and_every_source_is_a_warehouse(any_app):
    app = any_app
    add_products(app, "SKU-1", "SKU-2", "SKU-3")

    result = run(app, shared_file("magento-inventory/export_full.csv"))
    again = run(app, shared_file("magento-inventory/export_full.csv"))

    assert errors(result) == [
        "row 2, column quantity: quantity 5.5000 is not a whole number of base units"
    ]
    assert (result.created, result.error_count) == (5, 1)
    assert on_hand(app, "SKU-1") == {"eu-2": 3, "eu-3": 0, "eu-disabled": 10}
    assert on_hand(app, "SKU-2") == {"us-1": 5}
    assert on_hand(app, "SKU-3") == {"eu-2": 0}
    assert (again.created, again.updated, again.unchanged, again.error_count) == (0, 0, 5, 1)


def test_the_default_source_is_the_chosen_warehouse(app, tmp_path):
    add_products(app, "A")
    path = write(tmp_path, "sources.csv", ["source_code,sku,status,quantity", "default,A,1,4.0000"])

    run(app, path)

    assert on_hand(app, "A") == {"main": 4}


# -- sample orders ----------------------------------------------------------------------------


def test_sample_orders_parse_the_product_cell_and_skip_the_refunded_one(app):
    result = run(app, shared_file("magento2-sample-data/orders.csv"), create_products=True)

    assert counts(result) == {
        "read": 2,
        "created": 1,
        "updated": 0,
        "unchanged": 0,
        "skipped": 1,
        "errors": 0,
    }
    assert result.skipped_because == {"refunded order: nothing is owed": 1}
    order = queries.order_by_ref(app.uow, "magento:orders.csv#2")
    assert [(line.sku, line.qty, line.backordered) for line in order.lines] == [
        ("WS03-XS-Red", 1, 1)
    ]
    assert (order.currency, order.channel) == ("USD", "magento")
    assert queries.customer(app.uow, order.customer_id).email == "roni_cost@example.com"
    again = run(app, shared_file("magento2-sample-data/orders.csv"), create_products=True)
    assert (again.created, again.unchanged, again.skipped) == (0, 1, 1)


def test_an_order_line_takes_the_catalog_price_and_an_unknown_child_sku_is_refused(app):
    refused = run(app, shared_file("magento2-sample-data/orders.csv"))
    tank = Product("WS03-XS-Red", "Tank XS Red", 3200, backorder_policy=BackorderPolicy.ALLOW)
    catalog.save_product(app.uow, tank, app.clock())

    placed = run(app, shared_file("magento2-sample-data/orders.csv"))

    assert errors(refused) == [
        "row 2, column product: unknown SKU 'WS03-XS-Red': not in the catalog"
    ]
    order = queries.order_by_ref(app.uow, "magento:orders.csv#2")
    assert [line.unit_price_minor for line in order.lines] == [3200]
    assert placed.created == 1


def test_the_header_tells_each_magento_file():
    told = {}
    for name in (CATALOG, "magento-inventory/stock_sources.csv", "magento2-sample-data/orders.csv"):
        with CsvFile(shared_file(name)) as source:
            told[name] = registry.detect(source).name
    assert list(told.values()) == [magento.CATALOG, magento.SOURCES, magento.ORDERS]
