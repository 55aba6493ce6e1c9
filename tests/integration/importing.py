"""Helpers the platform import tests share: run an import and read back what it left."""

from __future__ import annotations

from pathlib import Path

from backorder.adapters.importers.csvstream import ImportResult
from backorder.adapters.importers.shopify import ImportOptions
from backorder.domain.model import Product
from backorder.entrypoints.cli_import import import_file
from backorder.service import catalog, queries


def run(app, path: Path, file_format: str | None = None, **options) -> ImportResult:
    """Import `path` (its format told by the header unless given); invariants hold after."""
    result = import_file(app, path, ImportOptions(source=path.name, **options), file_format)
    assert queries.check(app.uow) == []
    return result


def counts(result: ImportResult) -> dict[str, int]:
    return {
        "read": result.rows_read,
        "created": result.created,
        "updated": result.updated,
        "unchanged": result.unchanged,
        "skipped": result.skipped,
        "errors": result.error_count,
    }


def errors(result: ImportResult) -> list[str]:
    return [str(error) for error in result.errors]


def product(app, sku: str) -> Product:
    return catalog.get_product(app.uow, sku)


def facts(app, sku: str) -> tuple:
    """(name, price_minor, currency, policy, limit) of a SKU."""
    found = product(app, sku)
    return (
        found.name,
        found.price_minor,
        found.currency,
        found.backorder_policy.value,
        found.backorder_limit,
    )


def on_hand(app, sku: str) -> dict[str, int]:
    """on_hand per warehouse; {} when the SKU has never been counted."""
    return {level.warehouse: level.on_hand for level in queries.stock(app.uow, sku)}


def write(tmp_path: Path, name: str, lines: list[str], *, crlf: bool = False) -> Path:
    path = tmp_path / name
    path.write_bytes((("\r\n" if crlf else "\n").join(lines) + "\n").encode("utf-8"))
    return path
