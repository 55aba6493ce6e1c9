"""Our availability as WooCommerce's product CSV (the columns of its exporter and importer).

Written so that `backorder import` reads it back to exactly what we have:
- One `simple` row per SKU: `SKU`, `Name`, `Published` 1, `Regular price` in the product's
  currency (the file names none: import it with that `--currency`).
- `Stock`: on_hand at the chosen warehouse, what our importer reads; blank when the SKU has
  no stock row there (WooCommerce: stock not managed; our importer: stock left alone).
- `Backorders allowed?`: 0 (deny), 1 (allow), notify (allow_notify), WooCommerce's values.
- `In stock?`: what the storefront should say, in WooCommerce's exporter's values: 1 in
  stock, `backorder` on backorder, 0 out of stock (see `service.exports`). Our importer does
  not read it (it derives the status from stock and policy).
- UTF-8 with a BOM, as WooCommerce writes it (Excel then reads the accents right).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TextIO

from ...domain.model import BackorderPolicy
from ...service.exports import Sellable, SkuAvailability
from ..importers.csvstream import minor_digits
from .csvsafe import SafeWriter, price

PRODUCTS = "woocommerce"
BOM = "\ufeff"
HEADER = (
    "Type",
    "SKU",
    "Name",
    "Published",
    "In stock?",
    "Stock",
    "Backorders allowed?",
    "Regular price",
)
IN_STOCK = {Sellable.IN_STOCK: 1, Sellable.ON_BACKORDER: "backorder", Sellable.OUT_OF_STOCK: 0}
BACKORDERS = {
    BackorderPolicy.DENY: 0,
    BackorderPolicy.ALLOW: 1,
    BackorderPolicy.ALLOW_NOTIFY: "notify",
}


def write_products(out: TextIO, items: Iterable[SkuAvailability], warehouse: str) -> int:
    """Write the product CSV; returns the number of rows."""
    out.write(BOM)
    writer = SafeWriter(out, HEADER)
    for item in items:
        product, level = item.product, item.at(warehouse)
        writer.row(
            [
                "simple",
                product.sku,
                product.name,
                1,
                IN_STOCK[item.sellable],
                level.on_hand if level else None,
                BACKORDERS[product.backorder_policy],
                price(product.price_minor, minor_digits(product.currency)),
            ]
        )
    return writer.rows
