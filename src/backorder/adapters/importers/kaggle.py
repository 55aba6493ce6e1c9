"""Kaggle-style inventory snapshots ("Product Backorders": one row per SKU) as import items.

Parsing only; `service.snapshots` applies the items. Rules:
- Columns are found by name (`csvstream` matching), so an unnamed leading index column, as
  pandas writes it, or any column not named here is ignored. The file carries no date: every
  row is a snapshot of the date given (`--snapshot-date`, default the shop's today).
- Required: `sku`, `national_inv` (a negative value is units already owed), `lead_time`,
  `in_transit_qty`, `forecast_3/6/9_month`, `sales_1/3/6/9_month`, `min_bank`. The other
  columns of the dataset are read when present: `pieces_past_due`, `local_bo_qty` (default 0),
  `perf_6/12_month_avg`, the Yes/No flags (default No) and the label `went_on_backorder`.
- `NA` is unknown where unknown has a meaning: `lead_time` (the service then assumes a default),
  `perf_6/12_month_avg` (where the dataset's -99 also means unknown) and `went_on_backorder`.
  Anywhere else `NA`, a blank, a fraction or a negative count is a row error naming the row
  and the column. Quantities may be written "5.0" (as pandas does).
- A SKU met again in the same file is refused: one snapshot per SKU and date.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from ...domain.errors import DomainError
from ...service.snapshots import SkuSnapshot
from .csvstream import (
    CsvFile,
    CsvRow,
    Entry,
    ImportResult,
    Parsed,
    RowError,
    RowProblem,
    whole_number,
)

FORMAT = "kaggle"
UNKNOWN = "na"
COUNTS = (
    "in_transit_qty",
    "forecast_3_month",
    "forecast_6_month",
    "forecast_9_month",
    "sales_1_month",
    "sales_3_month",
    "sales_6_month",
    "sales_9_month",
    "min_bank",
)
REQUIRED = ("sku", "national_inv", "lead_time", *COUNTS)
OPTIONAL_COUNTS = ("pieces_past_due", "local_bo_qty")
PERFORMANCE = ("perf_6_month_avg", "perf_12_month_avg")
FLAGS = ("potential_issue", "deck_risk", "oe_constraint", "ppap_risk", "stop_auto_buy", "rev_stop")
LABEL = "went_on_backorder"
BOOLEANS = {"yes": True, "no": False, "true": True, "false": False, "1": True, "0": False}
PERF_UNKNOWN = Decimal(-99)

# Field names the service reports in its errors -> the column the value came from.
COLUMNS = {name: name for name in (*REQUIRED, *OPTIONAL_COUNTS, *PERFORMANCE, *FLAGS, LABEL)} | {
    "lead_time_weeks": "lead_time",
    "lead_time_days": "lead_time",
    "expected_date": "lead_time",
    "safety_stock": "min_bank",
    "count": "national_inv",
    "qty": "in_transit_qty",
    "name": "sku",
}


def detect_format(source: CsvFile) -> str | None:
    return FORMAT if source.has("sku", "national_inv", "in_transit_qty", "min_bank") else None


def parse(source: CsvFile, snapshot_date: date) -> Iterator[Entry]:
    """Check the header now (UnusableInput), then yield one entry per row."""
    source.require(*REQUIRED)
    present = tuple(c for c in (*OPTIONAL_COUNTS, *PERFORMANCE, *FLAGS, LABEL) if source.has(c))
    return _entries(source.rows(), snapshot_date, present)


def _entries(
    rows: Iterable[CsvRow | RowError], snapshot_date: date, present: tuple[str, ...]
) -> Iterator[Entry]:
    first_row_of: dict[str, int] = {}
    for row in rows:
        if isinstance(row, RowError):
            yield row
            continue
        try:
            snapshot = _snapshot(row, snapshot_date, present)
        except RowProblem as problem:
            yield problem.at(row.number)
            continue
        if (first := first_row_of.setdefault(snapshot.sku, row.number)) != row.number:
            yield RowError(row.number, "sku", f"SKU {snapshot.sku} is already on row {first}")
            continue
        yield Parsed(snapshot, row.number, COLUMNS, "sku")


def _snapshot(row: CsvRow, snapshot_date: date, present: tuple[str, ...]) -> SkuSnapshot:
    sku = row.get("sku")
    if not sku:
        raise RowProblem("sku", "missing")
    return SkuSnapshot(
        sku=sku,
        snapshot_date=snapshot_date,
        national_inv=whole_number(row.get("national_inv"), "national_inv"),
        lead_time_weeks=_lead_time(row),
        **{column: _count(row, column) for column in COUNTS},
        **{column: _optional(row, column) for column in present},
    )


def _count(row: CsvRow, column: str) -> int:
    text = row.get(column)
    if text.casefold() == UNKNOWN:
        raise RowProblem(column, "NA (unknown) is not accepted here: a count is needed")
    return whole_number(text, column, minimum=0)


def _lead_time(row: CsvRow) -> int | None:
    text = row.get("lead_time")
    return None if text.casefold() == UNKNOWN else whole_number(text, "lead_time", minimum=0)


def _optional(row: CsvRow, column: str) -> Any:
    if column in OPTIONAL_COUNTS:
        return _count(row, column)
    if column in PERFORMANCE:
        return _performance(row.get(column), column)
    return _yes_no(row.get(column), column, unknown_allowed=column == LABEL)


def _performance(text: str, column: str) -> float | None:
    if text.casefold() == UNKNOWN:
        return None
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise RowProblem(column, f"{text!r} is not a number") from None
    if value == PERF_UNKNOWN:
        return None
    if not 0 <= value <= 1:
        raise RowProblem(column, f"{text} is not a share between 0 and 1 (or -99, unknown)")
    return float(value)


def _yes_no(text: str, column: str, *, unknown_allowed: bool) -> bool | None:
    if unknown_allowed and text.casefold() in (UNKNOWN, ""):
        return None
    value = BOOLEANS.get(text.casefold())
    if value is None:
        raise RowProblem(column, f"{text!r} is not Yes or No")
    return value


# -- applying in batches ----------------------------------------------------------------------

BatchApply = Callable[[Sequence[Any]], Sequence[str | DomainError]]


def apply_in_batches(
    source: CsvFile, entries: Iterable[Entry], apply_batch: BatchApply, size: int = 200
) -> ImportResult:
    """Like `csvstream.apply_all`, but `size` items per call: `apply_batch` returns, per item,
    its outcome ("created", "updated", "unchanged") or the DomainError that refused it."""
    result = ImportResult()
    batch: list[Parsed] = []
    for entry in entries:
        if isinstance(entry, Parsed):
            batch.append(entry)
            if len(batch) == size:
                _apply_batch(batch, apply_batch, result)
                batch = []
        elif isinstance(entry, RowError):
            result.refuse(entry)
        else:
            result.skipped += entry.rows
    if batch:
        _apply_batch(batch, apply_batch, result)
    result.errors.sort(key=lambda error: error.row)
    result.rows_read = source.rows_read
    return result


def _apply_batch(batch: list[Parsed], apply_batch: BatchApply, result: ImportResult) -> None:
    outcomes = apply_batch([entry.item for entry in batch])
    for entry, outcome in zip(batch, outcomes, strict=True):
        if isinstance(outcome, DomainError):
            for row_error in entry.locate(outcome):
                result.refuse(row_error)
        else:
            result.count(str(outcome))
