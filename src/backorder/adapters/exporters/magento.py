"""Our stock as Magento MSI source items (`source_code, sku, status, quantity`).

Written so that `backorder import` (format `magento-sources`) reads it back to exactly what we
have:
- One row per SKU and warehouse holding a stock row, in SKU then warehouse-rank order.
- `source_code`: the warehouse's code; the chosen warehouse (`--warehouse`, default `main`)
  is Magento's single source `default`, as the importer reads it.
- `quantity`: on_hand there, a whole number (Magento's salable quantity subtracts its own
  reservations, as we subtract allocations).
- `status` 1 (in stock) when the source holds units or the SKU can still be sold on
  backorder, else 0. The importer counts a source of status 0 as empty, so a source that
  holds units is never written 0.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TextIO

from ...service.exports import Sellable, SkuAvailability
from .csvsafe import SafeWriter

SOURCES = "magento-sources"
DEFAULT_SOURCE = "default"
HEADER = ("source_code", "sku", "status", "quantity")


def write_sources(out: TextIO, items: Iterable[SkuAvailability], warehouse: str) -> int:
    """Write the source-items CSV; returns the number of rows."""
    writer = SafeWriter(out, HEADER)
    for item in items:
        on_backorder = item.sellable is Sellable.ON_BACKORDER
        for level in item.stock:
            source = DEFAULT_SOURCE if level.warehouse == warehouse else level.warehouse
            in_stock = 1 if level.on_hand > 0 or on_backorder else 0
            writer.row([source, item.product.sku, in_stock, level.on_hand])
    return writer.rows
