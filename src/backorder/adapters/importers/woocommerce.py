"""WooCommerce's product CSV (its exporter's and importer's format) as import items.

One row per product or variation; `service.imports.import_product` applies each. Rules:

- Type (`simple, downloadable, virtual` names several; the one of simple, variable, variation,
  grouped, external counts; blank is simple): `simple` and `variation` rows are stock items.
  `variable` parents (sold through their variations), `grouped` (a list of other products)
  and `external` (sold on another site) are not: skipped with that reason, not refused.
- SKU: `SKU`. A variation without one gets its parent's SKU followed by its attribute values
  as slugs (`WOOIDEA-black-m`, the Shopify fallback's rule); a simple product without one, the
  slug of its name. `Parent` names the parent by SKU or as `id:44` (an `ID` of an earlier row).
- Name: `Name`; a variation without one is its parent's name, " - ", and its attribute values
  joined by ", " (`Ship Your Idea - Black, M`, WooCommerce's own naming).
- Price: `Regular price` in the currency given (`--currency`); `Sale price` is a promotion with
  dates of its own and is not the list price: not used.
- `Backorders allowed?`: `notify` is allow_notify, `1` allow, `0` (or blank) deny. WooCommerce
  has no backorder limit: a re-import keeps ours.
- Stock: `Stock` is on_hand at the chosen warehouse (negative: units owed). Blank means
  WooCommerce does not manage the product's stock: the product is created or updated and no
  stock is counted. `In stock?` is WooCommerce's derived status and is not used: ours comes
  from on_hand and the policy.
- Variable parents are remembered (name, SKU, ID) while the file is read, so a variation after
  its parent is named after it; memory grows with the number of variable products only.
"""

from __future__ import annotations

from collections.abc import Iterator

from ...domain.model import BackorderPolicy, Product
from ...service.imports import ProductRowIn
from .cells import choice, each_row, money_minor
from .csvstream import CsvFile, CsvRow, Entry, Parsed, RowProblem, Skipped, whole_number
from .shopify import ImportOptions, fallback_sku, slug

PRODUCTS = "woocommerce"
STOCK_TYPES = ("simple", "variation")
NOT_STOCK = {
    "variable": "variable product: sold through its variations",
    "grouped": "grouped product: not a stock item",
    "external": "external product: sold on another site",
}
POLICIES = {
    "": BackorderPolicy.DENY,
    "0": BackorderPolicy.DENY,
    "1": BackorderPolicy.ALLOW,
    "notify": BackorderPolicy.ALLOW_NOTIFY,
}
COLUMNS = {
    "sku": "SKU",
    "name": "Name",
    "price_minor": "Regular price",
    "backorder_policy": "Backorders allowed?",
    "count": "Stock",
}
MAX_ATTRIBUTES = 50


def detect(source: CsvFile) -> bool:
    return source.has("Type", "SKU", "Name", "Backorders allowed?")


def parse(source: CsvFile, options: ImportOptions) -> Iterator[Entry]:
    source.require("Type", "SKU", "Name", "Regular price")
    parents = _Parents()
    attributes = _attribute_columns(source)
    return each_row(source.rows(), lambda row: _entry(row, parents, attributes, options))


class _Parents:
    """Variable products seen so far: Parent cell (SKU or `id:N`) -> (SKU, name)."""

    def __init__(self) -> None:
        self._known: dict[str, tuple[str, str]] = {}

    def add(self, row: CsvRow) -> None:
        sku, name, row_id = row.get("SKU"), row.get("Name"), row.get("ID")
        if sku:
            self._known[sku.casefold()] = (sku, name)
        if row_id:
            self._known[f"id:{row_id}"] = (sku, name)

    def find(self, reference: str) -> tuple[str, str]:
        """(SKU, name) of a parent; a parent not seen: its SKU is the reference, no name."""
        found = self._known.get(reference.casefold().replace(" ", ""))
        if found:
            return found
        return ("", "") if reference.casefold().startswith("id:") else (reference, "")


def _attribute_columns(source: CsvFile) -> list[str]:
    """`Attribute N value(s)` columns in order (the header's case varies)."""
    return [
        f"Attribute {n} value(s)"
        for n in range(1, MAX_ATTRIBUTES + 1)
        if source.has(f"Attribute {n} value(s)")
    ]


def _product_type(row: CsvRow) -> str:
    types = [part.strip().casefold() for part in row.get("Type").split(",")]
    known = [t for t in types if t in (*STOCK_TYPES, *NOT_STOCK)]
    if not row.get("Type"):
        return "simple"
    if not known:
        raise RowProblem(
            "Type", f"{row.get('Type')!r} is not simple, variable, variation, grouped or external"
        )
    return known[0]


def _entry(row: CsvRow, parents: _Parents, attributes: list[str], options: ImportOptions):
    kind = _product_type(row)
    if kind == "variable":
        parents.add(row)
    if kind in NOT_STOCK:
        return Skipped(reason=NOT_STOCK[kind])
    values = [v for column in attributes if (v := row.get(column))] if kind == "variation" else []
    sku, name = _identity(row, kind, values, parents)
    policy = choice(
        row.get("Backorders allowed?"), "Backorders allowed?", POLICIES, "notify, 1 or 0"
    )
    price = money_minor(row.get("Regular price"), "Regular price", options.currency)
    product = Product(sku, name, price, options.currency, policy)
    stock = row.get("Stock")
    on_hand = whole_number(stock, "Stock") if stock else None
    reference = f"{options.source} row {row.number}".strip()[:200]
    item = ProductRowIn(product, options.warehouse, on_hand, reference)
    return Parsed(item, row.number, COLUMNS, "Stock")


def _identity(row: CsvRow, kind: str, values: list[str], parents: _Parents) -> tuple[str, str]:
    """(SKU, name) of a stock row, derived from its parent where the row lacks them."""
    sku, name = row.get("SKU"), row.get("Name")
    if kind == "simple":
        if not name:
            raise RowProblem("Name", "missing")
        return sku or _named_sku(name), name
    parent_sku, parent_name = parents.find(row.get("Parent"))
    if not sku:
        if not parent_sku:
            raise RowProblem("SKU", "missing, and no parent SKU to make one from")
        sku = fallback_sku(parent_sku, values)
    if not name:
        if not parent_name:
            raise RowProblem("Name", "missing, and the parent is not earlier in the file")
        name = f"{parent_name} - {', '.join(values)}" if values else parent_name
    return sku, name


def _named_sku(name: str) -> str:
    sku = slug(name)[:100].strip("-")
    if not sku:
        raise RowProblem("SKU", "missing, and the name has no letters or digits to make one")
    return sku
