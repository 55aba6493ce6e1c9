"""`import --dry-run`: the same report as a real import, and the database as it was.

"As it was" is checked row by row: every table, every column, before and after.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
import typer
from sqlalchemy import select
from typer.testing import CliRunner

from backorder.adapters.db import tables as t
from backorder.adapters.importers.shopify import ImportOptions
from backorder.domain.model import BackorderPolicy, Product
from backorder.entrypoints.cli_import import import_file, register
from backorder.service import catalog, orders, queries
from tests.conftest import shared_file

HEADER = (
    "Handle,Title,Option1 Name,Option1 Value,Variant SKU,Variant Inventory Qty,"
    "Variant Inventory Policy,Variant Price"
)


def every_row(app) -> dict[str, list[tuple]]:
    """Each table's rows, sorted, so two dumps compare equal only when nothing changed."""
    with app.engine.connect() as conn:
        return {
            table.name: sorted(map(tuple, conn.execute(select(table))), key=repr)
            for table in t.metadata.sorted_tables
        }


def run(app, path: Path, *, dry_run: bool, **options):
    return import_file(app, path, ImportOptions(source=path.name, **options), dry_run=dry_run)


def write(tmp_path: Path, name: str, lines: list[str]) -> Path:
    path = tmp_path / name
    path.write_text("\n".join([HEADER, *lines]) + "\n", encoding="utf-8")
    return path


def summary(result) -> tuple:
    return (
        result.rows_read,
        result.created,
        result.updated,
        result.unchanged,
        result.skipped,
        result.error_count,
        [str(e) for e in result.errors],
    )


def test_a_dry_run_reports_what_the_import_will_do_and_writes_nothing(any_app):
    app = any_app
    before = every_row(app)

    dry = run(app, shared_file("shopify/apparel.csv"), dry_run=True)

    assert every_row(app) == before
    assert queries.products(app.uow) == [] and queries.ledger(app.uow) == []
    real = run(app, shared_file("shopify/apparel.csv"), dry_run=False)
    assert summary(dry) == summary(real)
    assert (dry.created, dry.updated, dry.unchanged) == (22, 0, 0)


def test_a_dry_run_over_existing_data_counts_updates_unchanged_and_refusals(any_app, tmp_path):
    app = any_app
    run(
        app,
        write(
            tmp_path,
            "v1.csv",
            [
                "a,Alpha,Title,Default Title,A-1,3,deny,10",
                "b,Beta,Title,Default Title,B-1,3,deny,10",
                "c,Gamma,Title,Default Title,C-1,3,continue,10",
            ],
        ),
        dry_run=False,
    )
    ann = catalog.create_customer(app.uow, catalog.CustomerIn("Ann"), app.clock())
    orders.place_order(
        app.uow, orders.PlaceOrder(ann.id, [orders.OrderLineIn("C-1", 5)]), app.clock()
    )
    v2 = write(
        tmp_path,
        "v2.csv",
        [
            "a,Alpha,Title,Default Title,A-1,3,deny,10",  # unchanged
            "b,Beta,Title,Default Title,B-1,7,deny,12",  # updated
            "c,Gamma,Title,Default Title,C-1,1,continue,10",  # count below the 3 allocated
            "d,Delta,Title,Default Title,D-1,-2,deny,10",  # created, 2 units owed
            "d,Delta,Title,Default Title,D-1,-2,deny,11",  # then updated
            "e,Epsilon,Title,Default Title,E-1,lots,deny,10",  # refused by the parser
        ],
    )
    before = every_row(app)

    dry = run(app, v2, dry_run=True)

    assert every_row(app) == before
    assert (dry.created, dry.updated, dry.unchanged, dry.error_count) == (1, 2, 1, 2)
    assert [(e.row, e.column) for e in dry.errors] == [
        (4, "Variant Inventory Qty"),
        (7, "Variant Inventory Qty"),
    ]
    assert summary(run(app, v2, dry_run=False)) == summary(dry)


def test_a_dry_run_of_an_orders_export_places_nothing(any_app):
    app = any_app
    for sku in ("CB-ETH-500", "LW-MIN-BRN", "YM-ECO-001", "SC-LAV-VAN", "WH-BT-001"):
        catalog.save_product(
            app.uow, Product(sku, sku, 100, "INR", BackorderPolicy.ALLOW), app.clock()
        )
    before = every_row(app)

    dry = run(app, shared_file("shopify-orders-export/orders_export_1.csv"), dry_run=True)

    assert (dry.created, dry.error_count) == (51, 0)
    assert every_row(app) == before
    assert queries.orders(app.uow) == [] and queries.customers(app.uow) == []


# -- the command ------------------------------------------------------------------------------


@pytest.fixture
def cli(sqlite_app):
    app = typer.Typer()
    register(app)

    @app.callback()
    def _root() -> None:
        pass

    url = str(sqlite_app.engine.url)
    return lambda *args: CliRunner().invoke(app, ["import", "--database-url", url, *args])


def file_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_dry_run_command_says_so_and_leaves_the_database_file_byte_for_byte(
    cli, sqlite_app, tmp_path
):
    run(sqlite_app, shared_file("shopify/apparel.csv"), dry_run=False)
    database = Path(sqlite_app.engine.url.database)
    sqlite_app.close()  # the last connection out folds the WAL into the file
    digest = file_digest(database)

    outcome = cli("--dry-run", str(shared_file("shopify/jewelery.csv")))

    assert outcome.exit_code == 0, outcome.output
    assert outcome.output.strip() == (
        "jewelery.csv (dry run: nothing written): rows read 41, created 23, updated 0, "
        "unchanged 0, skipped 18, errors 0"
    )
    assert file_digest(database) == digest
    assert not Path(f"{database}-wal").exists() or Path(f"{database}-wal").stat().st_size == 0
