"""PrestaShop's CSV import files (1.6/1.7 back office, Advanced Parameters > Import).

PrestaShop writes ";" between cells (the delimiter is told by the header line), CRLF line
ends and decimal commas ("19,6"). Headers mark required columns with "*", with or without a
space ("Name *", "Product ID*"): the star is ignored when matching. Parsing only; the
`service.imports*` modules apply the items. Import the files in this order: suppliers,
products, combinations, supply orders, supply order details. Rules:

Products (`prestashop-products`):
- SKU `Reference #` (else `prestashop-<ID>`); name `Name *`; price the `Price tax excluded or
  Price tax included` column as written, in the currency given (`--currency`).
- `Quantity`: on_hand at the chosen warehouse (`--warehouse`); blank: stock untouched.
- Policy: `Out of stock` 0 denies orders (deny); 1 allows them: allow_notify when `Text when
  backorder allowed` has a text (PrestaShop shows it to the customer), else allow; 2 (or
  blank) is the shop's default, which the file does not carry: PrestaShop's, deny.
- The product's `ID` is remembered (`prestashop:product:<ID>`) for the files that follow.
- Not used: `Active`, tax rules, wholesale price, discounts, `Advanced stock management` and
  its `Warehouse` (quantities go to `--warehouse`), `Minimal quantity`.

Combinations (`prestashop-combinations`), each a variant of the product `Product ID*` names:
- SKU `Reference` (else the product's SKU, "-", the values as slugs); name the product's name,
  " - ", the values ("iPod Nano - Blue, 16GB"); price the product's plus `Impact on price`
  (may be negative); `Quantity` its on_hand; the product's policy and limit.
- A reference used by two rows of the file is refused on the second (PrestaShop allows it,
  we cannot tell the two apart).
- The product is then sold only through its combinations (see `service.imports`).
- Combination ids: the file has none; PrestaShop numbers combinations in import order, so the
  n-th data row is remembered as `prestashop:combination:<n>` (what a shop without earlier
  combinations assigns; the supply order details name them so). When that does not hold,
  give the details file a `Reference` column instead.

Suppliers (`prestashop-suppliers`): `Name *` becomes a supplier with a lead time of
DEFAULT_LEAD_TIME_DAYS (the file has none) in the currency given; `ID` is remembered. A
PrestaShop brands (manufacturers) file has the same header: import it with `--format`.

Supply orders (`prestashop-supply-orders`), purchase-order headers: `Supplier ID *` (imported
before), `Warehouse ID *` N is our warehouse `prestashop-<N>` (created when missing), `Delivery
Date (Y-M-D)*` the expected date of every line. `Currency ID *` is not mapped (a purchase order
is in its supplier's currency). `Template` 1 rows are templates, not orders: skipped.

Supply order details (`prestashop-supply-order-details`), lines grouped by `Supply Order
Reference *` (an order's rows together): the purchase order `prestashop:<reference>` is created
with all its lines. Product: a `Reference` column if the file has one, else `Product Attribute
ID` (a combination, which must belong to `Product ID *`) or, when 0 or blank, `Product ID *`.
Unit cost: `Unit Price (tax excl.)*` less `Discount Rate` %, rounded once, half up; `Tax Rate`
is not used. An unknown supply order or product refuses its rows.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from ...domain.model import BackorderPolicy, Product
from ...service.imports import ProductRowIn, VariantRowIn
from ...service.imports_supply import (
    ImportedPoLine,
    PurchaseOrderImportIn,
    SupplierRowIn,
    SupplyOrderHeaderIn,
)
from ...service.purchasing import SupplierIn
from ...service.validation import MAX_LINES
from .cells import base_units, choice, decimal, each_row, money_minor
from .csvstream import (
    CsvFile,
    CsvRow,
    Entry,
    Parsed,
    RowError,
    RowProblem,
    Skipped,
    UnusableInput,
    normalise,
)
from .shopify import ImportOptions, slug

PRODUCTS, COMBINATIONS = "prestashop-products", "prestashop-combinations"
SUPPLIERS, SUPPLY_ORDERS = "prestashop-suppliers", "prestashop-supply-orders"
SUPPLY_ORDER_DETAILS = "prestashop-supply-order-details"
DEFAULT_LEAD_TIME_DAYS = 14
PRICE_COLUMNS = (
    "Price tax excluded or Price tax included",
    "Price tax excluded",
    "Price tax included",
    "Price",
)


class Columns:
    """The file's own spelling of each column, looked up without its "*"."""

    def __init__(self, source: CsvFile) -> None:
        self._names = {_key(name): name for name in source.header}

    def __getitem__(self, name: str) -> str:
        return self._names.get(_key(name), name)

    def has(self, *names: str) -> bool:
        return all(_key(name) in self._names for name in names)

    def require(self, source: CsvFile, *names: str) -> None:
        missing = [name for name in names if not self.has(name)]
        if missing:
            raise UnusableInput(f"{source.path.name} lacks the column(s): {', '.join(missing)}")


def _key(name: str) -> str:
    return normalise(name.replace("*", ""))


def detect(source: CsvFile) -> str | None:
    columns = Columns(source)
    if columns.has("Supply Order Reference", "Product ID", "Quantity Expected"):
        return SUPPLY_ORDER_DETAILS
    if columns.has("Supply Order Reference", "Supplier ID"):
        return SUPPLY_ORDERS
    if columns.has("Product ID", "Attribute (Name:Type:Position)"):
        return COMBINATIONS
    if columns.has("Name", "Reference #", "Quantity"):
        return PRODUCTS
    if columns.has("ID", "Active (0/1)", "Name") and not columns.has("Reference #"):
        return SUPPLIERS
    return None


def parse(source: CsvFile, file_format: str, options: ImportOptions) -> Iterator[Entry]:
    columns = Columns(source)
    required, make = _PARSERS[file_format]
    columns.require(source, *required)
    return make(source, columns, options)


def _reference(options: ImportOptions, row: CsvRow) -> str:
    return f"{options.source} row {row.number}".strip()[:200]


def _required(row: CsvRow, column: str) -> str:
    value = row.get(column)
    if not value:
        raise RowProblem(column, "missing")
    return value


def _optional_units(row: CsvRow, column: str) -> int | None:
    text = row.get(column)
    return base_units(text, column) if text else None


# -- products ---------------------------------------------------------------------------------

OUT_OF_STOCK = {"0": "deny", "1": "allow", "2": "default", "": "default"}


def _products(source: CsvFile, columns: Columns, options: ImportOptions) -> Iterator[Entry]:
    price = next((columns[c] for c in PRICE_COLUMNS if columns.has(c)), None)
    if price is None:
        raise UnusableInput(f"{source.path.name} lacks a price column ({PRICE_COLUMNS[0]})")
    mapping = {
        "sku": columns["Reference #"],
        "name": columns["Name"],
        "price_minor": price,
        "backorder_policy": columns["Out of stock"],
        "count": columns["Quantity"],
    }
    return each_row(
        source.rows(),
        lambda row: Parsed(
            _product_row(row, columns, price, options), row.number, mapping, columns["Quantity"]
        ),
    )


def _product_row(row: CsvRow, columns: Columns, price: str, options: ImportOptions):
    product_id = row.get(columns["ID"])
    sku = row.get(columns["Reference #"]) or (f"prestashop-{product_id}" if product_id else "")
    if not sku:
        raise RowProblem(columns["Reference #"], "missing, and no ID to make a SKU from")
    product = Product(
        sku,
        _required(row, columns["Name"]),
        money_minor(row.get(price), price, options.currency),
        options.currency,
        _policy(row, columns),
    )
    key = f"prestashop:product:{product_id}" if product_id else None
    return ProductRowIn(
        product,
        options.warehouse,
        _optional_units(row, columns["Quantity"]),
        _reference(options, row),
        external_key=key,
    )


def _policy(row: CsvRow, columns: Columns) -> BackorderPolicy:
    rule = choice(
        row.get(columns["Out of stock"]),
        columns["Out of stock"],
        OUT_OF_STOCK,
        "0 (deny orders), 1 (allow orders) or 2 (default)",
    )
    if rule != "allow":
        return BackorderPolicy.DENY  # 2: the shop's default, PrestaShop's own: deny orders
    if row.get(columns["Text when backorder allowed"]):
        return BackorderPolicy.ALLOW_NOTIFY
    return BackorderPolicy.ALLOW


# -- combinations -----------------------------------------------------------------------------


def _combinations(source: CsvFile, columns: Columns, options: ImportOptions) -> Iterator[Entry]:
    mapping = {
        "parent": columns["Product ID"],
        "sku": columns["Reference"],
        "price_minor": columns["Impact on price"],
        "count": columns["Quantity"],
    }
    first_row: dict[str, int] = {}  # reference -> the row that used it
    ordinal = 0
    for row in source.rows():
        if isinstance(row, RowError):
            yield row
            continue
        ordinal += 1
        try:
            item = _combination(row, columns, ordinal, first_row, options)
        except RowProblem as problem:
            yield problem.at(row.number)
        else:
            yield Parsed(item, row.number, mapping, columns["Quantity"])


def _combination(
    row: CsvRow,
    columns: Columns,
    ordinal: int,
    first_row: dict[str, int],
    options: ImportOptions,
) -> VariantRowIn:
    product_id = _required(row, columns["Product ID"])
    values = attribute_values(_required(row, columns["Value (Value:Position)"]))
    reference = row.get(columns["Reference"])
    if reference and first_row.setdefault(reference, row.number) != row.number:
        raise RowProblem(
            columns["Reference"],
            f"{reference!r} is already the reference of row "
            f"{first_row[reference]}; give each combination its own",
        )
    impact = row.get(columns["Impact on price"])
    return VariantRowIn(
        parent_key=f"prestashop:product:{product_id}",
        parent_label=f"product ID {product_id}",
        sku=reference or None,
        sku_suffix="-".join(map(_sku_part, values)),
        values=values,
        price_delta_minor=money_minor(
            impact, columns["Impact on price"], options.currency, signed=True
        )
        if impact
        else 0,
        warehouse=options.warehouse,
        on_hand=_optional_units(row, columns["Quantity"]),
        reference=_reference(options, row),
        external_key=f"prestashop:combination:{ordinal}",
    )


def attribute_values(cell: str) -> tuple[str, ...]:
    """ "Blue:0, 16GB:1" -> ("Blue", "16GB"): each value without its ":position"."""
    values = []
    for part in cell.split(","):
        value, _, position = part.strip().rpartition(":")
        values.append(value.strip() if value and position.strip().isdigit() else part.strip())
    return tuple(value for value in values if value)


def _sku_part(value: str) -> str:
    return slug(value) or hashlib.sha1(value.encode()).hexdigest()[:8]


# -- suppliers and supply orders --------------------------------------------------------------


def _suppliers(source: CsvFile, columns: Columns, options: ImportOptions) -> Iterator[Entry]:
    mapping = {"name": columns["Name"], "currency": columns["Name"]}

    def entry(row: CsvRow) -> Parsed:
        supplier_id = row.get(columns["ID"])
        supplier = SupplierIn(
            _required(row, columns["Name"]), DEFAULT_LEAD_TIME_DAYS, options.currency
        )
        key = f"prestashop:supplier:{supplier_id}" if supplier_id else None
        return Parsed(SupplierRowIn(supplier, key), row.number, mapping, columns["Name"])

    return each_row(source.rows(), entry)


def _supply_orders(source: CsvFile, columns: Columns, options: ImportOptions) -> Iterator[Entry]:
    reference = columns["Supply Order Reference"]
    mapping = {
        "supplier": columns["Supplier ID"],
        "warehouse": columns["Warehouse ID"],
        "name": columns["Warehouse ID"],
        "code": columns["Warehouse ID"],
        "expected_date": columns["Delivery Date (Y-M-D)"],
    }

    def entry(row: CsvRow) -> Entry:
        if row.get(columns["Template"]) == "1":
            return Skipped(reason="supply order template: not an order")
        supplier_id = _required(row, columns["Supplier ID"])
        warehouse_id = _required(row, columns["Warehouse ID"])
        header = SupplyOrderHeaderIn(
            external_key=f"prestashop:supply-order:{_required(row, reference)}",
            supplier_key=f"prestashop:supplier:{supplier_id}",
            supplier_label=f"supplier ID {supplier_id}",
            warehouse=f"prestashop-{warehouse_id}"[:50],
            warehouse_name=f"PrestaShop warehouse {warehouse_id}",
            expected_date=_date(row, columns["Delivery Date (Y-M-D)"]),
        )
        return Parsed(header, row.number, mapping, reference)

    return each_row(source.rows(), entry)


def _date(row: CsvRow, column: str) -> date:
    text = _required(row, column)
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise RowProblem(column, f"{text!r} is not a date (YYYY-MM-DD)") from None


# -- supply order details ---------------------------------------------------------------------


def _details(source: CsvFile, columns: Columns, options: ImportOptions) -> Iterator[Entry]:
    reference = columns["Supply Order Reference"]
    finished: dict[str, int] = {}  # reference -> first row of its (finished) group
    for group in _groups(source.rows(), reference):
        if isinstance(group, RowError):
            yield group
            continue
        ref = group[0].get(reference)
        if ref in finished:
            reason = f"the lines of {ref!r} began at row {finished[ref]}: keep them together"
            yield from (RowError(row.number, reference, reason) for row in group)
            continue
        finished[ref] = group[0].number
        yield from _purchase_order(group, columns, options)


def _groups(rows: Iterator[CsvRow | RowError], column: str) -> Iterator[list[CsvRow] | RowError]:
    """Consecutive rows with the same `column`; at most MAX_LINES held (a longer group is
    refused as a whole, at its first row)."""
    group: list[CsvRow] = []
    too_long = False
    for row in rows:
        if isinstance(row, RowError):
            yield row
            continue
        if group and row.get(column) != group[0].get(column):
            yield _too_long(group[0], column) if too_long else group
            group, too_long = [], False
        if len(group) < MAX_LINES:
            group.append(row)
        else:
            too_long = True
    if group:
        yield _too_long(group[0], column) if too_long else group


def _too_long(first: CsvRow, column: str) -> RowError:
    return RowError(first.number, column, f"a purchase order has at most {MAX_LINES} lines")


def _purchase_order(group: list[CsvRow], columns: Columns, options: ImportOptions):
    reference = columns["Supply Order Reference"]
    ref = group[0].get(reference)
    if not ref:
        yield from (RowError(row.number, reference, "missing") for row in group)
        return
    lines, problems = [], []
    for row in group:
        try:
            lines.append(_po_line(row, columns, options))
        except RowProblem as problem:
            problems.append(problem.at(row.number))
    if problems:
        yield from problems
        return
    order = PurchaseOrderImportIn(
        f"prestashop:{ref}"[:200],
        f"prestashop:supply-order:{ref}",
        f"supply order {ref!r}",
        tuple(lines),
    )
    mapping = {
        "header": reference,
        "supplier_id": reference,
        "warehouse": reference,
        "sku": _product_column(columns),
        "qty": columns["Quantity Expected"],
        "unit_cost_minor": columns["Unit Price (tax excl.)"],
    }
    rows = tuple(row.number for row in group)
    yield Parsed(order, group[0].number, mapping, reference, rows)


def _product_column(columns: Columns) -> str:
    if columns.has("Reference"):
        return columns["Reference"]
    return (
        columns["Product Attribute ID"]
        if columns.has("Product Attribute ID")
        else (columns["Product ID"])
    )


def _po_line(row: CsvRow, columns: Columns, options: ImportOptions) -> ImportedPoLine:
    qty = base_units(row.get(columns["Quantity Expected"]), columns["Quantity Expected"], minimum=1)
    cost = _unit_cost(row, columns, options.currency)
    sku = row.get(columns["Reference"])
    if sku:
        return ImportedPoLine(qty, cost, sku=sku)
    product_id = _required(row, columns["Product ID"])
    attribute_id = row.get(columns["Product Attribute ID"])
    if attribute_id in ("", "0"):
        return ImportedPoLine(
            qty,
            cost,
            product_key=f"prestashop:product:{product_id}",
            product_label=f"product ID {product_id}",
        )
    return ImportedPoLine(
        qty,
        cost,
        product_key=f"prestashop:combination:{attribute_id}",
        product_label=f"combination {attribute_id} of product ID {product_id}",
        parent_key=f"prestashop:product:{product_id}",
    )


def _unit_cost(row: CsvRow, columns: Columns, currency: str) -> int:
    price_column = columns["Unit Price (tax excl.)"]
    price = money_minor(row.get(price_column), price_column, currency)
    rate_text = row.get(columns["Discount Rate"])
    if not rate_text:
        return price
    rate = decimal(rate_text, columns["Discount Rate"], what="a percentage")
    if not 0 <= rate <= 100:
        raise RowProblem(columns["Discount Rate"], f"{rate_text!r} is not between 0 and 100")
    return int((Decimal(price) * (100 - rate) / 100).quantize(1, rounding=ROUND_HALF_UP))


_PARSERS = {
    PRODUCTS: (("Name", "Reference #", "Quantity"), _products),
    COMBINATIONS: (("Product ID", "Value (Value:Position)"), _combinations),
    SUPPLIERS: (("Name",), _suppliers),
    SUPPLY_ORDERS: (
        ("Supplier ID", "Warehouse ID", "Supply Order Reference", "Delivery Date (Y-M-D)"),
        _supply_orders,
    ),
    SUPPLY_ORDER_DETAILS: (
        ("Supply Order Reference", "Product ID", "Unit Price (tax excl.)", "Quantity Expected"),
        _details,
    ),
}
FORMATS = tuple(_PARSERS)
