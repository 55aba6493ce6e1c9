"""PrestaShop imports (suppliers, products, combinations, supply orders and their lines) on the
real semicolon-separated files and on small files written here. Row numbers are file lines, the
header being row 1."""

from __future__ import annotations

from datetime import date

import pytest

from backorder.adapters.importers import prestashop, registry
from backorder.adapters.importers.csvstream import CsvFile
from backorder.service import queries
from tests.conftest import shared_file

from .importing import counts, errors, facts, on_hand, run, write

FILES = (
    "suppliers_import.csv",
    "products_import.csv",
    "combinations_import.csv",
    "supply_orders_import.csv",
    "supply_orders_details_import.csv",
)
PRODUCT_HEADER = (
    "ID;Name *;Price tax excluded or Price tax included;Reference #;Quantity;"
    "Text when backorder allowed;Out of stock"
)
DETAILS_HEADER = (
    "Supply Order Reference *;Product ID *;Product Attribute ID;"
    "Unit Price (tax excl.)*;Quantity Expected *;Discount Rate;Tax Rate"
)


def import_all(app, *names: str, currency: str = "EUR") -> dict:
    return {name: run(app, shared_file(f"prestashop/{name}"), currency=currency) for name in names}


def test_each_file_kind_is_told_by_its_header():
    kinds = []
    for name in FILES:
        with CsvFile(shared_file(f"prestashop/{name}")) as source:
            assert source.delimiter == ";"
            kinds.append(registry.detect(source).name)
    assert kinds == [
        prestashop.SUPPLIERS,
        prestashop.PRODUCTS,
        prestashop.COMBINATIONS,
        prestashop.SUPPLY_ORDERS,
        prestashop.SUPPLY_ORDER_DETAILS,
    ]


def test_the_five_files_in_order_give_suppliers_products_variants_and_one_purchase_order(app):
    results = import_all(app, *FILES)

    assert [counts(results[name]) for name in FILES] == [
        {"read": 3, "created": 3, "updated": 0, "unchanged": 0, "skipped": 0, "errors": 0},
        {"read": 7, "created": 7, "updated": 0, "unchanged": 0, "skipped": 0, "errors": 0},
        {"read": 27, "created": 25, "updated": 0, "unchanged": 0, "skipped": 0, "errors": 2},
        {"read": 4, "created": 4, "updated": 0, "unchanged": 0, "skipped": 0, "errors": 0},
        {"read": 20, "created": 1, "updated": 0, "unchanged": 0, "skipped": 0, "errors": 0},
    ]
    assert [(s.name, s.lead_time_days, s.currency) for s in queries.suppliers(app.uow)] == [
        ("Applestore", 14, "EUR"),
        ("Shure Online Store", 14, "EUR"),
        ("Nippon Electronic Import", 14, "EUR"),
    ]


def test_products_map_price_quantity_and_the_out_of_stock_rule(app):
    import_all(app, "products_import.csv")

    assert facts(app, "RP-demo_1") == ("iPod Nano", 10000, "EUR", "deny", None)
    assert on_hand(app, "RP-demo_1") == {"main": 160}
    assert facts(app, "RP-demo_7") == (
        "Shure SE210 Sound-Isolating Earphones for iPod and iPhone",
        12500,
        "EUR",
        "deny",
        None,
    )
    assert on_hand(app, "RP-demo_7") == {"main": 15}


def test_combinations_are_variants_and_their_product_stops_selling_on_its_own(app):
    results = import_all(app, "products_import.csv", "combinations_import.csv")

    assert errors(results["combinations_import.csv"]) == [
        "row 23, column Reference: 'RP-MacBookAir80GB-1.6MHz' is already the reference of row "
        "22; give each combination its own",
        "row 25, column Reference: 'RP-MacBookAir64GB-1.8MHz' is already the reference of row "
        "24; give each combination its own",
    ]
    assert facts(app, "RP-Nano-Blue-16GB") == ("iPod Nano - Blue, 16GB", 14000, "EUR", "deny", None)
    assert on_hand(app, "RP-Nano-Blue-16GB") == {"main": 10}
    assert facts(app, "RP-Shuffle-Metal")[:2] == ("iPod shuffle - Metal", 6000)
    assert on_hand(app, "RP-Shuffle-Metal") == {"main": 12}
    assert facts(app, "RP-MacBookAir80GB-1.6MHz")[1] == 225000  # 1500 + 750
    assert on_hand(app, "RP-demo_1") == {"main": 0}
    assert on_hand(app, "RP-demo_4") == {"main": 75}  # no combinations


def test_the_details_file_makes_a_purchase_order_with_the_headers_date_and_warehouse(app):
    import_all(app, *FILES)

    [po] = queries.purchase_orders(app.uow)
    supplier = next(s for s in queries.suppliers(app.uow) if s.id == po.supplier_id)
    assert (po.reference, po.warehouse, po.status, po.currency, supplier.name) == (
        "prestashop:Ref Apple 01",
        "prestashop-1",
        "sent",
        "EUR",
        "Applestore",
    )
    assert len(po.lines) == 20
    assert [
        (line.sku, line.qty, line.unit_cost_minor, line.expected_date) for line in po.lines[:2]
    ] == [
        ("RP-Nano-Blue-16GB", 25, 10000, date(2013, 11, 1)),
        ("RP-Nano-Blue-8GB", 25, 8000, date(2013, 11, 1)),
    ]
    assert (po.lines[16].sku, po.lines[16].unit_cost_minor) == ("RP-Shuffle-Metal", 4000)
    assert {"prestashop-1", "prestashop-2"} <= {w["code"] for w in queries.warehouses(app.uow)}


def test_reimporting_every_file_changes_nothing(any_app):
    app = any_app
    import_all(app, *FILES)
    ledger_rows = len(queries.ledger(app.uow))

    again = import_all(app, *FILES)

    assert [(r.created, r.updated) for r in again.values()] == [(0, 0)] * 5
    assert [r.unchanged for r in again.values()] == [3, 7, 25, 4, 1]
    assert len(queries.ledger(app.uow)) == ledger_rows
    assert len(queries.purchase_orders(app.uow)) == 1


def test_details_of_an_unknown_supply_order_or_product_are_row_errors(app, tmp_path):
    import_all(app, "suppliers_import.csv", "products_import.csv", "supply_orders_import.csv")
    path = write(
        tmp_path,
        "details.csv",
        [
            DETAILS_HEADER,
            "Ref Nobody;1;;100;5;0;19,6",
            "Ref Nobody;2;;60;5;0;19,6",
            "Ref Apple 02;1;0;99,5;3;10;19,6",
            "Ref Apple 02;9;0;10;3;0;19,6",
            "Shure Online Store;7;;80;4;2,5;19,6",
        ],
        crlf=True,
    )

    result = run(app, path)

    assert errors(result) == [
        "row 2, column Supply Order Reference *: unknown supply order 'Ref Nobody': import the "
        "supply orders first",
        "row 3, column Supply Order Reference *: unknown supply order 'Ref Nobody': import the "
        "supply orders first",
        "row 5, column Product Attribute ID: unknown product product ID 9: import it first",
    ]
    assert result.created == 1
    [po] = queries.purchase_orders(app.uow)
    assert (po.reference, po.warehouse) == ("prestashop:Shure Online Store", "prestashop-1")
    assert [(line.sku, line.qty, line.unit_cost_minor) for line in po.lines] == [
        ("RP-demo_7", 4, 7800)  # 80 less 2.5 %
    ]


def test_decimal_commas_and_the_backorder_rule_of_a_product(app, tmp_path):
    path = write(
        tmp_path,
        "products.csv",
        [
            PRODUCT_HEADER,
            "11;Cable;12,90;CAB;7;Ships in 2 weeks;1",
            "12;Plug;3,5;PLG;;;1",
            "13;Lamp;30;LMP;2;Ships later;0",
            "14;Desk;250;DSK;1;;2",
            "15;Chair;4.5.1;CHR;1;;0",
        ],
        crlf=True,
    )

    result = run(app, path)

    assert errors(result) == [
        "row 6, column Price tax excluded or Price tax included: '4.5.1' is not a price"
    ]
    assert facts(app, "CAB") == ("Cable", 1290, "USD", "allow_notify", None)
    assert on_hand(app, "CAB") == {"main": 7}
    assert facts(app, "PLG")[1:4] == (350, "USD", "allow")
    assert on_hand(app, "PLG") == {}
    assert facts(app, "LMP")[3] == "deny"
    assert facts(app, "DSK")[3] == "deny"  # 2: the shop's default, PrestaShop's is deny


@pytest.mark.parametrize(
    ("cell", "values"),
    [
        ("Blue:0, 16GB:1", ("Blue", "16GB")),
        ("Metal:0", ("Metal",)),
        ("80GB Parallel ATA Drive @ 4200 rpm:1", ("80GB Parallel ATA Drive @ 4200 rpm",)),
    ],
)
def test_attribute_values_lose_their_positions(cell, values):
    assert prestashop.attribute_values(cell) == values
