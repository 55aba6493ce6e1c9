"""`backorder import-snapshot FILE` and `backorder risk`: inventory snapshots and backorder risk.

import-snapshot exit codes, as `backorder import`: 0 every row applied; 1 some rows refused,
the good ones applied; 2 the file is unusable or an option is wrong, and nothing was applied.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from ..adapters.importers import kaggle
from ..adapters.importers.csvstream import CsvFile, ImportResult, UnusableInput
from ..service import risk, snapshots
from ..service.promising import local_date
from .cli import backend, run, show

EXIT_OK, EXIT_ROWS_REFUSED, EXIT_UNUSABLE = 0, 1, 2


def register(app: typer.Typer) -> None:
    app.command("risk")(risk_command)
    app.command("import-snapshot")(import_snapshot_command)


def risk_command(
    top: Annotated[int, typer.Option(help="How many SKUs, riskiest first.")] = 20,
) -> None:
    """Rank SKUs by the risk of going (further) on backorder within their lead time."""
    rows = run(lambda: risk.rank_skus(backend().uow, top))
    show(rows, risk_table)


def risk_table(rows: list[risk.RiskRow]) -> str:
    if not rows:
        return "no SKU has snapshot data yet: import one with `backorder import-snapshot FILE`"
    head = (
        "rank",
        "sku",
        "score",
        "short",
        "need",
        "balance",
        "free",
        "owed",
        "transit",
        "forecast",
        "sales+",
        "safety",
        "lead",
    )
    lines = ["\t".join(head)]
    for r in rows:
        lead = f"{r.lead_time_days / 7:g}w" + ("?" if r.lead_time_assumed else "")
        cells = (
            r.rank,
            r.sku,
            f"{r.score:.3f}",
            r.shortfall,
            r.need,
            r.projected_balance,
            r.free_stock,
            r.owed,
            r.in_transit,
            r.forecast_over_lead_time,
            r.sales_above_forecast,
            r.safety_stock,
            lead,
        )
        lines.append("\t".join(str(cell) for cell in cells))
    lines.append("score = short / (need + 1); lead: weeks, ? = unknown, default assumed")
    return "\n".join(lines)


def import_snapshot_command(
    file: Annotated[Path, typer.Argument(help="The CSV file.", show_default=False)],
    snapshot_date: Annotated[
        str | None,
        typer.Option(help=("The day the file describes, YYYY-MM-DD; default today (shop time).")),
    ] = None,
) -> None:
    """Import a Kaggle-style inventory snapshot (sku, national_inv, lead_time, forecasts...)."""
    try:
        day = _parsed_day(snapshot_date)
        with CsvFile(file) as source:
            source.require(*kaggle.REQUIRED)  # before the database is opened (or created)
            entries = kaggle.parse(source, day or _today())
            result = kaggle.apply_in_batches(source, entries, _apply_batch, snapshots.BATCH_SIZE)
    except UnusableInput as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(EXIT_UNUSABLE) from None
    show({"file": str(file), **asdict(result)}, lambda _: _summary(result, file))
    raise typer.Exit(EXIT_OK if result.ok else EXIT_ROWS_REFUSED)


def _parsed_day(text: str | None) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise UnusableInput(f"--snapshot-date {text!r}: give a date as YYYY-MM-DD") from None


def _today() -> date:
    return local_date(backend().clock(), backend().settings.shop_timezone)


def _apply_batch(items):
    return snapshots.import_snapshots(backend().uow, items, backend().clock())


def _summary(result: ImportResult, file: Path) -> str:
    lines = [str(error) for error in result.errors]
    hidden = result.error_count - len(result.errors)
    if hidden:
        lines.append(f"... and {hidden} more refused rows")
    return "\n".join([*lines, f"{file.name}: {result.summary()}"])
