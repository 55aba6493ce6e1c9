"""A supplier delivery from the command line: `backorder receive-delivery NOTE.csv`."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Annotated

import typer

from ..domain.errors import InvalidInput
from ..service import deliveries
from .cli import app, backend, run, show

COLUMNS = ("sku", "qty", "warehouse", "po_line")
ALIASES = {"po_line_id": "po_line"}  # the API's name for the column


def read_note(path: Path, default_warehouse: str) -> list[deliveries.DeliveryLine]:
    """The delivery note's lines; every bad row is reported and nothing is received."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidInput("note", f"{path}: must be UTF-8 text (save it as CSV UTF-8)") from None
    rows = csv.reader(io.StringIO(text, newline=""))
    header = _header(path, next(rows, []))
    lines, problems = [], []
    for number, cells in enumerate(rows, start=2):  # line 1 is the header
        if not any(cell.strip() for cell in cells):
            continue  # a blank line
        if len(cells) > len(header):
            problems.append(f"row {number}: {len(cells)} fields, the header has {len(header)}")
            continue
        line, problem = _line(dict(zip(header, cells, strict=False)), default_warehouse)
        if problem:
            problems.append(f"row {number}: {problem}")
        else:
            lines.append(line)
    if problems:
        raise InvalidInput("note", f"{path}: nothing received; " + "; ".join(problems))
    return lines


def _header(path: Path, cells: list[str]) -> list[str]:
    """Column names, matched whatever their case and spacing; unknown or repeated columns
    refuse the note (a misspelt warehouse column must not send units to the default)."""
    names = [ALIASES.get(name, name) for name in (cell.strip().lower() for cell in cells)]
    unknown = [name for name in names if name not in COLUMNS]
    repeated = sorted({name for name in names if names.count(name) > 1})
    missing = [name for name in ("sku", "qty") if name not in names]
    problems = []
    if missing:
        problems.append(f"the header needs the column(s) {', '.join(missing)}")
    if unknown:
        problems.append(f"unknown column(s) {', '.join(map(repr, unknown))}")
    if repeated:
        problems.append(f"repeated column(s) {', '.join(repeated)}")
    if problems:
        raise InvalidInput(
            "note",
            f"{path}: {'; '.join(problems)} (columns: sku, qty, optionally warehouse, po_line)",
        )
    return names


def _line(row: dict, default_warehouse: str):
    sku = (row.get("sku") or "").strip()
    qty = (row.get("qty") or "").strip()
    warehouse = (row.get("warehouse") or "").strip() or default_warehouse
    if not sku:
        return None, "sku: empty"
    po_line = (row.get("po_line") or "").strip()
    if not _positive(qty):
        return None, f"qty: {qty!r} is not a positive whole number"
    if po_line and not _positive(po_line):
        return None, f"po_line: {po_line!r} is not a PO line id"
    po_line_id = int(po_line) if po_line else None
    return deliveries.DeliveryLine(sku, warehouse, int(qty), po_line_id), None


def _positive(text: str) -> bool:
    return text.isascii() and text.isdigit() and int(text) > 0


def _text(result: dict) -> str:
    verb = "already received" if result["repeated"] else "received"
    return (
        f"{verb} {result['received_units']} unit(s) of {len(result['lines'])} line(s): "
        f"{result['allocated_to_lines']} unit(s) to {result['lines_served']} waiting line(s)"
    )


@app.command("receive-delivery")
def receive_delivery(
    note: Annotated[
        Path, typer.Argument(exists=True, dir_okay=False, help="CSV: sku,qty[,warehouse][,po_line]")
    ],
    reference: Annotated[str | None, typer.Option(help="The delivery note's number")] = None,
    warehouse: Annotated[str, typer.Option(help="For rows without a warehouse")] = "main",
) -> None:
    """Receive a whole delivery in one transaction; units go to waiting lines by priority."""

    def receive() -> dict:
        lines = read_note(note, warehouse)
        return deliveries.receive_delivery(backend().uow, lines, backend().clock(), reference)

    show(run(receive), _text)
