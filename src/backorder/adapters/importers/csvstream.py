"""Read a shop's CSV export one row at a time, whatever Excel did to it, and tally the outcome.

Reading:
- Encoding: UTF-8, with or without a BOM. A byte that is not UTF-8 is read as Windows-1252
  (what Excel writes on "Save as CSV"), so one stray accent never stops an import.
- Line ends: LF, CRLF or a lone CR; a quoted cell may span lines.
- Delimiter: told by the header line: the most frequent of ",", ";" and a tab (PrestaShop
  writes ";"); a comma when the header has none of them.
- Headers match after trimming, collapsing inner spaces and ignoring case:
  " variant  SKU" is "Variant SKU". Cells are trimmed, and a quote guarding a formula
  character (`'=`, `'-3`: what our exporters write, see exporters.csvsafe) is taken off.
- Row numbers are file lines, 1-based, the header being row 1. A row whose quoted cell spans
  several lines is numbered by its first line. Blank lines are not rows.
- Memory stays constant: one row at a time, and a cell longer than the csv module's field
  limit (128 KiB) is a bad row, not a reason to hold the whole file.

Applying: a format's parser turns rows into `Parsed` items (or `RowError`s, or `Skipped`);
`apply_all` hands each item to a service function and turns whatever that function refuses
into a `RowError` that names the row and the column the refused value came from.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any

from ...domain.errors import DomainError
from ...service.validation import MAX_QTY
from ..exporters.csvsafe import unguard

MAX_KEPT_ERRORS = 1000  # the summary keeps this many row errors and counts the rest


class UnusableInput(Exception):
    """The file cannot be imported at all: missing, empty, unknown format, a column lacking."""


# -- decoding ---------------------------------------------------------------------------------


def _windows_1252_fallback(error: UnicodeError) -> tuple[str, int]:
    if not isinstance(error, UnicodeDecodeError):
        raise error
    bad = error.object[error.start : error.end]
    return bad.decode("cp1252", errors="replace"), error.end


_FALLBACK = "backorder-cp1252-fallback"
codecs.register_error(_FALLBACK, _windows_1252_fallback)


def _open_text(path: Path) -> io.TextIOWrapper:
    try:
        binary = path.open("rb")
    except FileNotFoundError:
        raise UnusableInput(f"{path}: no such file") from None
    except OSError as error:
        raise UnusableInput(f"{path}: {error.strerror or error}") from None
    if binary.peek(2)[:2] in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):
        binary.close()
        raise UnusableInput(f"{path} is UTF-16 text; save it as CSV UTF-8")
    # newline="": the csv module sees line ends as they are, so quoted newlines survive.
    return io.TextIOWrapper(binary, encoding="utf-8-sig", errors=_FALLBACK, newline="")


# -- rows -------------------------------------------------------------------------------------


@lru_cache(maxsize=1024)
def normalise(column: str) -> str:
    """The form headers are compared in: trimmed, inner spaces collapsed, case-folded."""
    return " ".join(column.split()).casefold()


@dataclass(frozen=True)
class RowError:
    row: int
    column: str | None  # None: the whole row (e.g. it is not valid CSV)
    reason: str

    def __str__(self) -> str:
        if self.column is None:
            return f"row {self.row}: {self.reason}"
        return f"row {self.row}, column {self.column}: {self.reason}"


class RowProblem(Exception):
    """A parser refuses one cell; the caller adds the row number."""

    def __init__(self, column: str, reason: str) -> None:
        super().__init__(f"{column}: {reason}")
        self.column = column
        self.reason = reason

    def at(self, row: int) -> RowError:
        return RowError(row, self.column, self.reason)


@dataclass(frozen=True)
class CsvRow:
    number: int
    index: Mapping[str, int]  # normalised header -> cell position
    cells: Sequence[str]

    def get(self, column: str) -> str:
        """The trimmed cell of `column`; empty when the row or the header lacks it."""
        position = self.index.get(normalise(column))
        if position is None or position >= len(self.cells):
            return ""
        return unguard(self.cells[position].strip())  # our formula guard off (exporters.csvsafe)


DELIMITERS = (",", ";", "\t")


def _delimiter_of(stream: io.TextIOWrapper) -> str:
    """The delimiter the header line uses most (a comma on a tie or when it has none)."""
    try:
        header = stream.readline(1 << 20)
        stream.seek(0)
    except OSError:  # not seekable: assume commas
        return ","
    counts = {delimiter: header.count(delimiter) for delimiter in DELIMITERS}
    best = max(DELIMITERS, key=lambda delimiter: counts[delimiter])
    return best if counts[best] > counts[","] else ","


class CsvFile:
    """An open CSV file: its header at once, its rows one at a time."""

    def __init__(self, path: Path | str, delimiter: str | None = None) -> None:
        self.path = Path(path)
        self.rows_read = 0
        self.header: list[str] = []
        self.delimiter = delimiter  # None: told by the header line
        self._index: dict[str, int] = {}

    def __enter__(self) -> CsvFile:
        self._stream = _open_text(self.path)
        if self.delimiter is None:
            self.delimiter = _delimiter_of(self._stream)
        self._reader = csv.reader(self._stream, delimiter=self.delimiter)
        try:
            header = next(self._reader, [])
        except csv.Error as error:
            self._stream.close()
            raise UnusableInput(f"{self.path}: unreadable header ({error})") from None
        if not any(cell.strip() for cell in header):
            self._stream.close()
            raise UnusableInput(f"{self.path} is empty or has no header row")
        self.header = [" ".join(cell.split()) for cell in header]
        for position, name in enumerate(self.header):
            self._index.setdefault(normalise(name), position)
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stream.close()

    def has(self, *columns: str) -> bool:
        return all(normalise(column) in self._index for column in columns)

    def require(self, *columns: str) -> None:
        missing = [column for column in columns if not self.has(column)]
        if missing:
            raise UnusableInput(f"{self.path.name} lacks the column(s): {', '.join(missing)}")

    @property
    def bytes_read(self) -> int:
        """How far into the file reading is, in bytes (ahead by at most one buffer)."""
        return self._stream.buffer.tell()

    def rows(self) -> Iterator[CsvRow | RowError]:
        while True:
            number = self._reader.line_num + 1
            try:
                cells = next(self._reader)
            except StopIteration:
                return
            except csv.Error as error:
                self.rows_read += 1
                yield RowError(number, None, f"not valid CSV ({error})")
                continue
            if any(cell.strip() for cell in cells):
                self.rows_read += 1
                yield CsvRow(number, self._index, cells)


# -- cell values ------------------------------------------------------------------------------

_DECIMAL = re.compile(r"[0-9]+(\.[0-9]*)?|\.[0-9]+")
_WHOLE = re.compile(r"[+-]?[0-9]+(\.0*)?")  # "5.0": a spreadsheet's way of writing 5
_ZERO_DECIMAL = {
    "BIF",
    "CLP",
    "DJF",
    "GNF",
    "ISK",
    "JPY",
    "KMF",
    "KRW",
    "PYG",
    "RWF",
    "UGX",
    "VND",
    "VUV",
    "XAF",
    "XOF",
    "XPF",
}
_THREE_DECIMAL = {"BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"}


def minor_digits(currency: str) -> int:
    """Digits after the point in a currency's minor unit (ISO 4217)."""
    if currency in _ZERO_DECIMAL:
        return 0
    return 3 if currency in _THREE_DECIMAL else 2


def money(text: str, column: str, currency: str) -> int:
    """A price such as "25" or "9.99" in minor units (2500, 999); extra digits round half up."""
    if not text:
        raise RowProblem(column, "missing")
    if not _DECIMAL.fullmatch(text):
        raise RowProblem(column, f"{text!r} is not a price (digits and a decimal point)")
    minor = Decimal(text).scaleb(minor_digits(currency))
    if minor > MAX_QTY:
        raise RowProblem(column, f"{text!r} is too large a price")
    return int(minor.quantize(1, rounding=ROUND_HALF_UP))


def whole_number(text: str, column: str, *, minimum: int = -MAX_QTY) -> int:
    if not text:
        raise RowProblem(column, "missing")
    if not _WHOLE.fullmatch(text):
        raise RowProblem(column, f"{text!r} is not a whole number")
    value = int(Decimal(text))
    if not minimum <= value <= MAX_QTY:
        raise RowProblem(column, f"{value} is out of range ({minimum} to {MAX_QTY})")
    return value


def timestamp(text: str, column: str) -> datetime | None:
    """Shopify's "2025-12-06 10:37:33 -0500", or ISO 8601, with an offset, as UTC; "": None."""
    if not text:
        return None
    try:
        value = datetime.strptime(text, "%Y-%m-%d %H:%M:%S %z")
    except ValueError:
        try:
            value = datetime.fromisoformat(text)
        except ValueError:
            raise RowProblem(column, f"{text!r} is not a date and time") from None
    if value.tzinfo is None:
        raise RowProblem(column, f"{text!r} has no UTC offset")
    return value.astimezone(UTC)


# -- applying ---------------------------------------------------------------------------------

_LINE_FIELD = re.compile(r"lines\[(\d+)\]\.(\w+)")


@dataclass(frozen=True)
class Skipped:
    """Rows that carry nothing to import (an image-only row, say): counted, not refused."""

    rows: int = 1
    reason: str = ""  # e.g. "grouped product: not a stock item"; tallied in `skipped_because`


@dataclass(frozen=True)
class Parsed:
    """One item for a service function, with where its values came from.

    `columns` maps the field names the service reports in its errors to CSV columns;
    an error naming `lines[i].x` lands on `line_rows[i]`; any other on `row`.
    """

    item: Any
    row: int
    columns: Mapping[str, str]
    default_column: str
    line_rows: tuple[int, ...] = ()

    def locate(self, error: DomainError) -> list[RowError]:
        """The rows and columns an error names; several when it lists `problems`."""
        problems = error.details.get("problems") or [error.details]
        return [
            self._place(str(p.get("field") or ""), str(p.get("reason") or error.message))
            for p in problems
        ]

    def _place(self, field_name: str, reason: str) -> RowError:
        row = self.row
        if match := _LINE_FIELD.fullmatch(field_name):
            index, field_name = int(match[1]), match[2]
            row = self.line_rows[index] if index < len(self.line_rows) else row
        return RowError(row, self.columns.get(field_name, self.default_column), reason)


Entry = Parsed | RowError | Skipped


@dataclass
class ImportResult:
    rows_read: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: int = 0
    error_count: int = 0
    errors: list[RowError] = field(default_factory=list)  # the first MAX_KEPT_ERRORS
    skipped_because: dict[str, int] = field(default_factory=dict)  # reason -> rows

    @property
    def ok(self) -> bool:
        return self.error_count == 0

    def count(self, outcome: str) -> None:
        """`outcome` is "created", "updated" or "unchanged"."""
        setattr(self, outcome, getattr(self, outcome) + 1)

    def skip(self, skipped: Skipped) -> None:
        self.skipped += skipped.rows
        if skipped.reason:
            self.skipped_because[skipped.reason] = (
                self.skipped_because.get(skipped.reason, 0) + skipped.rows
            )

    def refuse(self, error: RowError) -> None:
        self.error_count += 1
        if len(self.errors) < MAX_KEPT_ERRORS:
            self.errors.append(error)

    def summary(self) -> str:
        return (
            f"rows read {self.rows_read}, created {self.created}, updated {self.updated}, "
            f"unchanged {self.unchanged}, skipped {self.skipped}, errors {self.error_count}"
        )


def apply_all(
    source: CsvFile, entries: Iterable[Entry], apply: Callable[[Any], str]
) -> ImportResult:
    """Apply every parsed item in turn; a refused item is reported and the next one runs."""
    result = ImportResult()
    for entry in entries:
        if isinstance(entry, RowError):
            result.refuse(entry)
        elif isinstance(entry, Skipped):
            result.skip(entry)
        else:
            _apply_one(entry, apply, result)
    result.rows_read = source.rows_read
    return result


def _apply_one(entry: Parsed, apply: Callable[[Any], str], result: ImportResult) -> None:
    try:
        outcome = apply(entry.item)
    except DomainError as error:
        for row_error in entry.locate(error):
            result.refuse(row_error)
    except Exception as error:  # noqa: BLE001 - one broken row must not stop the other rows
        first_line = (str(error).splitlines() or [""])[0][:300]
        result.refuse(RowError(entry.row, None, f"{type(error).__name__}: {first_line}"))
    else:
        result.count(outcome)
