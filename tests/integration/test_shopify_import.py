"""Shopify imports on the real sample files, and on small files written here for the edge cases.

Row numbers are file lines, the header being row 1.
"""

from __future__ import annotations

import tracemalloc
from datetime import UTC, datetime
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from backorder.adapters.importers import shopify
from backorder.adapters.importers.csvstream import CsvFile, ImportResult, Parsed
from backorder.adapters.importers.shopify import ImportOptions
from backorder.domain.errors import InsufficientStock, NotFound
from backorder.domain.model import BackorderPolicy, Product
from backorder.entrypoints.cli_import import import_file, register
from backorder.service import catalog, orders, queries, stock
from tests.conftest import shared_file

ORDERS_EXPORT = "shopify-orders-export/orders_export_1.csv"
PRODUCT_HEADER = (
    "Handle,Title,Option1 Name,Option1 Value,Variant SKU,Variant Inventory Qty,"
    "Variant Inventory Policy,Variant Price"
)
INVENTORY_HEADER = (
    "Handle,Title,Option1 Name,Option1 Value,Option2 Name,Option2 Value,Option3 Name,"
    "Option3 Value,SKU,HS Code,COO,Location,Incoming,Unavailable,Committed,Available,On hand"
)
ORDERS_HEADER = (
    "Name,Email,Financial Status,Currency,Created at,Lineitem quantity,Lineitem name,"
    "Lineitem price,Lineitem sku,Lineitem fulfillment status,Billing Name"
)


def run(app, path: Path, file_format: str | None = None, **options) -> ImportResult:
    result = import_file(app, path, ImportOptions(source=path.name, **options), file_format)
    assert queries.check(app.uow) == []
    return result


def write(tmp_path: Path, name: str, lines: list[str], *, bom=False, crlf=False) -> Path:
    text = ("\r\n" if crlf else "\n").join(lines) + "\n"
    path = tmp_path / name
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8"))
    return path


def product(app, sku: str) -> Product:
    return catalog.get_product(app.uow, sku)


def on_hand(app, sku: str, warehouse: str = "main") -> int:
    return next(s.on_hand for s in queries.stock(app.uow, sku) if s.warehouse == warehouse)


def errors(result: ImportResult) -> list[str]:
    return [str(error) for error in result.errors]


# -- product CSV, real files ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "rows", "created", "skipped"),
    [
        ("apparel.csv", 22, 22, 0),
        ("home-and-garden.csv", 21, 21, 0),
        ("jewelery.csv", 41, 23, 18),  # 18 image-only rows
        ("product_template.csv", 17, 16, 1),
    ],
)
def test_each_variant_row_becomes_a_product_and_image_rows_are_skipped(
    app, name, rows, created, skipped
):
    result = run(app, shared_file(f"shopify/{name}"))

    assert (result.rows_read, result.created, result.skipped) == (rows, created, skipped)
    assert (result.updated, result.unchanged, result.error_count) == (0, 0, 0)
    assert len(queries.products(app.uow, limit=1000)) == created


def test_apparel_skus_fall_back_to_handle_and_option_values(app):
    run(app, shared_file("shopify/apparel.csv"))

    shirt = product(app, "ocean-blue-shirt")
    assert (shirt.name, shirt.price_minor, shirt.currency) == ("Ocean Blue Shirt", 5000, "USD")
    assert shirt.backorder_policy is BackorderPolicy.DENY
    assert on_hand(app, "ocean-blue-shirt") == 1
    assert product(app, "classic-varsity-top-medium").name == "Classic Varsity Top - Medium"
    assert product(app, "classic-varsity-top-large").price_minor == 6000


def test_decimal_prices_become_minor_units(app):
    run(app, shared_file("shopify/home-and-garden.csv"), currency="EUR")

    assert product(app, "clay-plant-pot-regular").price_minor == 999
    assert product(app, "clay-plant-pot-large").price_minor == 1599
    assert product(app, "clay-plant-pot-large").currency == "EUR"
    assert on_hand(app, "clay-plant-pot-large") == 3
    assert product(app, "cream-sofa").price_minor == 50000


def test_current_template_carries_title_to_variant_rows(app):
    run(app, shared_file("shopify/product_template.csv"))

    tee = product(app, "SRT_COT_122")
    assert (tee.name, tee.price_minor) == ("Example T-Shirt - Green / M", 2500)
    assert tee.backorder_policy is BackorderPolicy.DENY
    assert on_hand(app, "SRT_COT_122") == 0
    assert product(app, "PNT_DEN_305").name == "Example Jeans - 30"
    assert on_hand(app, "PNT_DEN_305") == 15
    assert (product(app, "HAT_GRY_275").name, product(app, "HAT_GRY_275").price_minor) == (
        "Example Beanie",
        1799,
    )
    assert on_hand(app, "HAT_GRY_275") == 50


def test_jewelery_rows_spanning_lines_are_numbered_by_their_first_line(app, tmp_path):
    # choker-with-gold-pendant's description spans file lines 14 to 21.
    with CsvFile(shared_file("shopify/jewelery.csv")) as source:
        entries = shopify.parse(source, shopify.PRODUCTS, ImportOptions())
        rows = {e.item.product.sku: e.row for e in entries if isinstance(e, Parsed)}

    assert rows["choker-with-gold-pendant"] == 14
    assert rows["choker-with-triangle"] == 23  # line 22 is an image-only row


def test_reimporting_a_catalog_changes_nothing(app):
    run(app, shared_file("shopify/apparel.csv"))
    ledger_rows = len(queries.ledger(app.uow))

    again = run(app, shared_file("shopify/apparel.csv"))

    assert (again.created, again.updated, again.unchanged) == (0, 0, 22)
    assert len(queries.ledger(app.uow)) == ledger_rows


# -- product CSV, edge cases ------------------------------------------------------------------


def test_bom_crlf_and_untidy_headers_are_read(app, tmp_path):
    path = write(
        tmp_path,
        "untidy.csv",
        [
            "  handle ,TITLE,option1  name,Option1 Value,variant sku,Variant Inventory Qty ,"
            "VARIANT INVENTORY POLICY,Variant Price",
            "mug,Enamel Mug,Colour,Blue,MUG-B,4,continue,12.50",
            "mug,,,Red,MUG-R,0,deny,12.5",
            "mug,,,Açık Mavi,,1,deny,12.5",
        ],
        bom=True,
        crlf=True,
    )

    result = run(app, path)

    assert (result.created, result.error_count) == (3, 0)
    assert product(app, "MUG-B").name == "Enamel Mug - Blue"
    assert product(app, "mug-acik-mavi").name == "Enamel Mug - Açık Mavi"
    assert product(app, "MUG-B").backorder_policy is BackorderPolicy.ALLOW
    assert product(app, "MUG-R").backorder_policy is BackorderPolicy.DENY
    assert product(app, "MUG-R").price_minor == 1250
    assert on_hand(app, "MUG-B") == 4


def test_a_windows_1252_byte_does_not_stop_the_import(app, tmp_path):
    path = tmp_path / "excel.csv"
    path.write_bytes(
        f"{PRODUCT_HEADER}\r\ncafe,Caf\xe9 Mug,Title,Default Title,,2,deny,3\r\n".encode("latin-1")
    )

    run(app, path)

    assert product(app, "cafe").name == "Café Mug"


def test_a_bad_price_is_reported_by_row_and_column_and_other_rows_apply(app, tmp_path):
    path = write(
        tmp_path,
        "bad.csv",
        [
            PRODUCT_HEADER,
            "a,Alpha,Title,Default Title,A-1,3,deny,10",
            "b,Beta,Title,Default Title,B-1,3,deny,ten",
            "c,Gamma,Title,Default Title,C-1,lots,deny,10",
            "d,Delta,Title,Default Title,D-1,3,sometimes,10",
            "e,Epsilon,Title,Default Title,E-1,3,deny,",
        ],
    )

    result = run(app, path)

    assert errors(result) == [
        "row 3, column Variant Price: 'ten' is not a price (digits and a decimal point)",
        "row 4, column Variant Inventory Qty: 'lots' is not a whole number",
        "row 5, column Variant Inventory Policy: 'sometimes' is not deny or continue",
        "row 6, column Variant Price: missing",
    ]
    assert (result.rows_read, result.created) == (5, 1)
    assert [p.sku for p in queries.products(app.uow)] == ["A-1"]


def test_negative_quantity_becomes_backordered_demand_even_when_policy_denies(any_app, tmp_path):
    app = any_app
    path = write(
        tmp_path,
        "owed.csv",
        [
            PRODUCT_HEADER,
            "lamp,Desk Lamp,Title,Default Title,LAMP,-4,deny,40",
        ],
    )

    first = run(app, path)
    again = run(app, path)

    assert (first.created, again.unchanged) == (1, 1)
    assert [(s.on_hand, s.allocated) for s in queries.stock(app.uow, "LAMP")] == [(0, 0)]
    assert [entry.backordered for entry in queries.queue(app.uow, "LAMP")] == [4]
    backlog = queries.order_by_ref(app.uow, "shopify-backlog:LAMP@main")
    assert [(line.qty, line.backordered) for line in backlog.lines] == [(4, 4)]
    assert queries.customer(app.uow, backlog.customer_id).external_id == "shopify-backlog"
    assert product(app, "LAMP").backorder_policy is BackorderPolicy.DENY
    assert len(queries.orders(app.uow)) == 1


def test_the_deny_policy_still_holds_for_new_orders_after_owed_units(app, tmp_path):
    run(app, write(tmp_path, "owed.csv", [PRODUCT_HEADER, "lamp,Lamp,,,LAMP,-1,deny,40"]))
    ann = catalog.create_customer(app.uow, catalog.CustomerIn("Ann"), app.clock())

    with pytest.raises(InsufficientStock):
        orders.place_order(
            app.uow, orders.PlaceOrder(ann.id, [orders.OrderLineIn("LAMP", 1)]), app.clock()
        )


def test_a_row_whose_count_is_refused_leaves_its_product_as_it_was(any_app, tmp_path):
    app = any_app
    run(app, write(tmp_path, "v1.csv", [PRODUCT_HEADER, "mug,Mug,,,MUG,5,continue,12.50"]))
    ann = catalog.create_customer(app.uow, catalog.CustomerIn("Ann"), app.clock())
    orders.place_order(
        app.uow, orders.PlaceOrder(ann.id, [orders.OrderLineIn("MUG", 4)]), app.clock()
    )

    result = run(app, write(tmp_path, "v2.csv", [PRODUCT_HEADER, "mug,Mug,,,MUG,2,deny,15"]))

    assert [(e.row, e.column) for e in result.errors] == [(2, "Variant Inventory Qty")]
    assert "allocated" in result.errors[0].reason
    mug = product(app, "MUG")
    assert (mug.price_minor, mug.backorder_policy) == (1250, BackorderPolicy.ALLOW)
    assert on_hand(app, "MUG") == 5


# -- inventory export -------------------------------------------------------------------------


def inventory_file(tmp_path: Path, *, quantity_columns: str = "Available,On hand") -> Path:
    header = INVENTORY_HEADER.replace("Available,On hand", quantity_columns)
    two = quantity_columns.count(",") == 1
    rows = [
        ("ocean-blue-shirt,Ocean Blue Shirt,Title,Default Title", "Shop location", "5", "7"),
        ("classic-varsity-top,Classic Varsity Top,Size,Small", "Shop location", "3", "3"),
        (
            "classic-varsity-top,Classic Varsity Top,Size,Small",
            "Depo İstanbul",
            "not stocked",
            "not stocked",
        ),
        ("classic-varsity-top,Classic Varsity Top,Size,Medium", "Depo İstanbul", "2", "2"),
        ("classic-varsity-top,Classic Varsity Top,Size,Large", "Shop location", "-2", "-2"),
        ("no-such-thing,Ghost,Title,Default Title", "Shop location", "1", "1"),
    ]
    lines = [
        f"{variant},,,,,,,,{location},0,0,0,{available}" + (f",{held}" if two else "")
        for variant, location, available, held in rows
    ]
    return write(tmp_path, "inventory_export_1.csv", [header, *lines], bom=True, crlf=True)


def test_inventory_export_counts_stock_per_location(any_app, tmp_path):
    app = any_app
    run(app, shared_file("shopify/apparel.csv"))

    result = run(app, inventory_file(tmp_path))

    assert (result.rows_read, result.created, result.skipped) == (6, 4, 1)
    assert errors(result) == [
        "row 7, column SKU: unknown SKU 'no-such-thing': import its product first"
    ]
    warehouses = {w["code"]: w["name"] for w in queries.warehouses(app.uow)}
    assert warehouses["shop-location"] == "Shop location"
    assert warehouses["depo-istanbul"] == "Depo İstanbul"
    assert on_hand(app, "ocean-blue-shirt", "shop-location") == 7
    assert on_hand(app, "classic-varsity-top-small", "shop-location") == 3
    assert on_hand(app, "classic-varsity-top-medium", "depo-istanbul") == 2
    assert on_hand(app, "classic-varsity-top-large", "shop-location") == 0
    # 2 owed: the unit counted at main by the catalog import serves one at once.
    backlog = queries.order_by_ref(
        app.uow, "shopify-backlog:classic-varsity-top-large@shop-location"
    )
    assert [(x.qty, x.allocated, x.backordered) for x in backlog.lines] == [(2, 1, 1)]
    assert on_hand(app, "ocean-blue-shirt", "main") == 1  # the catalog's count is untouched

    again = run(app, inventory_file(tmp_path))
    assert (again.created, again.updated, again.unchanged) == (0, 0, 4)


def test_inventory_export_without_on_hand_counts_available(app, tmp_path):
    run(app, shared_file("shopify/apparel.csv"))

    result = run(app, inventory_file(tmp_path, quantity_columns="Available"))

    assert result.created == 4
    assert on_hand(app, "ocean-blue-shirt", "shop-location") == 5


# -- orders export ----------------------------------------------------------------------------


def test_orders_export_places_every_order_once_with_created_products(any_app):
    app = any_app
    result = run(app, shared_file(ORDERS_EXPORT), create_products=True)

    assert (result.rows_read, result.created, result.error_count) == (121, 51, 0)
    placed = queries.orders(app.uow, limit=1000)
    assert len(placed) == 51
    assert sum(len(order.lines) for order in placed) == 121
    assert sum(line.backordered for order in placed for line in order.lines) == 258
    order = queries.order_by_ref(app.uow, "shopify:#1050")
    assert [(x.sku, x.qty, x.backordered, x.unit_price_minor) for x in order.lines] == [
        ("LW-MIN-BRN", 1, 1, 349900),
        ("YM-ECO-001", 2, 2, 249900),
        ("SC-LAV-VAN", 2, 2, 89900),
        ("CB-ETH-500", 1, 1, 129900),
    ]
    assert order.placed_at == datetime(2025, 12, 6, 15, 37, 30, tzinfo=UTC)
    assert (order.currency, order.channel) == ("INR", "shopify")
    assert queries.customer(app.uow, order.customer_id).external_id == "customer1@example.com"
    guest = queries.customer(app.uow, queries.order_by_ref(app.uow, "shopify:#1001").customer_id)
    assert guest.external_id == "shopify-guest:#1001"
    coffee = product(app, "CB-ETH-500")
    assert (coffee.name, coffee.price_minor, coffee.currency) == (
        "Organic Ethiopian Coffee Beans",
        129900,
        "INR",
    )
    assert coffee.backorder_policy is BackorderPolicy.ALLOW
    assert [e.backordered for e in queries.queue(app.uow, "WH-BT-001")][:1] == [5]  # #1001 first

    again = run(app, shared_file(ORDERS_EXPORT), create_products=True)
    assert (again.created, again.unchanged) == (0, 51)
    assert len(queries.orders(app.uow, limit=1000)) == 51
    assert len(queries.customers(app.uow)) == 3


def test_an_order_with_an_unknown_sku_is_refused_whole_on_that_lines_row(app):
    for sku in ("CB-ETH-500", "LW-MIN-BRN", "YM-ECO-001", "SC-LAV-VAN"):  # not WH-BT-001
        catalog.save_product(
            app.uow, Product(sku, sku, 100, "INR", BackorderPolicy.ALLOW), app.clock()
        )

    result = run(app, shared_file(ORDERS_EXPORT))

    assert (result.created, result.error_count) == (38, 15)
    assert [e.row for e in result.errors] == [
        7,
        21,
        24,
        27,
        28,
        29,
        58,
        63,
        68,
        72,
        83,
        98,
        102,
        108,
        122,
    ]
    assert str(result.errors[0]) == (
        "row 7, column Lineitem sku: unknown SKU 'WH-BT-001': not in the catalog"
    )
    with pytest.raises(NotFound):
        queries.order_by_ref(app.uow, "shopify:#1001")
    assert len(queries.orders(app.uow, limit=1000)) == 38
    # customer2@example.com's orders all want WH-BT-001: refused orders create no customer.
    assert [c.external_id for c in queries.customers(app.uow)] == ["customer1@example.com"]


def orders_file(tmp_path: Path) -> Path:
    return write(
        tmp_path,
        "orders.csv",
        [
            ORDERS_HEADER,
            "#1,ann@example.com,paid,EUR,2026-01-05 09:00:00 +0100,2,Mug,12.50,MUG,pending,Ann",
            "#1,,,,,1,Plate,8,PLATE,pending,",
            "#2,bob@example.com,paid,EUR,2026-01-05 10:00:00 +0100,1,Mug,12.50,MUG,pending,Bob",
            "#2,,,,,1,Mystery,5,,pending,",
            "#3,cy@example.com,paid,EUR,2026-01-05 11:00:00 +0100,9,Plate,8,PLATE,pending,Cy",
            "#4,dee@example.com,paid,EUR,2026-01-05 12:00:00 +0100,1,Cup,4,CUP,fulfilled,Dee",
        ],
    )


def test_order_problems_are_reported_on_their_rows_and_other_orders_apply(app, tmp_path):
    for sku, policy in (("MUG", BackorderPolicy.ALLOW), ("PLATE", BackorderPolicy.DENY)):
        catalog.save_product(app.uow, Product(sku, sku, 100, "EUR", policy), app.clock())
    stock.receive_stock(app.uow, "PLATE", "main", 3, app.clock())

    result = run(app, orders_file(tmp_path))

    assert [(e.row, e.column) for e in result.errors] == [
        (5, "Lineitem sku"),  # #2's second line has no SKU: #2 is not placed
        (6, "Lineitem quantity"),  # #3 wants 9 plates, 2 are left, backorders denied
    ]
    assert "not enough stock for PLATE" in result.errors[1].reason
    assert (result.created, result.skipped) == (1, 1)  # #1 placed, #4 already fulfilled
    first = queries.order_by_ref(app.uow, "shopify:#1")
    assert [(x.sku, x.allocated, x.backordered) for x in first.lines] == [
        ("MUG", 0, 2),
        ("PLATE", 1, 0),
    ]
    assert first.placed_at == datetime(2026, 1, 5, 8, 0, tzinfo=UTC)
    assert queries.customer(app.uow, first.customer_id).name == "Ann"


def test_an_order_in_another_currency_than_its_products_is_refused(app, tmp_path):
    catalog.save_product(app.uow, Product("MUG", "Mug", 1250, "USD"), app.clock())
    path = write(
        tmp_path,
        "eur.csv",
        [
            ORDERS_HEADER,
            "#9,ann@example.com,paid,EUR,2026-01-05 09:00:00 +0100,1,Mug,12.50,MUG,pending,Ann",
        ],
    )

    result = run(app, path)

    assert errors(result) == [
        "row 2, column Currency: the order is in EUR but the catalog prices MUG in USD"
    ]
    assert queries.orders(app.uow) == []


# -- streaming --------------------------------------------------------------------------------


def test_parsing_keeps_memory_flat_however_long_the_file(tmp_path):
    path = tmp_path / "big.csv"
    body = "x" * 200
    with path.open("w", encoding="utf-8") as out:
        out.write(PRODUCT_HEADER + ",Body (HTML)\n")
        for n in range(20_000):
            out.write(f"h{n},Thing {n},Title,Default Title,SKU-{n},{n % 7},deny,9.99,{body}\n")

    tracemalloc.start()
    with CsvFile(path) as source:
        count = sum(1 for _ in shopify.parse(source, shopify.PRODUCTS, ImportOptions()))
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()

    assert count == 20_000
    assert path.stat().st_size > 5_000_000
    assert peak < 1_000_000


# -- the command ------------------------------------------------------------------------------


@pytest.fixture
def cli(sqlite_app):
    app = typer.Typer()
    register(app)

    @app.callback()
    def _root() -> None:
        pass

    url = str(sqlite_app.engine.url)

    def invoke(*args: str):
        return CliRunner().invoke(app, ["import", "--database-url", url, *args])

    return invoke


def test_command_prints_a_summary_and_exits_0(cli):
    outcome = cli(str(shared_file("shopify/jewelery.csv")))

    assert outcome.exit_code == 0, outcome.output
    assert outcome.output.strip() == (
        "jewelery.csv: rows read 41, created 23, updated 0, unchanged 0, skipped 18, errors 0"
    )


def test_command_lists_refused_rows_and_exits_1(cli, tmp_path):
    path = write(
        tmp_path,
        "bad.csv",
        [
            PRODUCT_HEADER,
            "a,Alpha,,,A-1,3,deny,10",
            "b,Beta,,,B-1,3,deny,1O",
        ],
    )

    outcome = cli(str(path))

    assert outcome.exit_code == 1
    assert outcome.output.splitlines() == [
        "row 3, column Variant Price: '1O' is not a price (digits and a decimal point)",
        "bad.csv: rows read 2, created 1, updated 0, unchanged 0, skipped 0, errors 1",
    ]


def test_command_detects_the_inventory_export_from_its_header(cli, tmp_path):
    cli(str(shared_file("shopify/apparel.csv")))

    outcome = cli(str(inventory_file(tmp_path)))

    assert outcome.exit_code == 1  # the unknown SKU
    assert "created 4" in outcome.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["/no/such/file.csv"], "no such file"),
        (["--format", "woo", "FILE"], "unknown format 'woo'"),
        (["FILE_WITHOUT_FORMAT"], "cannot tell the format"),
        (["--warehouse", "nowhere", "FILE"], "unknown warehouse 'nowhere'"),
        (["--currency", "usd", "FILE"], "--currency 'usd'"),
    ],
)
def test_command_exits_2_on_unusable_input(cli, tmp_path, args, message):
    unknown = write(tmp_path, "other.csv", ["sku,qty", "A,1"])
    apparel = str(shared_file("shopify/apparel.csv"))
    args = [
        apparel if a == "FILE" else str(unknown) if a == "FILE_WITHOUT_FORMAT" else a for a in args
    ]

    outcome = cli(*args)

    assert outcome.exit_code == 2
    assert message in outcome.output
