"""Apply a file's product rows a batch at a time, everything else one item at a time.

`apply_batched` is `csvstream.apply_all` with batches: product rows (`ProductRowIn`) are held
until `size` of them are waiting, then applied by one call of `apply_batch`, which answers
per row with its outcome or the exception that refused it; any other item first applies the
held batch, then itself, so the file's order holds. The answers then go through `apply_all`
in file order, so errors are located and reported exactly as there. At most `size` rows are
held: memory stays flat.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import replace
from typing import Any

from ...service.imports import ProductRowIn
from .csvstream import CsvFile, Entry, ImportResult, Parsed, apply_all

BatchApply = Callable[[Sequence[ProductRowIn]], Sequence[Any]]  # per row: outcome or exception


def apply_batched(
    source: CsvFile,
    entries: Iterable[Entry],
    apply_one: Callable[[Any], str],
    apply_batch: BatchApply,
    size: int = 1000,
) -> ImportResult:
    """Apply every entry as `apply_all` would, product rows `size` at a time."""
    return apply_all(source, _settled(entries, apply_one, apply_batch, size), _outcome)


def _settled(
    entries: Iterable[Entry], apply_one: Callable[[Any], str], apply_batch: BatchApply, size: int
) -> Iterator[Entry]:
    """The entries in order, each Parsed one's item replaced by its outcome (or exception)."""
    held: list[Entry] = []
    rows = 0
    for entry in entries:
        if isinstance(entry, Parsed) and not isinstance(entry.item, ProductRowIn):
            yield from _flush(held, apply_batch)
            held, rows = [], 0
            yield replace(entry, item=_tried(apply_one, entry.item))
            continue
        held.append(entry)
        rows += isinstance(entry, Parsed)
        if rows == size:
            yield from _flush(held, apply_batch)
            held, rows = [], 0
    yield from _flush(held, apply_batch)


def _flush(held: list[Entry], apply_batch: BatchApply) -> Iterator[Entry]:
    parsed = [entry for entry in held if isinstance(entry, Parsed)]
    answers = iter(apply_batch([entry.item for entry in parsed]) if parsed else ())
    for entry in held:
        yield replace(entry, item=next(answers)) if isinstance(entry, Parsed) else entry


def _tried(apply_one: Callable[[Any], str], item: Any) -> Any:
    try:
        return apply_one(item)
    except Exception as error:  # noqa: BLE001 - `_outcome` raises it again inside apply_all
        return error


def _outcome(answer: Any) -> str:
    """What `apply_all` sees for an item: its outcome, or the exception that refused it."""
    if isinstance(answer, Exception):
        raise answer
    return str(answer)
