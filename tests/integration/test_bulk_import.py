"""Product rows by the batch (`service.bulk_imports`) end exactly where one row per
transaction (`imports.import_product`) ends: the same report, the same rows in every table.

Batches of 3 here, so SKUs repeat within a batch and across batch boundaries.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from backorder.adapters.db import tables as t
from backorder.adapters.importers import shopify
from backorder.adapters.importers.batching import apply_batched
from backorder.adapters.importers.csvstream import CsvFile, apply_all
from backorder.adapters.importers.shopify import ImportOptions
from backorder.bootstrap import build
from backorder.config import Settings
from backorder.domain.model import BackorderPolicy, Product
from backorder.service import bulk_imports, catalog, imports, orders, queries, stock
from tests.conftest import FakeClock, shared_file

HEADER = (
    "Handle,Title,Option1 Name,Option1 Value,Variant SKU,Variant Inventory Qty,"
    "Variant Inventory Policy,Variant Price"
)
LONG_NAME = "N" * 301
ROWS = [
    "n1,New one,,,N1,5,deny,10",  # created, counted
    "n2,New two,,,N2,,deny,10",  # created, stock untouched
    "n1,New one,,,N1,7,deny,12",  # same batch: updated (count and price)
    "o,Owed,,,O1,-2,deny,10",  # units owed: an order of the backlog customer
    "w,Waited for,,,W1,4,continue,10",  # waiting lines: the count serves them
    "h,Held,,,H1,1,deny,10",  # below the 3 units allocated: refused
    "b,Bad price,,,B1,1,deny,ten",  # refused by the parser
    f"l,{LONG_NAME},,,L1,1,deny,10",  # refused by the catalog's validation
    "n2,New two,,,N2,,deny,10",  # unchanged
    "z,Zed,,,Z1,3,deny,10",  # fast ...
    "z,Zed,,,Z1,-1,deny,10",  # ... then owed: this SKU's later rows go one by one
    "z,Zed,,,Z1,2,deny,10",
    "nt,Notify,,,NT,0,continue,10",  # allow_notify stays allow_notify
    "n1,New one,,,N1,7,deny,12",  # unchanged, in a later batch
]


def write(tmp_path: Path) -> Path:
    path = tmp_path / "mixed.csv"
    path.write_text("\n".join([HEADER, *ROWS]) + "\n", encoding="utf-8")
    return path


def seeded_app(path: Path):
    app = build(Settings(database_url=f"sqlite:///{path}"), clock=FakeClock())
    now = app.clock()
    for sku, policy in (
        ("W1", BackorderPolicy.ALLOW),
        ("H1", BackorderPolicy.DENY),
        ("NT", BackorderPolicy.ALLOW_NOTIFY),
    ):
        catalog.save_product(app.uow, Product(sku, sku, 1000, "USD", policy), now)
    stock.adjust_stock(app.uow, "H1", "main", now, count=3)
    ann = catalog.create_customer(app.uow, catalog.CustomerIn("Ann"), now)
    lines = [orders.OrderLineIn("W1", 2), orders.OrderLineIn("H1", 3)]
    orders.place_order(app.uow, orders.PlaceOrder(ann.id, lines), now)
    return app


def every_row(app) -> dict[str, list[tuple]]:
    """Each table's rows; ledger ids left out (batched rows reach the ledger batch first)."""
    with app.engine.connect() as conn:
        dump = {}
        for table in t.metadata.sorted_tables:
            columns = [c for c in table.c if not (table is t.ledger and c.name == "id")]
            dump[table.name] = sorted(map(tuple, conn.execute(select(*columns))), key=repr)
        return dump


def import_one_by_one(app, path: Path):
    with CsvFile(path) as source:
        entries = shopify.parse(source, shopify.PRODUCTS, ImportOptions(source=path.name))
        return apply_all(
            source, entries, lambda item: imports.import_product(app.uow, item, app.clock())
        )


def import_in_batches(app, path: Path, size: int):
    with CsvFile(path) as source:
        entries = shopify.parse(source, shopify.PRODUCTS, ImportOptions(source=path.name))
        return apply_batched(
            source,
            entries,
            lambda item: imports.import_product(app.uow, item, app.clock()),
            lambda rows: bulk_imports.import_products(app.uow, rows, app.clock()),
            size,
        )


@pytest.mark.parametrize("size", [1, 3, 1000])
def test_batches_end_where_one_row_per_transaction_ends(tmp_path, size):
    path = write(tmp_path)
    single, batched = seeded_app(tmp_path / "single.db"), seeded_app(tmp_path / "batched.db")

    expected = import_one_by_one(single, path)
    result = import_in_batches(batched, path, size)

    assert result == expected
    assert (result.created, result.updated, result.unchanged, result.error_count) == (4, 5, 2, 3)
    assert [(e.row, e.column) for e in result.errors] == [
        (7, "Variant Inventory Qty"),
        (8, "Variant Price"),
        (9, "Title"),
    ]
    assert every_row(batched) == every_row(single)
    assert queries.check(batched.uow) == []
    assert catalog.get_product(batched.uow, "NT").backorder_policy is BackorderPolicy.ALLOW_NOTIFY
    single.close()
    batched.close()


def test_only_rows_that_reach_beyond_their_own_rows_go_one_by_one(tmp_path, monkeypatch):
    """A batch that fell back to one row at a time would still be right, only slow: so say
    which rows take the slow path."""
    app, one_by_one = seeded_app(tmp_path / "batched.db"), []
    single_row = imports.import_product

    def recorded(uow, row, now):
        one_by_one.append((row.product.sku, row.on_hand))
        return single_row(uow, row, now)

    monkeypatch.setattr(imports, "import_product", recorded)

    import_in_batches(app, write(tmp_path), 1000)

    # owed units, waiting lines, below the allocated units, and Z1 from its owed row on
    assert one_by_one == [("O1", -2), ("W1", 4), ("H1", 1), ("Z1", -1), ("Z1", 2)]
    app.close()


def test_a_large_catalog_goes_by_the_batch_with_the_same_result(tmp_path):
    single, batched = seeded_app(tmp_path / "single.db"), seeded_app(tmp_path / "batched.db")
    path = shared_file("shopify/jewelery.csv")

    expected = import_one_by_one(single, path)
    result = import_in_batches(batched, path, 1000)

    assert result == expected and result.created == 23
    assert every_row(batched) == every_row(single)
    single.close()
    batched.close()
