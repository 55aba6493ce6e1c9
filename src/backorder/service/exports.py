"""What we know about each SKU's availability, for the exporters to write in a shop's format.

One read transaction for the whole catalog, so an export is a consistent snapshot even while
orders come in; products are read a page at a time (keyset paging), so memory stays flat
however large the catalog.

Sellable, per SKU (what a storefront should say):
- `in_stock`: units are free now (on_hand - allocated over every warehouse; a preorder has
  none before its release);
- `on_backorder`: none free, but an order would still be taken: the policy allows backorders
  and the backorder limit has room (or a preorder has room);
- `out_of_stock`: neither.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from ..domain.intake import SkuPosition, available_now, backorder_room
from ..domain.model import Product, StockLevel
from .ports import UnitOfWork

PAGE = 1000


class Sellable(StrEnum):
    IN_STOCK = "in_stock"
    ON_BACKORDER = "on_backorder"
    OUT_OF_STOCK = "out_of_stock"


@dataclass(frozen=True)
class SkuAvailability:
    product: Product
    stock: tuple[StockLevel, ...]  # one per warehouse holding a stock row, in rank order
    backordered: int  # units waiting for this SKU, over all orders
    sellable: Sellable

    def at(self, warehouse: str) -> StockLevel | None:
        return next((level for level in self.stock if level.warehouse == warehouse), None)


@dataclass(frozen=True)
class Warehouse:
    code: str
    name: str
    rank: int


def availability(uow: UnitOfWork, now: datetime, page: int = PAGE) -> Iterator[SkuAvailability]:
    """Every product in SKU order with its stock, waiting units and sellable state."""
    with uow.reader() as r:
        after: str | None = None
        while products := r.store.products_after(after, page):
            skus = [p.sku for p in products]
            stock = r.store.stock_for(skus)
            waiting = r.store.backordered_totals(skus)
            for product in products:
                yield _availability(
                    product, stock.get(product.sku, ()), waiting.get(product.sku, 0), now
                )
            after = skus[-1]


def warehouses(uow: UnitOfWork) -> list[Warehouse]:
    with uow.reader() as r:
        return [Warehouse(w["code"], w["name"], w["rank"]) for w in r.store.list_warehouses()]


def _availability(
    product: Product, stock: tuple[StockLevel, ...], waiting: int, now: datetime
) -> SkuAvailability:
    position = SkuPosition(product, stock, waiting)
    return SkuAvailability(product, stock, waiting, sellable(position, now))


def sellable(position: SkuPosition, now: datetime) -> Sellable:
    if available_now(position, now) > 0:
        return Sellable.IN_STOCK
    room = backorder_room(position, now)
    return Sellable.ON_BACKORDER if room is None or room > 0 else Sellable.OUT_OF_STOCK
