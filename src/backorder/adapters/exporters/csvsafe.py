"""CSV cells a spreadsheet will not run: the formula guard, written and read back.

A spreadsheet opening a CSV runs a cell that starts with `=`, `+`, `-` or `@` (and, in some
programs, a tab or a carriage return) as a formula: a product named `=HYPERLINK(...)` would
become a live link in the merchant's copy. So every *text* cell we write that starts with one
of those characters gets a single quote in front (`'=HYPERLINK(...)`), the spreadsheet's own
"this is text" mark (OWASP's advice for CSV injection).

Rules, chosen so that what we write reads back exactly:
- Numbers are written as numbers and never guarded: a quantity of units owed is `-3`, not
  `'-3` (a number cannot be a formula, and a guarded one would not read back as a number).
- A text cell is guarded when, after any single quotes it already starts with, its first
  character is one of the six. Counting the leading quotes makes the guard reversible: a name
  that really starts with `'=` is written `''=` and reads back as `'=`.
- Reading (`unguard`, applied by `importers.csvstream` to every cell) removes one quote only
  in that exact shape: a quote followed (after further quotes) by one of the six characters.
  Any other leading quote (`'hello`, `'5`) is data and stays.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from decimal import Decimal
from typing import TextIO

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
GUARD = "'"

Cell = str | int | Decimal | None


def needs_guard(text: str) -> bool:
    return text.lstrip(GUARD).startswith(FORMULA_STARTS)


def guard(text: str) -> str:
    """A text cell as we write it: a quote in front when it could start a formula."""
    return GUARD + text if needs_guard(text) else text


def unguard(text: str) -> str:
    """The inverse of `guard`: one quote off a guarded cell, any other text as it is."""
    if text.startswith(GUARD) and needs_guard(text):
        return text[1:]
    return text


def cell(value: Cell) -> str:
    """Numbers (int, Decimal) as they are, negative ones too; text guarded; None empty."""
    if value is None:
        return ""
    if isinstance(value, bool):  # a bool is an int: say what is meant
        raise TypeError("write a flag as 0/1 or text, not a bool")
    if isinstance(value, int):
        return str(value)
    if isinstance(value, Decimal):
        return format(value, "f")  # 1000.00, never 1.0E+3
    return guard(value)


class SafeWriter:
    """`csv.writer` whose rows go through `cell`; counts the rows it wrote (header aside)."""

    def __init__(self, out: TextIO, header: Iterable[str]) -> None:
        self._writer = csv.writer(out, lineterminator="\r\n")  # RFC 4180, what Excel expects
        self._writer.writerow([guard(name) for name in header])
        self.rows = 0

    def row(self, cells: Iterable[Cell]) -> None:
        self._writer.writerow([cell(value) for value in cells])
        self.rows += 1


def price(minor: int, digits: int) -> Decimal:
    """Minor units as the decimal a shop file shows: (2500, 2) -> 25.00, (5, 0) -> 5."""
    return Decimal(minor).scaleb(-digits)
