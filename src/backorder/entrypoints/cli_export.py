"""`backorder export --format F FILE`: our availability per SKU in a shop's own CSV format.

Formats: `shopify` (inventory CSV, per location), `shopify-products` (product CSV),
`woocommerce` (product CSV), `magento` (MSI source items). The file is written next to its
target and renamed into place, so a failed export never leaves half a file. Exit codes: 0
written; 2 an unknown format or warehouse, or the file cannot be written.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, TextIO

import typer
from pydantic import ValidationError

from ..adapters.exporters import magento, shopify, woocommerce
from ..bootstrap import App, build
from ..config import Settings
from ..service import exports

EXIT_OK, EXIT_UNUSABLE = 0, 2


@dataclass
class ExportResult:
    rows: int
    warnings: list[str] = field(default_factory=list)


def _shopify_inventory(app: App, out: TextIO, warehouse: str) -> ExportResult:
    known = exports.warehouses(app.uow)
    rows = shopify.write_inventory(out, _items(app), known, warehouse)
    warnings = [
        f"warehouse {code!r}: no Shopify location name reads back as this code; "
        "re-importing this file would count its stock under another warehouse"
        for code in shopify.unmappable(known)
    ]
    return ExportResult(rows, warnings)


def _per_sku(write: Callable[[TextIO, Any, str], int]) -> Callable[..., ExportResult]:
    return lambda app, out, warehouse: ExportResult(write(out, _items(app), warehouse))


EXPORTERS: dict[str, Callable[[App, TextIO, str], ExportResult]] = {
    shopify.INVENTORY: _shopify_inventory,
    shopify.PRODUCTS: _per_sku(shopify.write_products),
    woocommerce.PRODUCTS: _per_sku(woocommerce.write_products),
    "magento": _per_sku(magento.write_sources),
}


def register(app: typer.Typer) -> None:
    app.command("export")(export_command)


class UnusableExport(Exception):
    """Nothing was written: an unknown format or warehouse, or an unwritable file."""


def export_file(
    app: App, path: Path | str, file_format: str, warehouse: str = "main"
) -> ExportResult:
    """Write `app`'s availability to `path` in `file_format`, all or nothing."""
    if file_format not in EXPORTERS:
        raise UnusableExport(f"unknown format {file_format!r}; known: {' | '.join(EXPORTERS)}")
    if warehouse not in {w.code for w in exports.warehouses(app.uow)}:
        raise UnusableExport(f"unknown warehouse {warehouse!r}")
    path = Path(path)
    try:
        with _replacing(path) as out:
            return EXPORTERS[file_format](app, out, warehouse)
    except OSError as error:
        raise UnusableExport(f"{path}: {error.strerror or error}") from None


def _items(app: App):
    return exports.availability(app.uow, app.clock())


@contextmanager
def _replacing(path: Path) -> Iterator[TextIO]:
    """A text file written beside `path` and renamed onto it only once complete."""
    fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        # newline="": the csv module writes its own line ends (CRLF) untranslated.
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as out:
            yield out
        os.chmod(temporary, 0o644)  # mkstemp's 0600 would hide the file from a shop's upload
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def export_command(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="The CSV file to write.", show_default=False)],
    file_format: Annotated[
        str, typer.Option("--format", help=("shopify | shopify-products | woocommerce | magento"))
    ] = shopify.INVENTORY,
    warehouse: Annotated[
        str,
        typer.Option(
            help=(
                "Warehouse whose stock a one-quantity format carries (Shopify/WooCommerce product "
                "CSV); Magento's `default` source."
            )
        ),
    ] = "main",
    database_url: Annotated[
        str | None,
        typer.Option(
            help=("sqlite:///PATH or postgresql+psycopg://... (default: BACKORDER_DATABASE_URL)")
        ),
    ] = None,
) -> None:
    """Write what we know of each SKU's stock and sellability in a shop's own CSV format."""
    try:
        app = _app(database_url or _parent_option(ctx, "database_url"))
        try:
            result = export_file(app, file, file_format, warehouse)
        finally:
            app.close()
    except UnusableExport as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(EXIT_UNUSABLE) from None
    for warning in result.warnings:
        typer.echo(f"warning: {warning}", err=True)
    typer.echo(f"{file.name}: {result.rows} rows ({file_format})")


def _parent_option(ctx: typer.Context, name: str) -> Any:
    """An option given before the command (`backorder --database-url URL export ...`)."""
    return ctx.parent.params.get(name) if ctx.parent is not None else None


def _app(database_url: str | None) -> App:
    try:
        return build(Settings(database_url=database_url) if database_url else Settings())
    except ValidationError as error:
        raise UnusableExport(f"--database-url: {error.errors()[0]['msg']}") from None
