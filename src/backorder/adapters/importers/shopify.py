"""Shopify's CSV files as import items: the product CSV, the inventory export, the orders export.

Parsing only; `service.imports` applies the items. Rules, where Shopify leaves a choice:

Product CSV (`shopify`), one row per variant:
- A product's later rows have a blank Title: the title of its first row is carried.
- Image-only rows (no option value, SKU, price or quantity) are skipped, not refused.
- SKU: `Variant SKU`; when empty, the handle followed by each option value as a slug, joined
  by "-": `classic-varsity-top-small`, `example-shirt-green-m`; Shopify's "Default Title"
  adds nothing (`ocean-blue-shirt`). The slug keeps ASCII letters and digits (accents
  dropped: "Açık" is `acik`); a value with none of them adds 8 hex digits of its SHA-1. A
  fallback longer than 100 characters keeps 91 and ends with 8 hex digits of its SHA-1.
- Name: the title, then " - " and the option values joined by " / " (`Example T-Shirt -
  Green / M`); a product without variants ("Default Title") is named by its title alone.
- Price: `Variant Price` in the currency given (`--currency`, default USD), as minor units:
  "25" is 2500, "9.99" is 999. `Variant Inventory Policy`: `continue` is `allow` (a product
  that is `allow_notify` stays so), `deny` (or blank, Shopify's default) is `deny`.
  `Variant Inventory Qty`: on_hand at the chosen warehouse; blank leaves stock as it is;
  negative is units owed (see service.imports).
- `Status`, `Variant Inventory Tracker`, barcodes, images and SEO columns are not used.

Inventory export (`shopify-inventory`), one row per variant and location:
- SKU as above (`SKU`, else handle + option values). `Location` is the warehouse: its code is
  the location's name as a slug (`Shop location` is `shop-location`), created when missing;
  a blank location means the chosen warehouse. `On hand` is the count (`Available` when the
  file has no `On hand`); "not stocked" rows are skipped.

Orders export (`shopify-orders`), one row per line item, an order's rows together:
- Order columns (Email, Created at, Currency, ...) are read from the order's first row that
  has them (Shopify leaves them blank on later rows).
- external_ref `shopify:<Name>`; `Created at` (with its offset) is the order time, in UTC.
- Customer: external_id = e-mail (lower case), named by the billing or shipping name; an
  order without e-mail gets a guest customer of its own (`shopify-guest:<Name>`).
- Cancelled orders and fulfilled line items are skipped: nothing is owed for them.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from typing import TypeVar

from ...domain.model import BackorderPolicy, Product
from ...service.catalog import CustomerIn
from ...service.imports import ImportedLine, OrderImportIn, ProductRowIn, StockCountIn
from ...service.validation import MAX_LINES
from .csvstream import (
    CsvFile,
    CsvRow,
    Entry,
    Parsed,
    RowError,
    RowProblem,
    Skipped,
    UnusableInput,
    money,
    timestamp,
    whole_number,
)

T = TypeVar("T")
PRODUCTS, INVENTORY, ORDERS = "shopify", "shopify-inventory", "shopify-orders"
FORMATS = (PRODUCTS, INVENTORY, ORDERS)
OPTION_VALUES = ("Option1 Value", "Option2 Value", "Option3 Value")
NO_VARIANTS = "default title"  # Shopify's option value for a product without variants
MAX_SKU = 100
POLICIES = {
    "": BackorderPolicy.DENY,
    "deny": BackorderPolicy.DENY,
    "continue": BackorderPolicy.ALLOW,
}


@dataclass(frozen=True)
class ImportOptions:
    warehouse: str = "main"  # where counted stock goes when the file names no location
    currency: str = "USD"  # prices of a file that names no currency
    create_products: bool = False  # orders: an unknown SKU becomes a product
    source: str = ""  # the file's name, for ledger references


def detect_format(source: CsvFile) -> str | None:
    """Which Shopify file this is, told by its header; None when none fits."""
    if source.has("Lineitem sku"):
        return ORDERS
    if source.has("Handle") and (source.has("Variant SKU") or source.has("Variant Inventory Qty")):
        return PRODUCTS
    if source.has("Location") and (source.has("Available") or source.has("On hand")):
        return INVENTORY
    return None


def parse(source: CsvFile, file_format: str, options: ImportOptions) -> Iterator[Entry]:
    """Check the header now (UnusableInput), then yield the file's entries one at a time."""
    if file_format == PRODUCTS:
        source.require("Handle", "Title", "Variant Price")
        return _product_entries(source, options)
    if file_format == INVENTORY:
        source.require("Handle")
        if not (source.has("On hand") or source.has("Available")):
            raise UnusableInput(f"{source.path.name} lacks the column On hand (or Available)")
        return _inventory_entries(source, options)
    if file_format == ORDERS:
        source.require("Name", "Lineitem sku", "Lineitem quantity", "Lineitem price")
        return _order_entries(source, options)
    raise UnusableInput(f"unknown format {file_format!r}; known: {', '.join(FORMATS)}")


# -- SKUs and names ---------------------------------------------------------------------------


# Letters that Unicode does not decompose into an ASCII letter and an accent.
_UNDECOMPOSED = str.maketrans(
    {"ı": "i", "ß": "ss", "ø": "o", "æ": "ae", "œ": "oe", "đ": "d", "ł": "l", "þ": "th"}
)


def slug(text: str) -> str:
    """Lower-case ASCII letters and digits, other runs as one "-": "Large & Tall" is large-tall."""
    decomposed = unicodedata.normalize("NFKD", text.lower().translate(_UNDECOMPOSED))
    ascii_text = decomposed.encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")


def option_values(row: CsvRow) -> list[str]:
    values = [row.get(column) for column in OPTION_VALUES]
    return [value for value in values if value and value.casefold() != NO_VARIANTS]


def fallback_sku(handle: str, values: list[str]) -> str:
    sku = "-".join([handle, *map(_sku_part, values)])
    if len(sku) > MAX_SKU:
        digest = hashlib.sha1(sku.encode()).hexdigest()[:8]
        sku = f"{sku[: MAX_SKU - 9]}-{digest}"
    return sku


def _sku_part(value: str) -> str:
    """An option value in a SKU; one with no Latin letter or digit ("大") by its hash."""
    return slug(value) or hashlib.sha1(value.encode()).hexdigest()[:8]


def variant_sku(row: CsvRow, sku_column: str) -> str:
    sku = row.get(sku_column)
    if sku:
        return sku
    handle = row.get("Handle")
    if not handle:
        raise RowProblem(sku_column, "missing, and no Handle to make one from")
    return fallback_sku(handle, option_values(row))


def variant_name(title: str, values: list[str]) -> str:
    return f"{title} - {' / '.join(values)}" if values else title


def _reference(options: ImportOptions, row: int) -> str:
    return f"{options.source} row {row}".strip()[:200]


# -- product CSV ------------------------------------------------------------------------------

PRODUCT_COLUMNS = {
    "sku": "Variant SKU",
    "name": "Title",
    "price_minor": "Variant Price",
    "backorder_policy": "Variant Inventory Policy",
    "count": "Variant Inventory Qty",
}


class _TitleCarry:
    """A product's later rows leave Title blank: remember the last product's title."""

    def __init__(self) -> None:
        self.handle, self.title = "", ""

    def title_for(self, row: CsvRow) -> str:
        handle, title = row.get("Handle"), row.get("Title")
        if title:
            self.handle, self.title = handle, title
            return title
        return self.title if handle == self.handle else ""


def _is_image_only(row: CsvRow) -> bool:
    cells = ("Variant SKU", "Variant Price", "Variant Inventory Qty", *OPTION_VALUES)
    return not any(row.get(column) for column in cells)


def _product_entries(source: CsvFile, options: ImportOptions) -> Iterator[Entry]:
    titles = _TitleCarry()
    for row in source.rows():
        if isinstance(row, RowError):
            yield row
            continue
        title = titles.title_for(row)  # first, so a bad first row still names its variants
        if _is_image_only(row):
            yield Skipped()
            continue
        try:
            item = _product_row(row, title, options)
        except RowProblem as problem:
            yield problem.at(row.number)
        else:
            yield Parsed(item, row.number, PRODUCT_COLUMNS, "Variant Inventory Qty")


def _product_row(row: CsvRow, title: str, options: ImportOptions) -> ProductRowIn:
    if not title:
        raise RowProblem("Title", f"missing, and no earlier row of {row.get('Handle')!r} has one")
    policy_text = row.get("Variant Inventory Policy").casefold()
    if policy_text not in POLICIES:
        raise RowProblem("Variant Inventory Policy", f"{policy_text!r} is not deny or continue")
    product = Product(
        sku=variant_sku(row, "Variant SKU"),
        name=variant_name(title, option_values(row)),
        price_minor=money(row.get("Variant Price"), "Variant Price", options.currency),
        currency=options.currency,
        backorder_policy=POLICIES[policy_text],
    )
    quantity = row.get("Variant Inventory Qty")
    on_hand = whole_number(quantity, "Variant Inventory Qty") if quantity else None
    return ProductRowIn(
        product, options.warehouse, on_hand, _reference(options, row.number), coarse_policy=True
    )


# -- inventory export -------------------------------------------------------------------------


def warehouse_code(location: str) -> str:
    code = slug(location)[:50].strip("-")
    if not code:
        raise RowProblem("Location", f"{location!r} gives no warehouse code (letters or digits)")
    return code


def _inventory_entries(source: CsvFile, options: ImportOptions) -> Iterator[Entry]:
    count_column = "On hand" if source.has("On hand") else "Available"
    columns = {"sku": "SKU", "count": count_column, "code": "Location", "name": "Location"}
    for row in source.rows():
        if isinstance(row, RowError):
            yield row
        elif row.get(count_column).casefold() == "not stocked":
            yield Skipped()
        else:
            try:
                item = _stock_count(row, count_column, options)
            except RowProblem as problem:
                yield problem.at(row.number)
            else:
                yield Parsed(item, row.number, columns, count_column)


def _stock_count(row: CsvRow, count_column: str, options: ImportOptions) -> StockCountIn:
    location = row.get("Location")
    code = warehouse_code(location) if location else options.warehouse
    return StockCountIn(
        sku=variant_sku(row, "SKU"),
        warehouse=code,
        warehouse_name=location or code,
        count=whole_number(row.get(count_column), count_column),
        reference=_reference(options, row.number),
    )


# -- orders export ----------------------------------------------------------------------------

ORDER_COLUMNS = {
    "sku": "Lineitem sku",
    "qty": "Lineitem quantity",
    "unit_price_minor": "Lineitem price",
    "price_minor": "Lineitem price",
    "name": "Lineitem name",
    "currency": "Currency",
    "email": "Email",
    "external_id": "Email",
    "external_ref": "Name",
}


def _order_groups(rows: Iterator[CsvRow | RowError]) -> Iterator[list[CsvRow] | RowError]:
    """Consecutive rows of one order (same Name); at most MAX_LINES held in memory."""
    group: list[CsvRow] = []
    too_long = False
    for row in rows:
        if isinstance(row, RowError):
            yield row
            continue
        if group and row.get("Name") != group[0].get("Name"):
            yield _too_long(group[0]) if too_long else group
            group, too_long = [], False
        if len(group) < MAX_LINES:
            group.append(row)
        else:
            too_long = True
    if group:
        yield _too_long(group[0]) if too_long else group


def _too_long(first: CsvRow) -> RowError:
    return RowError(first.number, "Name", f"an order has at most {MAX_LINES} line items")


def _order_entries(source: CsvFile, options: ImportOptions) -> Iterator[Entry]:
    for group in _order_groups(source.rows()):
        if isinstance(group, RowError):
            yield group
        else:
            yield from _order_entry(group, options)


def _order_value(group: list[CsvRow], column: str) -> str:
    """An order column, from the first of the order's rows that has it."""
    return next((value for row in group if (value := row.get(column))), "")


def _order_entry(group: list[CsvRow], options: ImportOptions) -> Iterator[Entry]:
    if _order_value(group, "Cancelled at"):
        yield Skipped(len(group))
        return
    open_rows = [r for r in group if r.get("Lineitem fulfillment status").casefold() != "fulfilled"]
    if len(open_rows) < len(group):
        yield Skipped(len(group) - len(open_rows))
    if not open_rows:
        return
    problems: list[RowError] = []
    order = _collect(problems, group[0].number, _order, group, options)
    currency = order.currency if order else options.currency
    lines = [_collect(problems, row.number, _order_line, row, currency) for row in open_rows]
    if problems:
        yield from problems
        return
    rows = tuple(row.number for row in open_rows)
    order = replace(order, lines=tuple(lines))
    yield Parsed(order, group[0].number, ORDER_COLUMNS, "Lineitem quantity", rows)


def _collect(problems: list[RowError], row: int, parse_cells: Callable[..., T], *args) -> T | None:
    """`parse_cells(*args)`, or None with its problem noted, so every bad cell is reported."""
    try:
        return parse_cells(*args)
    except RowProblem as problem:
        problems.append(problem.at(row))
        return None


def _order(group: list[CsvRow], options: ImportOptions) -> OrderImportIn:
    """The order's own columns; its lines are added once every line has been read."""
    name = group[0].get("Name")
    if not name:
        raise RowProblem("Name", "missing: the order's number, as #1001")
    currency = _order_value(group, "Currency") or options.currency
    if not (len(currency) == 3 and currency.isascii() and currency.isalpha()):
        raise RowProblem("Currency", f"{currency!r} is not a three-letter currency code")
    return OrderImportIn(
        external_ref=f"shopify:{name}",
        customer=_customer(group, name),
        currency=currency.upper(),
        lines=(),
        placed_at=timestamp(_order_value(group, "Created at"), "Created at"),
        create_products=options.create_products,
    )


def _order_line(row: CsvRow, currency: str) -> ImportedLine:
    sku = row.get("Lineitem sku")
    if not sku:
        raise RowProblem("Lineitem sku", "missing: a line item needs a SKU to be matched")
    return ImportedLine(
        sku=sku,
        name=row.get("Lineitem name") or sku,
        qty=whole_number(row.get("Lineitem quantity"), "Lineitem quantity", minimum=1),
        unit_price_minor=money(row.get("Lineitem price"), "Lineitem price", currency),
    )


def _customer(group: list[CsvRow], order_name: str) -> CustomerIn:
    email = _order_value(group, "Email").lower()
    person = _order_value(group, "Billing Name") or _order_value(group, "Shipping Name")
    if email:
        return CustomerIn(name=person or email, email=email, external_id=email)
    guest = f"Shopify guest ({order_name})"
    return CustomerIn(name=person or guest, external_id=f"shopify-guest:{order_name}")
