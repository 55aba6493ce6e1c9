"""A supplier delivery from the command line: `backorder receive-delivery NOTE.csv`."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Annotated

import typer

from ..domain.errors import InvalidInput
from ..service import deliveries
from .cli import app, backend, run, show

COLUMNS = ("sku", "qty", "warehouse")


def read_note(path: Path, default_warehouse: str) -> list[deliveries.DeliveryLine]:
    """The delivery note's lines; every bad row is reported and nothing is received."""
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        missing = {"sku", "qty"} - set(reader.fieldnames or ())
        if missing:
            raise InvalidInput(
                "note",
                f"{path}: the header needs the column(s) {', '.join(sorted(missing))} "
                f"(columns: {', '.join(COLUMNS)}; warehouse is optional)",
            )
        lines, problems = [], []
        for number, row in enumerate(reader, start=2):  # line 1 is the header
            line, problem = _line(row, default_warehouse)
            if problem:
                problems.append(f"row {number}: {problem}")
            else:
                lines.append(line)
    if problems:
        raise InvalidInput("note", f"{path}: nothing received; " + "; ".join(problems))
    return lines


def _line(row: dict, default_warehouse: str):
    sku = (row.get("sku") or "").strip()
    qty = (row.get("qty") or "").strip()
    warehouse = (row.get("warehouse") or "").strip() or default_warehouse
    if not sku:
        return None, "sku: empty"
    if not qty.isdigit() or int(qty) <= 0:
        return None, f"qty: {qty!r} is not a positive whole number"
    return deliveries.DeliveryLine(sku, warehouse, int(qty)), None


def _text(result: dict) -> str:
    verb = "already received" if result["repeated"] else "received"
    return (
        f"{verb} {result['received_units']} unit(s) of {len(result['lines'])} line(s): "
        f"{result['allocated_to_lines']} unit(s) to {result['lines_served']} waiting line(s)"
    )


@app.command("receive-delivery")
def receive_delivery(
    note: Annotated[
        Path, typer.Argument(exists=True, dir_okay=False, help="CSV: sku,qty[,warehouse]")
    ],
    reference: Annotated[str | None, typer.Option(help="The delivery note's number")] = None,
    warehouse: Annotated[str, typer.Option(help="For rows without a warehouse")] = "main",
) -> None:
    """Receive a whole delivery in one transaction; units go to waiting lines by priority."""

    def receive() -> dict:
        lines = read_note(note, warehouse)
        return deliveries.receive_delivery(backend().uow, lines, backend().clock(), reference)

    show(run(receive), _text)
