"""Our availability in Shopify's files: the inventory CSV (per location) and the product CSV.

Both are written so that `backorder import` reads them back to exactly what we have: an
export followed by an import of the same file changes nothing.

Inventory CSV (`shopify`; the file to import into Shopify, whose inventory import overwrites
`On hand` only and computes `Available` itself):
- One row per SKU and warehouse holding a stock row, in SKU then warehouse-rank order, with
  the columns of Shopify's inventory export.
- `On hand`: our on_hand there (what our importer reads). `Committed`: units allocated to
  orders there, plus, on the SKU's first row, the units it has on backorder; so `Available`
  (On hand - Committed) goes negative by the units owed, as Shopify shows an oversold
  variant. `Unavailable` 0; `Incoming`, `HS Code` and `COO` blank.
- A SKU without any stock row: one row at the chosen warehouse, `not stocked` (skipped on
  import).
- `Location`: the warehouse's name when our importer maps that name back to the warehouse
  (a location imported from Shopify: "Shop location" is `shop-location`), else its code
  (`main`). A warehouse whose code is not a slug either (`WH_1`) cannot be named so that it
  reads back: `unmappable` lists those for a warning.
- Handle: Shopify's own handle is not kept at import; ours is the slug of the product's name
  (Shopify's default handle), with 8 hex digits of the SKU's SHA-1 added when an earlier SKU
  of the same export has that handle (the set of handles is held while writing). Title: the
  name; Option1 Title / Default Title (a product without variants); SKU: ours.

Product CSV (`shopify-products`), one row per SKU:
- Handle, Title, Option1 as above; `Variant SKU`; `Variant Inventory Tracker` shopify;
  `Variant Inventory Qty`: on_hand at the chosen warehouse (what our importer reads; blank
  when the SKU has no stock row there, which the importer reads as "leave stock alone");
  `Variant Inventory Policy` continue (allow, allow_notify) or deny; `Variant Price` in the
  product's currency (the file names none: import it with that `--currency`); Status active.
- Shopify knows only deny and continue: our importer reads `continue` onto an allow_notify
  product as allow_notify, so the notify survives the round trip.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from typing import TextIO

from ...domain.model import BackorderPolicy
from ...service.exports import SkuAvailability, Warehouse
from ..importers.csvstream import minor_digits
from ..importers.shopify import slug
from .csvsafe import SafeWriter, price

INVENTORY, PRODUCTS = "shopify", "shopify-products"
NOT_STOCKED = "not stocked"
INVENTORY_HEADER = (
    "Handle",
    "Title",
    "Option1 Name",
    "Option1 Value",
    "Option2 Name",
    "Option2 Value",
    "Option3 Name",
    "Option3 Value",
    "SKU",
    "HS Code",
    "COO",
    "Location",
    "Incoming",
    "Unavailable",
    "Committed",
    "Available",
    "On hand",
)
PRODUCT_HEADER = (
    "Handle",
    "Title",
    "Option1 Name",
    "Option1 Value",
    "Variant SKU",
    "Variant Inventory Tracker",
    "Variant Inventory Qty",
    "Variant Inventory Policy",
    "Variant Price",
    "Status",
)
NO_VARIANTS = ("Title", "Default Title")  # Shopify's option of a product without variants


class Handles:
    """A handle per SKU, unique within one export."""

    def __init__(self) -> None:
        self._seen: set[str] = set()

    def of(self, item: SkuAvailability) -> str:
        digest = hashlib.sha1(item.product.sku.encode()).hexdigest()[:8]
        handle = slug(item.product.name)[:200].strip("-") or digest
        if handle in self._seen:
            handle = f"{handle}-{digest}"
        self._seen.add(handle)
        return handle


def location(warehouse: Warehouse) -> str:
    """What the Location cell says so that our importer finds this warehouse again."""
    return warehouse.name if _code_of(warehouse.name) == warehouse.code else warehouse.code


def unmappable(warehouses: Iterable[Warehouse]) -> list[str]:
    """Codes no Location cell can name (re-importing would count their stock elsewhere)."""
    return [w.code for w in warehouses if _code_of(location(w)) != w.code]


def _code_of(location_cell: str) -> str:
    return slug(location_cell)[:50].strip("-")  # the importer's rule (importers.shopify)


# -- inventory CSV ----------------------------------------------------------------------------


def write_inventory(
    out: TextIO,
    items: Iterable[SkuAvailability],
    warehouses: Sequence[Warehouse],
    default_warehouse: str,
) -> int:
    """Write the inventory CSV; returns the number of rows."""
    writer, handles = SafeWriter(out, INVENTORY_HEADER), Handles()
    labels = {w.code: location(w) for w in warehouses}
    for item in items:
        identity = [
            handles.of(item),
            item.product.name,
            *NO_VARIANTS,
            "",
            "",
            "",
            "",
            item.product.sku,
            "",
            "",
        ]
        if not item.stock:
            committed = item.backordered
            writer.row(
                [
                    *identity,
                    labels.get(default_warehouse, default_warehouse),
                    None,
                    0,
                    committed,
                    NOT_STOCKED,
                    NOT_STOCKED,
                ]
            )
        for index, level in enumerate(item.stock):
            committed = level.allocated + (item.backordered if index == 0 else 0)
            writer.row(
                [
                    *identity,
                    labels[level.warehouse],
                    None,
                    0,
                    committed,
                    level.on_hand - committed,
                    level.on_hand,
                ]
            )
    return writer.rows


# -- product CSV ------------------------------------------------------------------------------


def write_products(out: TextIO, items: Iterable[SkuAvailability], warehouse: str) -> int:
    """Write the product CSV; returns the number of rows."""
    writer, handles = SafeWriter(out, PRODUCT_HEADER), Handles()
    for item in items:
        product, level = item.product, item.at(warehouse)
        policy = "deny" if product.backorder_policy is BackorderPolicy.DENY else "continue"
        writer.row(
            [
                handles.of(item),
                product.name,
                *NO_VARIANTS,
                product.sku,
                "shopify",
                level.on_hand if level else None,
                policy,
                price(product.price_minor, minor_digits(product.currency)),
                "active",
            ]
        )
    return writer.rows
