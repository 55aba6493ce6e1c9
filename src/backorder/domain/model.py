"""The nouns of the domain as frozen dataclasses."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class BackorderPolicy(StrEnum):
    DENY = "deny"
    ALLOW = "allow"
    ALLOW_NOTIFY = "allow_notify"


class Fulfilment(StrEnum):
    SHIP_PARTIAL = "ship_partial"
    SHIP_COMPLETE = "ship_complete"
    CANCEL_REMAINDER = "cancel_remainder"


class Tier(StrEnum):
    STANDARD = "standard"
    PRIORITY = "priority"
    CRITICAL = "critical"


class PaidPriority(StrEnum):
    NORMAL = "normal"
    EXPEDITED = "expedited"


@dataclass(frozen=True)
class Product:
    sku: str
    name: str
    price_minor: int
    currency: str = "USD"
    backorder_policy: BackorderPolicy = BackorderPolicy.DENY
    backorder_limit: int | None = None  # None: unlimited; 0: none
    release_at: datetime | None = None  # in the future: orders are preorders
    lead_time_days: int | None = None  # None: the supplier's lead time
    safety_stock: int = 0  # units replenishment keeps on hand beyond open backorders

    def is_preorder(self, now: datetime) -> bool:
        return self.release_at is not None and now < self.release_at


@dataclass(frozen=True)
class StockLevel:
    """One (SKU, warehouse) row. `rank` orders warehouses for allocation."""

    sku: str
    warehouse: str
    on_hand: int
    allocated: int
    rank: int = 0

    @property
    def available(self) -> int:
        return self.on_hand - self.allocated


@dataclass(frozen=True)
class LineQuantities:
    """Invariant: qty = allocated + backordered + shipped + cancelled, each >= 0."""

    qty: int
    allocated: int = 0
    backordered: int = 0
    shipped: int = 0
    cancelled: int = 0

    @property
    def is_consistent(self) -> bool:
        parts = (self.allocated, self.backordered, self.shipped, self.cancelled)
        return all(p >= 0 for p in parts) and self.qty == sum(parts)

    @property
    def outstanding(self) -> int:
        """Units the line still holds or waits for."""
        return self.allocated + self.backordered

    @property
    def state(self) -> str:
        if self.outstanding == 0:
            return "shipped" if self.shipped else "cancelled"
        if self.backordered == 0:
            return "allocated"
        return "partially_allocated" if self.allocated else "backordered"
