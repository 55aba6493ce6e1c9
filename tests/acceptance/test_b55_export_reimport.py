"""B55: export, re-import of the unchanged file, export again: nothing flips, in every format."""

from __future__ import annotations

import pytest

from backorder.adapters.importers.shopify import ImportOptions
from backorder.domain.errors import InsufficientStock
from backorder.domain.model import BackorderPolicy
from backorder.entrypoints.cli_export import EXPORTERS, export_file
from backorder.entrypoints.cli_import import import_file
from backorder.service import catalog, queries, stock

from .helpers import (
    add_customer,
    add_product,
    assert_invariants,
    backorder_notices,
    parts,
    place,
    stock_of,
)

FORMATS = sorted(EXPORTERS)  # magento, shopify, shopify-products, woocommerce


def b55_catalog(app) -> None:
    """A 0 deny, B 0 allow_notify, C 5 deny, D 0 allow with a backorder limit of 5."""
    add_product(app, "A")
    add_product(app, "B", policy=BackorderPolicy.ALLOW_NOTIFY)
    add_product(app, "C")
    add_product(app, "D", policy=BackorderPolicy.ALLOW, limit=5)
    for sku, counted in (("A", 0), ("B", 0), ("C", 5), ("D", 0)):
        stock.adjust_stock(app.uow, sku, "main", app.clock(), count=counted)


def reimport(app, path):
    return import_file(app, path, ImportOptions(currency="EUR", source=path.name))


@pytest.mark.parametrize("file_format", FORMATS)
def test_b55_reimporting_an_unchanged_export_changes_nothing(any_app, tmp_path, file_format):
    app = any_app
    b55_catalog(app)
    first, second = tmp_path / "first.csv", tmp_path / "second.csv"
    products_before, ledger_before = queries.products(app.uow), queries.ledger(app.uow)

    export_file(app, first, file_format)
    imported = reimport(app, first)
    export_file(app, second, file_format)
    again = reimport(app, second)

    assert first.read_bytes() == second.read_bytes()  # the exports carry no timestamp
    assert (imported.created, imported.updated, imported.unchanged) == (0, 0, 4)
    assert (imported.skipped, imported.error_count) == (0, 0)
    assert (again.created, again.updated, again.unchanged, again.error_count) == (0, 0, 4, 0)
    assert queries.products(app.uow) == products_before
    assert queries.ledger(app.uow) == ledger_before
    assert [(s.sku, s.on_hand) for s in queries.stock(app.uow)] == [
        ("A", 0),
        ("B", 0),
        ("C", 5),
        ("D", 0),
    ]
    assert catalog.get_product(app.uow, "B").backorder_policy is BackorderPolicy.ALLOW_NOTIFY
    assert catalog.get_product(app.uow, "D").backorder_limit == 5
    assert_sellable_as_before(app)


def assert_sellable_as_before(app) -> None:
    """A is not sellable; B is, on backorder, and the order says so."""
    ann = add_customer(app)
    with pytest.raises(InsufficientStock):
        place(app, ann, ("A", 1))
    order = place(app, ann, ("B", 1))
    assert parts(order.lines[0]) == {
        "qty": 1,
        "allocated": 0,
        "backordered": 1,
        "shipped": 0,
        "cancelled": 0,
    }
    assert backorder_notices(app, order.id) == 1
    assert stock_of(app, "B") == {"on_hand": 0, "allocated": 0, "available": 0, "backordered": 1}
    assert_invariants(app)
