"""Every importable file kind in one table: its name, how its header is told, its parser and
the service function that applies its items.

`backorder import FILE` tries `detect` in table order and takes the first kind that fits;
`--format NAME` forces one. To add a platform: a module with `detect` and `parse`, and rows
here. The order matters only where headers overlap (none of the kinds below do, except a
PrestaShop brands file, which looks like its suppliers file).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ...service import imports, imports_history, imports_supply
from ...service.ports import UnitOfWork
from . import magento, online_retail, prestashop, shopify, woocommerce
from .csvstream import CsvFile, Entry, UnusableInput
from .shopify import ImportOptions

Parser = Callable[[CsvFile, ImportOptions], Iterator[Entry]]
Applier = Callable[[UnitOfWork, Any, datetime], str]


@dataclass(frozen=True)
class ImportFormat:
    name: str
    title: str
    detect: Callable[[CsvFile], bool]
    parse: Parser  # checks the header at once (UnusableInput), then yields entries lazily
    apply: Applier  # one item, one transaction: "created", "updated" or "unchanged"
    uses_warehouse: bool = False  # counts stock at --warehouse, which must exist


def _told_by(module, name: str) -> Callable[[CsvFile], bool]:
    return lambda source: module.detect(source) == name


def _parsed_as(module, name: str) -> Parser:
    return lambda source, options: module.parse(source, name, options)


def _shopify(name: str) -> Callable[[CsvFile], bool]:
    return lambda source: shopify.detect_format(source) == name


_HISTORY = {
    imports.OrderImportIn: imports.import_order,
    imports_history.CancellationIn: imports_history.import_cancellation,
    imports_history.WriteOffIn: imports_history.import_writeoff,
}


def _history_item(uow: UnitOfWork, item: Any, now: datetime) -> str:
    """A transaction file's item: an order, a cancellation or a write-off."""
    return _HISTORY[type(item)](uow, item, now)


def _row(module, name: str, title: str, apply: Applier, *, stock: bool = False) -> ImportFormat:
    return ImportFormat(name, title, _told_by(module, name), _parsed_as(module, name), apply, stock)


FORMATS: tuple[ImportFormat, ...] = (
    ImportFormat(
        shopify.ORDERS,
        "Shopify orders export",
        _shopify(shopify.ORDERS),
        _parsed_as(shopify, shopify.ORDERS),
        imports.import_order,
    ),
    ImportFormat(
        shopify.PRODUCTS,
        "Shopify product CSV",
        _shopify(shopify.PRODUCTS),
        _parsed_as(shopify, shopify.PRODUCTS),
        imports.import_product,
        True,
    ),
    ImportFormat(
        shopify.INVENTORY,
        "Shopify inventory export",
        _shopify(shopify.INVENTORY),
        _parsed_as(shopify, shopify.INVENTORY),
        imports.import_stock_count,
        True,
    ),
    ImportFormat(
        woocommerce.PRODUCTS,
        "WooCommerce product CSV",
        woocommerce.detect,
        woocommerce.parse,
        imports.import_product,
        True,
    ),
    _row(
        magento,
        magento.CATALOG,
        "Magento 2 catalog_product import",
        imports.import_product,
        stock=True,
    ),
    _row(
        magento,
        magento.SOURCES,
        "Magento MSI source items (stock_sources)",
        imports.import_stock_count,
        stock=True,
    ),
    _row(magento, magento.ORDERS, "Magento sample orders", imports.import_order),
    _row(
        prestashop,
        prestashop.SUPPLY_ORDER_DETAILS,
        "PrestaShop supply order details",
        imports_supply.import_purchase_order,
    ),
    _row(
        prestashop,
        prestashop.SUPPLY_ORDERS,
        "PrestaShop supply orders",
        imports_supply.import_supply_order_header,
    ),
    _row(
        prestashop,
        prestashop.COMBINATIONS,
        "PrestaShop combinations",
        imports.import_variant,
        stock=True,
    ),
    _row(
        prestashop, prestashop.PRODUCTS, "PrestaShop products", imports.import_product, stock=True
    ),
    _row(prestashop, prestashop.SUPPLIERS, "PrestaShop suppliers", imports_supply.import_supplier),
    ImportFormat(
        online_retail.TRANSACTIONS,
        "UCI Online Retail transactions",
        online_retail.detect,
        online_retail.parse,
        _history_item,
        True,
    ),
)
NAMES = tuple(f.name for f in FORMATS)
_BY_NAME = {f.name: f for f in FORMATS}


def by_name(name: str) -> ImportFormat:
    try:
        return _BY_NAME[name]
    except KeyError:
        raise UnusableInput(f"unknown format {name!r}; known: {' | '.join(NAMES)}") from None


def detect(source: CsvFile) -> ImportFormat:
    """The first kind whose header test fits; UnusableInput when none does."""
    for candidate in FORMATS:
        if candidate.detect(source):
            return candidate
    raise UnusableInput(
        f"cannot tell the format of {source.path.name} from its header; "
        f"give --format ({' | '.join(NAMES)})"
    )


def chosen(source: CsvFile, name: str | None) -> ImportFormat:
    """The kind `--format` names, or the one the header tells."""
    return by_name(name) if name else detect(source)
