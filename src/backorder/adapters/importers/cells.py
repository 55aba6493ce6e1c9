"""Cell parsers the platform importers share, beyond those of `csvstream`.

- Quantities are whole base units. A file may write them with a fractional part ("3.0000",
  Magento's habit, or "3,0"): a part of zeros is fine, anything else ("10.55") is refused
  ("quantity 10.55 is not a whole number of base units"); nothing is ever rounded.
- Decimal numbers may use a decimal comma ("19,6", PrestaShop in a French shop): one comma and
  no point is read as the point. Thousands separators are refused rather than guessed.
- Money is read exactly and rounded once, half up, to the currency's minor unit.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from decimal import ROUND_HALF_UP, Decimal

from ...service.validation import MAX_QTY
from .csvstream import CsvRow, Entry, Parsed, RowError, RowProblem, minor_digits

_NUMBER = re.compile(r"[+-]?([0-9]+([.,][0-9]*)?|[.,][0-9]+)")


def decimal(text: str, column: str, *, what: str = "a number") -> Decimal:
    """A decimal written with a point or a single decimal comma; RowProblem otherwise."""
    if not text:
        raise RowProblem(column, "missing")
    if not _NUMBER.fullmatch(text):
        raise RowProblem(column, f"{text!r} is not {what}")
    return Decimal(text.replace(",", "."))


def base_units(text: str, column: str, *, minimum: int = -MAX_QTY, what: str = "quantity") -> int:
    """A quantity in whole base units: "3", "3.0000" or "3,0"; "10.55" is refused."""
    value = decimal(text, column, what=f"a {what}")
    if value != value.to_integral_value():
        raise RowProblem(column, f"{what} {text} is not a whole number of base units")
    units = int(value)
    if not minimum <= units <= MAX_QTY:
        raise RowProblem(column, f"{what} {units} is out of range ({minimum} to {MAX_QTY})")
    return units


def money_minor(text: str, column: str, currency: str, *, signed: bool = False) -> int:
    """A price ("9.99", "9,99", "-5" when `signed`) in the currency's minor units."""
    amount = decimal(text, column, what="a price")
    if amount < 0 and not signed:
        raise RowProblem(column, f"{text!r} is negative")
    minor = amount.scaleb(minor_digits(currency))
    if abs(minor) > MAX_QTY:
        raise RowProblem(column, f"{text!r} is too large a price")
    return int(minor.quantize(1, rounding=ROUND_HALF_UP))


def choice(text: str, column: str, table: dict[str, object], described: str):
    """`table[text]` (case-folded); RowProblem naming the accepted values otherwise."""
    key = text.casefold()
    if key not in table:
        raise RowProblem(column, f"{text!r} is not {described}")
    return table[key]


def each_row(
    rows: Iterator[CsvRow | RowError], parse_row: Callable[[CsvRow], Entry | None]
) -> Iterator[Entry]:
    """`parse_row` on each row; a RowProblem it raises becomes that row's RowError."""
    for row in rows:
        if isinstance(row, RowError):
            yield row
            continue
        try:
            entry = parse_row(row)
        except RowProblem as problem:
            yield problem.at(row.number)
        else:
            if entry is not None:
                yield entry


def parsed(item, row: CsvRow, columns: dict[str, str], default_column: str) -> Parsed:
    return Parsed(item, row.number, columns, default_column)
