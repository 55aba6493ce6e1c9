"""`backorder import FILE`: load a shop's CSV export row by row and say what happened.

Exit codes: 0 every row applied (or skipped); 1 some rows refused, the good ones applied;
2 the file is unusable (missing, empty, unknown format, a required column lacking) or an
option is wrong, and nothing was applied.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import ValidationError

from ..adapters.importers import registry
from ..adapters.importers.batching import apply_batched
from ..adapters.importers.csvstream import CsvFile, ImportResult, UnusableInput, apply_all
from ..adapters.importers.registry import ImportFormat
from ..adapters.importers.shopify import ImportOptions
from ..bootstrap import App, build, rolled_back
from ..config import Settings
from ..service import bulk_imports, imports, queries
from ..service.imports import ProductRowIn
from ..service.ports import UnitOfWork
from .import_progress import ImportProgress

EXIT_OK, EXIT_ROWS_REFUSED, EXIT_UNUSABLE = 0, 1, 2


def register(app: typer.Typer) -> None:
    app.command("import")(import_command)


def import_file(
    app: App,
    path: Path | str,
    options: ImportOptions,
    file_format: str | None = None,
    *,
    dry_run: bool = False,
) -> ImportResult:
    """Import one file into `app`'s database; UnusableInput when nothing can be imported.
    A dry run reports what would change and leaves the database as it was."""
    with CsvFile(path) as source:
        kind = registry.chosen(source, file_format)
        return _applied(app, source, kind.parse(source, options), kind, dry_run=dry_run)


def _applied(
    app: App, source: CsvFile, entries, kind: ImportFormat, *, dry_run: bool
) -> ImportResult:
    if not dry_run:
        return _apply_with(app.uow, app, source, entries, kind)
    with rolled_back(app) as uow:  # every commit undone at the end
        return _apply_with(uow, app, source, entries, kind)


def _apply_with(
    uow: UnitOfWork, app: App, source: CsvFile, entries, kind: ImportFormat
) -> ImportResult:
    """Product rows a batch per transaction (`service.bulk_imports`), other items one each."""

    def apply_one(item: Any) -> str:
        return kind.apply(uow, item, app.clock())

    def apply_batch(rows: Sequence[ProductRowIn]) -> list:
        return bulk_imports.import_products(uow, rows, app.clock())

    if kind.apply is not imports.import_product:
        return apply_all(source, entries, apply_one)
    return apply_batched(source, entries, apply_one, apply_batch, bulk_imports.BATCH)


def import_command(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="The CSV file.", show_default=False)],
    file_format: Annotated[
        str | None,
        typer.Option(
            "--format", help=(f"{' | '.join(registry.NAMES)}; by default told by the header.")
        ),
    ] = None,
    create_products: Annotated[
        bool,
        typer.Option(
            "--create-products",
            help=("Orders: a SKU the catalog lacks becomes a product (policy allow)."),
        ),
    ] = False,
    warehouse: Annotated[
        str,
        typer.Option(help=("Warehouse code for counted stock when the file names no location.")),
    ] = "main",
    currency: Annotated[
        str, typer.Option(help="Currency of prices the file does not name.")
    ] = "USD",
    database_url: Annotated[
        str | None,
        typer.Option(
            help=("sqlite:///PATH or postgresql+psycopg://... (default: BACKORDER_DATABASE_URL)")
        ),
    ] = None,
    dry_run: Annotated[
        bool,
        typer.Option(
            "--dry-run",
            help=("Report what would be created, updated, unchanged or refused; write nothing."),
        ),
    ] = False,
) -> None:
    """Import a shop's CSV file (Shopify, WooCommerce, Magento, PrestaShop, Online Retail)."""
    options = ImportOptions(warehouse, currency, create_products, file.name)
    try:
        _check_options(file_format, currency)
        with CsvFile(file) as source, ImportProgress(source) as progress:
            kind = registry.chosen(source, file_format)
            entries = progress.track(kind.parse(source, options))
            result = _apply(
                source,
                entries,
                kind,
                options,
                database_url or _parent_option(ctx, "database_url"),
                dry_run,
            )
    except UnusableInput as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(EXIT_UNUSABLE) from None
    _report(result, file, as_json=bool(_parent_option(ctx, "as_json")), dry_run=dry_run)
    if progress.show:
        typer.echo(progress.rate_line())
    raise typer.Exit(EXIT_OK if result.ok else EXIT_ROWS_REFUSED)


def _apply(
    source: CsvFile,
    entries,
    kind: ImportFormat,
    options: ImportOptions,
    database_url: str | None,
    dry_run: bool = False,
) -> ImportResult:
    """Open the database only once the file proved usable, so a typo creates no database."""
    app = _app(database_url)
    try:
        if kind.uses_warehouse:
            _require_warehouse(app, options.warehouse)
        return _applied(app, source, entries, kind, dry_run=dry_run)
    finally:
        app.close()


def _check_options(file_format: str | None, currency: str) -> None:
    if file_format is not None:
        registry.by_name(file_format)
    if not re.fullmatch(r"[A-Z]{3}", currency):
        raise UnusableInput(f"--currency {currency!r}: give a three-letter code such as USD")


def _parent_option(ctx: typer.Context, name: str) -> Any:
    """An option given before the command (`backorder --database-url URL import ...`)."""
    return ctx.parent.params.get(name) if ctx.parent is not None else None


def _app(database_url: str | None) -> App:
    try:
        return build(Settings(database_url=database_url) if database_url else Settings())
    except ValidationError as error:
        raise UnusableInput(f"--database-url: {error.errors()[0]['msg']}") from None


def _require_warehouse(app: App, code: str) -> None:
    known = [w["code"] for w in queries.warehouses(app.uow)]
    if code not in known:
        raise UnusableInput(f"unknown warehouse {code!r}; known: {', '.join(known)}")


def _report(result: ImportResult, file: Path, *, as_json: bool, dry_run: bool = False) -> None:
    if as_json:
        typer.echo(json.dumps({"file": str(file), "dry_run": dry_run, **asdict(result)}, indent=2))
        return
    for error in result.errors:
        typer.echo(str(error))
    hidden = result.error_count - len(result.errors)
    if hidden:
        typer.echo(f"... and {hidden} more refused rows")
    typer.echo(f"{file.name}{' (dry run: nothing written)' if dry_run else ''}: {result.summary()}")
