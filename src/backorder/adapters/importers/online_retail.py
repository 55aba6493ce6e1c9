"""The UCI "Online Retail" transaction file as a time-ordered stream of orders and corrections.

Columns InvoiceNo, StockCode, Description, Quantity, InvoiceDate, UnitPrice, CustomerID,
Country; one row per invoice line, an invoice's rows together, invoices in time order. Parsing
only; `service.imports` and `service.imports_history` apply the items. Rules:

- An invoice (InvoiceNo of digits) is an order, external_ref `online-retail:<InvoiceNo>`,
  placed at `InvoiceDate`, its lines the rows with a positive quantity. InvoiceDate is written
  "2010-12-01 08:26:00" (ISO, no offset) in the retailer's local time: Europe/London (GMT in
  December), stored in UTC.
- An order has at most MAX_LINES (500) lines: a longer invoice is split into parts of 500 rows,
  the later parts being orders `online-retail:<InvoiceNo>#2`, `#3`, ..., same customer and time.
- Products are created from the lines (`StockCode`, `Description` or else the code, `UnitPrice`)
  with policy allow, so orders wait; prices are GBP (the retailer's currency, whatever
  `--currency` says). The file has no stock: every line is backordered until stock is counted
  or received.
- Customer `online-retail:<CustomerID>` ("17850.0" is 17850); a row without one is a guest,
  one per invoice: `online-retail-guest:<InvoiceNo>`. `Country` is not used.
- A `C` invoice cancels: each of its rows cancels |Quantity| units of that customer's earlier
  open lines of that stock code, newest first (`service.imports_history`); without an earlier
  line to cancel (the sale predates the file) the row is refused, never turned into stock.
- A negative quantity on an ordinary invoice (no customer, price 0: stock found damaged or
  lost) is a write-off from the chosen warehouse (`--warehouse`), refused when it would take
  on_hand below what orders hold, which, with no stock in the file, it always would (and
  refused as an unknown SKU when the code was never sold before it).
- Codes that are charges, not goods (POSTAGE, DOTCOM POSTAGE, CARRIAGE, Discount, Manual,
  Bank Charges, AMAZON FEE, CRUK commission, SAMPLES, bad-debt adjustment) are skipped.
- Every correction row has a key (`online-retail:<InvoiceNo>:<StockCode>#<n>`, n counting that
  code's rows in the invoice), so a re-import applies nothing twice.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from ...service.catalog import CustomerIn
from ...service.imports import ImportedLine, OrderImportIn
from ...service.imports_history import CancellationIn, WriteOffIn
from ...service.validation import MAX_LINES
from .cells import money_minor
from .csvstream import CsvFile, CsvRow, Entry, Parsed, RowError, RowProblem, Skipped, whole_number
from .shopify import ImportOptions

TRANSACTIONS = "online-retail"
CURRENCY = "GBP"
SHOP_ZONE = ZoneInfo("Europe/London")
CHARGES = {"POST", "DOT", "C2", "D", "M", "BANK CHARGES", "AMAZONFEE", "CRUK", "S", "B"}
COLUMNS = ("InvoiceNo", "StockCode", "Quantity", "InvoiceDate", "UnitPrice", "CustomerID")
ORDER_COLUMNS = {
    "sku": "StockCode",
    "qty": "Quantity",
    "unit_price_minor": "UnitPrice",
    "price_minor": "UnitPrice",
    "name": "Description",
    "external_ref": "InvoiceNo",
    "external_id": "CustomerID",
}
CORRECTION_COLUMNS = {
    "sku": "StockCode",
    "qty": "Quantity",
    "customer": "CustomerID",
    "delta": "Quantity",
    "warehouse": "Quantity",
}


def detect(source: CsvFile) -> bool:
    return source.has(*COLUMNS)


def parse(source: CsvFile, options: ImportOptions) -> Iterator[Entry]:
    source.require(*COLUMNS, "Description")
    seen: dict[str, int] = {}  # stock code -> its rows so far in the current invoice
    for part in _invoice_parts(source.rows()):
        if isinstance(part, RowError):
            yield part
            continue
        rows, number = part
        if number == 1:
            seen.clear()
        yield from _invoice_entries(rows, number, seen, options)


def _invoice_parts(
    rows: Iterator[CsvRow | RowError],
) -> Iterator[tuple[list[CsvRow], int] | RowError]:
    """Consecutive rows of one invoice, MAX_LINES at most: (rows, part number from 1)."""
    group: list[CsvRow] = []
    number = 1
    for row in rows:
        if isinstance(row, RowError):
            yield row
            continue
        if group and row.get("InvoiceNo") != group[0].get("InvoiceNo"):
            yield group, number
            group, number = [], 1
        elif len(group) == MAX_LINES:
            yield group, number
            group, number = [], number + 1
        group.append(row)
    if group:
        yield group, number


def _invoice_entries(
    group: list[CsvRow], part: int, seen: dict[str, int], options: ImportOptions
) -> Iterator[Entry]:
    invoice = group[0].get("InvoiceNo")
    goods = [row for row in group if row.get("StockCode").upper() not in CHARGES]
    if len(goods) < len(group):
        yield Skipped(len(group) - len(goods), reason="a charge (postage, fee), not goods")
    if not invoice.isdigit() and not (invoice[:1] == "C" and invoice[1:].isdigit()):
        yield from (
            RowError(
                row.number,
                "InvoiceNo",
                f"{invoice!r} is not an invoice number (digits, or C and digits)",
            )
            for row in goods
        )
        return
    sales, problems = [], []
    for row in goods:
        try:
            entry = _correction(row, invoice, seen, options)
        except RowProblem as problem:
            problems.append(problem.at(row.number))
            continue
        if entry is None:
            sales.append(row)
        else:
            yield entry
    yield from problems
    if sales and not problems:  # an invoice (part) is placed whole or not at all
        yield from _order(invoice, part, sales)


def _correction(row: CsvRow, invoice: str, seen: dict[str, int], options: ImportOptions):
    """A cancellation or write-off for a row that is one; None for a line of a sale."""
    qty = whole_number(row.get("Quantity"), "Quantity")
    code = _stock_code(row)
    if not invoice.startswith("C") and qty > 0:
        return None
    if qty == 0:
        raise RowProblem("Quantity", "0 units")
    seen[code] = seen.get(code, 0) + 1
    key = f"online-retail:{invoice}:{code}#{seen[code]}"[:250]
    at, reference = _placed_at(row), f"invoice {invoice}"
    if invoice.startswith("C"):
        if qty > 0:
            raise RowProblem("Quantity", f"{qty} on a cancellation invoice: expected below 0")
        customer = _customer_id(row)
        if customer is None:
            raise RowProblem("CustomerID", "missing: a cancellation is matched by customer")
        item = CancellationIn(key, customer, code, -qty, reference, at)
    else:
        item = WriteOffIn(key, code, options.warehouse, -qty, reference, at)
    return Parsed(item, row.number, CORRECTION_COLUMNS, "Quantity")


def _order(invoice: str, part: int, rows: list[CsvRow]) -> Iterator[Entry]:
    """The order of an invoice's sale rows; every bad cell reported, nothing placed then."""
    first, problems, lines = rows[0], [], []
    for row in rows:
        try:
            lines.append(_line(row))
        except RowProblem as problem:
            problems.append(problem.at(row.number))
    try:
        placed_at, customer = _placed_at(first), _customer(first, invoice)
    except RowProblem as problem:
        problems.append(problem.at(first.number))
    if problems:
        yield from problems
        return
    order = OrderImportIn(
        external_ref=f"online-retail:{invoice}" + (f"#{part}" if part > 1 else ""),
        customer=customer,
        currency=CURRENCY,
        lines=tuple(lines),
        placed_at=placed_at,
        create_products=True,
        channel="online-retail",
    )
    line_rows = tuple(row.number for row in rows)
    yield Parsed(order, first.number, ORDER_COLUMNS, "Quantity", line_rows)


def _line(row: CsvRow) -> ImportedLine:
    code = _stock_code(row)
    return ImportedLine(
        sku=code,
        name=row.get("Description") or code,
        qty=whole_number(row.get("Quantity"), "Quantity", minimum=1),
        unit_price_minor=money_minor(row.get("UnitPrice"), "UnitPrice", CURRENCY),
    )


def _stock_code(row: CsvRow) -> str:
    code = row.get("StockCode")
    if not code:
        raise RowProblem("StockCode", "missing")
    return code[:100]


def _customer_id(row: CsvRow) -> str | None:
    """ "17850.0" -> "online-retail:17850"; None when the row has none."""
    text = row.get("CustomerID")
    if not text:
        return None
    number = text[:-2] if text.endswith(".0") else text
    if not number.isdigit():
        raise RowProblem("CustomerID", f"{text!r} is not a customer number")
    return f"online-retail:{number}"


def _customer(row: CsvRow, invoice: str) -> CustomerIn:
    customer = _customer_id(row)
    if customer is None:
        return CustomerIn(
            f"Online Retail guest ({invoice})", external_id=f"online-retail-guest:{invoice}"
        )
    return CustomerIn(f"Online Retail customer {customer.split(':')[1]}", external_id=customer)


def _placed_at(row: CsvRow) -> datetime:
    text = row.get("InvoiceDate")
    try:
        local = datetime.fromisoformat(text)
    except ValueError:
        raise RowProblem(
            "InvoiceDate", f"{text!r} is not a date and time (2010-12-01 08:26:00)"
        ) from None
    if local.tzinfo is None:
        local = local.replace(tzinfo=SHOP_ZONE)
    return local.astimezone(UTC)
