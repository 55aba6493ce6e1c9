"""B57: a CSV update with zero stock must not lose the backorder setting.

H is imported from a WooCommerce product CSV with `Stock` 0 and `Backorders allowed?` `notify`
("allow, and notify the customer"); an order for two is then accepted, both units waiting.
"""

from __future__ import annotations

from backorder.adapters.importers.shopify import ImportOptions
from backorder.domain.model import BackorderPolicy
from backorder.entrypoints.cli_import import import_file
from backorder.service import catalog

from .helpers import add_customer, assert_invariants, backorder_notices, parts, place, stock_of

HEADER = "Type,SKU,Name,Regular price,Stock,Backorders allowed?"


def import_h(app, tmp_path) -> None:
    path = tmp_path / "h.csv"
    path.write_text(f"{HEADER}\nsimple,H,Hat,20,0,notify\n", encoding="utf-8")
    result = import_file(app, path, ImportOptions(source=path.name))
    assert (result.created + result.updated + result.unchanged, result.error_count) == (1, 0)


def test_b57_imported_allow_and_notify_with_zero_stock_accepts_the_order_and_says_so(
    any_app, tmp_path
):
    import_h(any_app, tmp_path)
    h = catalog.get_product(any_app.uow, "H")
    assert (h.backorder_policy, stock_of(any_app, "H")["on_hand"]) == (
        BackorderPolicy.ALLOW_NOTIFY,
        0,
    )
    ann = add_customer(any_app)

    placed = place(any_app, ann, ("H", 2))

    assert parts(placed.lines[0]) == {
        "qty": 2,
        "allocated": 0,
        "backordered": 2,
        "shipped": 0,
        "cancelled": 0,
    }
    assert backorder_notices(any_app, placed.id) == 1
    assert_invariants(any_app)


def test_b57_reimporting_the_zero_stock_row_keeps_h_sellable(app, tmp_path):
    import_h(app, tmp_path)
    import_h(app, tmp_path)  # the "CSV update"
    ann = add_customer(app)

    placed = place(app, ann, ("H", 2))

    assert (placed.lines[0].backordered, backorder_notices(app, placed.id)) == (2, 1)
    assert catalog.get_product(app.uow, "H").backorder_policy is BackorderPolicy.ALLOW_NOTIFY
    assert_invariants(app)
