"""`backorder import FILE`: load a shop's CSV export row by row and say what happened.

Exit codes: 0 every row applied (or skipped); 1 some rows refused, the good ones applied;
2 the file is unusable (missing, empty, unknown format, a required column lacking) or an
option is wrong, and nothing was applied.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import ValidationError

from ..adapters.importers import shopify
from ..adapters.importers.csvstream import CsvFile, ImportResult, UnusableInput, apply_all
from ..adapters.importers.shopify import ImportOptions
from ..bootstrap import App, build
from ..config import Settings
from ..service import imports, queries

EXIT_OK, EXIT_ROWS_REFUSED, EXIT_UNUSABLE = 0, 1, 2

APPLIERS: dict[str, Callable[[Any, Any, Any], str]] = {
    shopify.PRODUCTS: imports.import_product,
    shopify.INVENTORY: imports.import_stock_count,
    shopify.ORDERS: imports.import_order,
}


def register(app: typer.Typer) -> None:
    app.command("import")(import_command)


def import_file(
    app: App, path: Path | str, options: ImportOptions, file_format: str | None = None
) -> ImportResult:
    """Import one file into `app`'s database; UnusableInput when nothing can be imported."""
    with CsvFile(path) as source:
        file_format = file_format or _detected(source)
        entries = shopify.parse(source, file_format, options)
        return apply_all(source, entries, _applier(app, file_format))


def _applier(app: App, file_format: str) -> Callable[[Any], str]:
    apply = APPLIERS[file_format]
    return lambda item: apply(app.uow, item, app.clock())


def _detected(source: CsvFile) -> str:
    found = shopify.detect_format(source)
    if found is None:
        raise UnusableInput(
            f"cannot tell the format of {source.path.name} from its header; "
            f"give --format ({' | '.join(shopify.FORMATS)})"
        )
    return found


def import_command(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="The CSV file.", show_default=False)],
    file_format: Annotated[str | None, typer.Option("--format", help=(
        "shopify | shopify-inventory | shopify-orders; by default told by the header."))] = None,
    create_products: Annotated[bool, typer.Option("--create-products", help=(
        "Orders: a SKU the catalog lacks becomes a product (policy allow)."))] = False,
    warehouse: Annotated[str, typer.Option(help=(
        "Warehouse code for counted stock when the file names no location."))] = "main",
    currency: Annotated[str, typer.Option(help="Currency of prices the file does not name.")
                        ] = "USD",
    database_url: Annotated[str | None, typer.Option(help=(
        "sqlite:///PATH or postgresql+psycopg://... (default: BACKORDER_DATABASE_URL)"))] = None,
) -> None:  # fmt: skip
    """Import a Shopify product CSV, inventory export or orders export, one row at a time."""
    options = ImportOptions(warehouse, currency, create_products, file.name)
    try:
        _check_options(file_format, currency)
        with CsvFile(file) as source:
            file_format = file_format or _detected(source)
            entries = shopify.parse(source, file_format, options)
            result = _apply(source, entries, file_format, options, database_url or
                            _parent_option(ctx, "database_url"))  # fmt: skip
    except UnusableInput as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(EXIT_UNUSABLE) from None
    _report(result, file, as_json=bool(_parent_option(ctx, "as_json")))
    raise typer.Exit(EXIT_OK if result.ok else EXIT_ROWS_REFUSED)


def _apply(source: CsvFile, entries, file_format: str, options: ImportOptions,
           database_url: str | None) -> ImportResult:  # fmt: skip
    """Open the database only once the file proved usable, so a typo creates no database."""
    app = _app(database_url)
    try:
        if file_format != shopify.ORDERS:
            _require_warehouse(app, options.warehouse)
        return apply_all(source, entries, _applier(app, file_format))
    finally:
        app.close()


def _check_options(file_format: str | None, currency: str) -> None:
    if file_format is not None and file_format not in shopify.FORMATS:
        known = " | ".join(shopify.FORMATS)
        raise UnusableInput(f"unknown format {file_format!r}; known: {known}")
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


def _report(result: ImportResult, file: Path, *, as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps({"file": str(file), **asdict(result)}, indent=2))
        return
    for error in result.errors:
        typer.echo(str(error))
    hidden = result.error_count - len(result.errors)
    if hidden:
        typer.echo(f"... and {hidden} more refused rows")
    typer.echo(f"{file.name}: {result.summary()}")
