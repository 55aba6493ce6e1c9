"""Magento 2's CSV files as import items: the catalog import, MSI source items, sample orders.

Parsing only; `service.imports` applies the items. Rules, where Magento leaves a choice:

Catalog (`magento`, Magento's `catalog_product` import/export), one row per product:
- Rows with a `store_view_code` only translate a product for a store view: skipped. Product
  types `configurable`, `grouped` and `bundle` are made of other products, not stock items:
  skipped with that reason; `simple`, `virtual`, `downloadable` are products.
- SKU `sku`, name `name`, price `price` in the currency given (`--currency`).
- Stock: `qty` is on_hand at the chosen warehouse (`--warehouse`), in whole base units:
  "100" or "100.0000"; a fractional quantity is refused, never rounded. When Magento does not
  manage the product's stock (`manage_stock` 0 with `use_config_manage_stock` 0; Magento's
  own default is to manage it) no stock is counted.
- Policy: `allow_backorders` 0 / 1 / 2 ("No Backorders" / "Allow Qty Below 0" / "... and
  Notify Customer") is deny / allow / allow_notify; with `use_config_backorders` 1 the store's
  setting applies, which the file does not carry: Magento's default, No Backorders (deny).
- Limit: Magento's `out_of_stock_qty` (the Out-of-Stock Threshold) may be negative when
  backorders are allowed: quantity may fall that far below 0, so `-5` is a backorder limit
  of 5. 0 (or `use_config_min_qty` 1) is no limit. The file carries the limit: a re-import
  replaces ours. A positive threshold (keep units unsold) has no equivalent: not used.
- `is_in_stock` (Magento's derived status), `min_cart_qty` / `max_cart_qty` (per-cart bounds;
  we have no per-order quantity rules) and `is_qty_decimal` are not used.

Source items (`magento-sources`, MSI's `stock_sources` import/export: source_code, sku, status,
quantity), one row per SKU and source:
- Each source is a warehouse of the same code, created when missing; Magento's `default`
  source (the single-source stock the catalog's `qty` describes) is the chosen warehouse.
- `quantity` is on_hand in whole base units ("3.0000" is 3); "10.55" is refused with a row
  error. `status` is the source item's stock status, not whether the source is enabled (the
  file does not say that): 0, out of stock, means nothing is sellable there, so on_hand is
  counted as 0 whatever the quantity; 1 counts the quantity.

Sample orders (`magento-orders`, magento2-sample-data's `orders.csv`), one row per order:
- `product` is a JSON cell: {"sku", "qty", "configurable_options": {"size": "XS", ...}}. With
  options the line is the child product: the SKU, "-", each value in the cell's order
  (`WS03-XS-Red`, Magento's sample-data naming).
- external_ref `magento:<increment_id>` when the file has that column; the sample has none, so
  `magento:<file name>#<row>`. Customer: the e-mail. Currency: `currency`.
- The file has no prices: lines take the catalog price (a product created with
  `--create-products` costs 0 until a catalog import prices it).
- `refund` yes: the order was refunded, nothing is owed: skipped with that reason.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

from ...domain.model import BackorderPolicy, Product
from ...service.catalog import CustomerIn
from ...service.imports import ImportedLine, OrderImportIn, ProductRowIn, StockCountIn
from .cells import base_units, choice, each_row, money_minor
from .csvstream import CsvFile, CsvRow, Entry, Parsed, RowProblem, Skipped
from .shopify import ImportOptions

CATALOG, SOURCES, ORDERS = "magento", "magento-sources", "magento-orders"
STOCK_TYPES = ("simple", "virtual", "downloadable")
NOT_STOCK = ("configurable", "grouped", "bundle")
BACKORDERS = {
    "0": BackorderPolicy.DENY,
    "1": BackorderPolicy.ALLOW,
    "2": BackorderPolicy.ALLOW_NOTIFY,
}
FLAGS = {"0": False, "1": True, "": None}
DEFAULT_SOURCE = "default"


def detect(source: CsvFile) -> str | None:
    if source.has("sku", "product_type", "allow_backorders"):
        return CATALOG
    if source.has("source_code", "sku", "quantity"):
        return SOURCES
    if source.has("customer_email", "product", "refund"):
        return ORDERS
    return None


def parse(source: CsvFile, file_format: str, options: ImportOptions) -> Iterator[Entry]:
    if file_format == CATALOG:
        source.require("sku", "product_type", "name", "price")
        return each_row(source.rows(), lambda row: _catalog_entry(row, options))
    if file_format == SOURCES:
        source.require("source_code", "sku", "quantity")
        return each_row(source.rows(), lambda row: _source_entry(row, options))
    source.require("customer_email", "currency", "product")
    return each_row(source.rows(), lambda row: _order_entry(row, options))


def _reference(options: ImportOptions, row: CsvRow) -> str:
    return f"{options.source} row {row.number}".strip()[:200]


# -- catalog ----------------------------------------------------------------------------------

CATALOG_COLUMNS = {
    "sku": "sku",
    "name": "name",
    "price_minor": "price",
    "count": "qty",
    "backorder_policy": "allow_backorders",
    "backorder_limit": "out_of_stock_qty",
}


def _catalog_entry(row: CsvRow, options: ImportOptions) -> Entry:
    if row.get("store_view_code"):
        return Skipped(reason="store-view row: translations of a product, no stock")
    kind = row.get("product_type").casefold()
    if kind in NOT_STOCK:
        return Skipped(reason=f"{kind} product: made of other products, not a stock item")
    if kind not in STOCK_TYPES:
        raise RowProblem(
            "product_type",
            f"{kind!r} is not simple, virtual, downloadable, configurable, grouped or bundle",
        )
    policy = _policy(row)
    product = Product(
        sku=_required(row, "sku"),
        name=_required(row, "name"),
        price_minor=money_minor(row.get("price"), "price", options.currency),
        currency=options.currency,
        backorder_policy=policy,
        backorder_limit=_limit(row) if policy is not BackorderPolicy.DENY else None,
    )
    on_hand = _on_hand(row) if _manages_stock(row) else None
    item = ProductRowIn(
        product, options.warehouse, on_hand, _reference(options, row), sets_limit=True
    )
    return Parsed(item, row.number, CATALOG_COLUMNS, "qty")


def _required(row: CsvRow, column: str) -> str:
    value = row.get(column)
    if not value:
        raise RowProblem(column, "missing")
    return value


def _flag(row: CsvRow, column: str) -> bool | None:
    return choice(row.get(column), column, FLAGS, "0 or 1")


def _own_setting(row: CsvRow, use_config: str, column: str) -> str | None:
    """The product's own `column`, or None when Magento's `use_config_...` flag defers to the
    store; a file without the flag column uses the cell when it has one."""
    deferred = _flag(row, use_config)
    if deferred or (deferred is None and not row.get(column)):
        return None
    return row.get(column)


def _policy(row: CsvRow) -> BackorderPolicy:
    own = _own_setting(row, "use_config_backorders", "allow_backorders")
    if own is None:
        return BackorderPolicy.DENY  # the store's setting; Magento's default: No Backorders
    return choice(own or "0", "allow_backorders", BACKORDERS, "0, 1 or 2")


def _limit(row: CsvRow) -> int | None:
    own = _own_setting(row, "use_config_min_qty", "out_of_stock_qty")
    if not own:
        return None
    threshold = base_units(own, "out_of_stock_qty", what="threshold")
    return -threshold if threshold < 0 else None


def _manages_stock(row: CsvRow) -> bool:
    own = _own_setting(row, "use_config_manage_stock", "manage_stock")
    return own is None or _flag(row, "manage_stock") is not False


def _on_hand(row: CsvRow) -> int | None:
    text = row.get("qty")
    return base_units(text, "qty") if text else None


# -- source items -----------------------------------------------------------------------------

SOURCE_COLUMNS = {
    "sku": "sku",
    "count": "quantity",
    "warehouse": "source_code",
    "code": "source_code",
    "name": "source_code",
}


def _source_entry(row: CsvRow, options: ImportOptions) -> Entry:
    source_code = _required(row, "source_code")
    if len(source_code) > 50:
        raise RowProblem("source_code", "longer than 50 characters")
    warehouse = options.warehouse if source_code == DEFAULT_SOURCE else source_code
    in_stock = choice(row.get("status") or "1", "status", FLAGS, "0 or 1")
    count = base_units(row.get("quantity"), "quantity") if in_stock else 0
    item = StockCountIn(
        _required(row, "sku"), warehouse, source_code, count, _reference(options, row)
    )
    return Parsed(item, row.number, SOURCE_COLUMNS, "quantity")


# -- sample orders ----------------------------------------------------------------------------

ORDER_COLUMNS = {
    "sku": "product",
    "qty": "product",
    "currency": "currency",
    "email": "customer_email",
    "external_id": "customer_email",
    "external_ref": "increment_id",
}


def _order_entry(row: CsvRow, options: ImportOptions) -> Entry:
    if choice(row.get("refund"), "refund", {"yes": True, "no": False, "": False}, "yes or no"):
        return Skipped(reason="refunded order: nothing is owed")
    email = _required(row, "customer_email").lower()
    currency = _required(row, "currency").upper()
    if not (len(currency) == 3 and currency.isascii() and currency.isalpha()):
        raise RowProblem("currency", f"{currency!r} is not a three-letter currency code")
    increment_id = row.get("increment_id")
    ref = f"magento:{increment_id}" if increment_id else f"magento:{options.source}#{row.number}"
    order = OrderImportIn(
        external_ref=ref[:200],
        customer=CustomerIn(name=email, email=email, external_id=email),
        currency=currency,
        lines=(_order_line(row.get("product")),),
        create_products=options.create_products,
        channel="magento",
    )
    return Parsed(order, row.number, ORDER_COLUMNS, "product", (row.number,))


def _order_line(cell: str) -> ImportedLine:
    try:
        product = json.loads(cell)
    except ValueError:
        raise RowProblem("product", "not valid JSON") from None
    if not isinstance(product, dict) or not str(product.get("sku") or "").strip():
        raise RowProblem("product", 'needs a JSON object with a "sku"')
    options = product.get("configurable_options") or {}
    if not isinstance(options, dict):
        raise RowProblem("product", '"configurable_options" is not a JSON object')
    sku = "-".join([str(product["sku"]).strip(), *(str(v).strip() for v in options.values())])
    qty = base_units(str(product.get("qty", "1")), "product", minimum=1, what="qty")
    name = " / ".join([str(product["sku"]), *(f"{k} {v}" for k, v in options.items())])
    return ImportedLine(sku=sku, name=name, qty=qty)
