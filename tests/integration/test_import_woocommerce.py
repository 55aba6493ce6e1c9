"""WooCommerce product CSV imports on the real sample files and on small files written here.

Row numbers are file lines, the header being row 1.
"""

from __future__ import annotations

from dataclasses import replace

from backorder.adapters.importers import registry, woocommerce
from backorder.adapters.importers.csvstream import CsvFile
from backorder.service import catalog, queries
from tests.conftest import shared_file

from .importing import counts, errors, facts, on_hand, run, write

HEADER = "Type,SKU,Name,Regular price,Stock,Backorders allowed?,Parent,Attribute 1 value(s)"


def test_the_importer_fixture_maps_notify_0_and_1_and_names_variations_after_their_parent(app):
    result = run(app, shared_file("woocommerce/sample.csv"))

    assert counts(result) == {
        "read": 7,
        "created": 4,
        "updated": 0,
        "unchanged": 0,
        "skipped": 3,
        "errors": 0,
    }
    assert result.skipped_because == {
        "external product: sold on another site": 1,
        "variable product: sold through its variations": 1,
        "grouped product: not a stock item": 1,
    }
    assert facts(app, "WOOLOGO") == ("Woo Logo", 2000, "USD", "allow_notify", None)
    assert on_hand(app, "WOOLOGO") == {"main": 5}
    assert facts(app, "WOOIDEA-black-m") == ("Ship Your Idea - Black, M", 2000, "USD", "deny", None)
    assert on_hand(app, "WOOIDEA-black-m") == {"main": 6}
    assert facts(app, "WOOIDEA-green-l") == (
        "Ship Your Idea - Green, L",
        2000,
        "USD",
        "allow",
        None,
    )
    assert on_hand(app, "WOOIDEA-green-l") == {"main": 10}


def test_a_product_whose_stock_is_not_managed_is_created_without_a_count(app):
    run(app, shared_file("woocommerce/sample.csv"))

    assert facts(app, "WOOALBUM") == ("Woo Album #1", 500, "USD", "deny", None)
    assert on_hand(app, "WOOALBUM") == {}


def test_the_official_sample_creates_simple_products_and_variations_only(app):
    result = run(app, shared_file("woocommerce/sample_products.csv"), currency="EUR")

    assert counts(result) == {
        "read": 25,
        "created": 21,
        "updated": 0,
        "unchanged": 0,
        "skipped": 4,
        "errors": 0,
    }
    assert result.skipped_because == {
        "variable product: sold through its variations": 2,
        "grouped product: not a stock item": 1,
        "external product: sold on another site": 1,
    }
    assert facts(app, "woo-vneck-tee-blue") == ("V-Neck T-Shirt - Blue", 1500, "EUR", "deny", None)
    assert facts(app, "woo-beanie") == ("Beanie", 2000, "EUR", "deny", None)  # not the sale price
    assert on_hand(app, "woo-beanie") == {}  # Stock is empty: not managed
    assert {p.sku for p in queries.products(app.uow, limit=100)} >= {
        "Woo-tshirt-logo",
        "woo-hoodie-blue-logo",
    }
    assert "logo-collection" not in {p.sku for p in queries.products(app.uow, limit=100)}


def test_reimporting_the_files_changes_nothing(any_app):
    app = any_app
    run(app, shared_file("woocommerce/sample.csv"))
    run(app, shared_file("woocommerce/sample_products.csv"))
    ledger_rows = len(queries.ledger(app.uow))

    first = run(app, shared_file("woocommerce/sample.csv"))
    second = run(app, shared_file("woocommerce/sample_products.csv"))

    assert (first.created, first.updated, first.unchanged, first.skipped) == (0, 0, 4, 3)
    assert (second.created, second.updated, second.unchanged, second.skipped) == (0, 0, 21, 4)
    assert len(queries.ledger(app.uow)) == ledger_rows


def test_a_reimport_keeps_our_backorder_limit_woocommerce_has_none(app):
    run(app, shared_file("woocommerce/sample.csv"))
    logo = catalog.get_product(app.uow, "WOOLOGO")
    catalog.save_product(app.uow, replace(logo, backorder_limit=3), app.clock())

    again = run(app, shared_file("woocommerce/sample.csv"))

    assert again.unchanged == 4
    assert facts(app, "WOOLOGO")[3:] == ("allow_notify", 3)


def test_bad_cells_are_reported_by_row_and_column_and_the_other_rows_apply(app, tmp_path):
    path = write(
        tmp_path,
        "bad.csv",
        [
            HEADER,
            "simple,MUG,Mug,12.50,4,1,,",
            "simple,CUP,Cup,12.50,4,sometimes,,",
            "simple,JUG,Jug,twelve,4,0,,",
            "bundle,BOX,Box,10,1,0,,",
            "variation,,,10,1,0,HAT,Red",
            "simple,BOWL,Bowl,9,2.5,0,,",
        ],
    )

    result = run(app, path)

    assert errors(result) == [
        "row 3, column Backorders allowed?: 'sometimes' is not notify, 1 or 0",
        "row 4, column Regular price: 'twelve' is not a price",
        "row 5, column Type: 'bundle' is not simple, variable, variation, grouped or external",
        "row 6, column Name: missing, and the parent is not earlier in the file",
        "row 7, column Stock: '2.5' is not a whole number",
    ]
    assert counts(result)["created"] == 1
    assert facts(app, "MUG") == ("Mug", 1250, "USD", "allow", None)


def test_a_variation_may_name_its_parent_by_id_and_lack_a_sku(app, tmp_path):
    path = write(
        tmp_path,
        "by-id.csv",
        [
            "ID,Type,SKU,Name,Regular price,Stock,Backorders allowed?,Parent,Attribute 1 value(s)",
            "44,variable,TEE,Tee,,,0,,",
            "45,variation,,,20,3,notify,id:44,Açık Mavi",
        ],
    )

    result = run(app, path)

    assert (result.created, result.skipped, result.error_count) == (1, 1, 0)
    assert facts(app, "TEE-acik-mavi") == ("Tee - Açık Mavi", 2000, "USD", "allow_notify", None)
    assert on_hand(app, "TEE-acik-mavi") == {"main": 3}


def test_the_header_tells_each_woocommerce_file_and_format_can_force_it(app):
    for name in ("sample.csv", "sample_products.csv"):
        with CsvFile(shared_file(f"woocommerce/{name}")) as source:
            assert registry.detect(source).name == woocommerce.PRODUCTS

    result = run(app, shared_file("woocommerce/sample.csv"), file_format=woocommerce.PRODUCTS)

    assert result.created == 4
