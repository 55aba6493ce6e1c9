"""What to order, from whom, and how reliable each supplier has been (issue 7)."""

from __future__ import annotations

import math
from collections import defaultdict
from datetime import datetime, timedelta

from ..domain.errors import NotFound
from .ports import UnitOfWork
from .promising import local_date
from .purchasing import PoLineIn, create_purchase_order


def suggestions(uow: UnitOfWork, now: datetime) -> list[dict]:
    """Per SKU: open backorders + safety stock - available - open PO quantity, rounded up to
    the supplier's pack size and minimum, with the lead time and the arrival date."""
    with uow.reader() as r:
        store = r.store
        today = local_date(now, uow.shop_timezone)
        return [s for sku in store.replenishment_candidates() if (s := _suggest(store, sku, today))]


def _suggest(store, sku: str, today) -> dict | None:
    product = store.get_product(sku)
    backordered = store.backordered_total(sku)
    available = sum(max(0, s.available) for s in store.stock_levels(sku))
    open_po = store.open_po_qty(sku)
    need = backordered + product.safety_stock - available - open_po
    if need <= 0:
        return None
    options = store.supplier_products(sku)
    preferred = store.preferred_supplier_id(sku)
    option = next(
        (o for o in options if o["supplier_id"] == preferred), options[0] if options else None
    )
    suggestion = {
        "sku": sku,
        "need": need,
        "backordered": backordered,
        "safety_stock": product.safety_stock,
        "available": available,
        "open_po_qty": open_po,
        "qty": need,
        "supplier_id": None,
        "supplier": None,
        "pack_size": 1,
        "min_order": 1,
        "unit_cost_minor": None,
        "lead_time_days": product.lead_time_days,
        "arrival_date": None,
    }
    if option is None:
        return suggestion | {"note": "no supplier sells this SKU yet"}
    qty = max(need, option["min_order"])
    qty = math.ceil(qty / option["pack_size"]) * option["pack_size"]
    lead = (
        product.lead_time_days if product.lead_time_days is not None else option["lead_time_days"]
    )
    return suggestion | {
        "qty": qty,
        "supplier_id": option["supplier_id"],
        "supplier": option["name"],
        "pack_size": option["pack_size"],
        "min_order": option["min_order"],
        "unit_cost_minor": option["unit_cost_minor"],
        "lead_time_days": lead,
        "arrival_date": today + timedelta(days=lead),
    }


def create_draft_orders(uow: UnitOfWork, now: datetime) -> list[dict]:
    """Draft one purchase order per supplier from the suggestions (drafts are not supply yet)."""
    by_supplier: dict[int, list[dict]] = defaultdict(list)
    for suggestion in suggestions(uow, now):
        if suggestion["supplier_id"] is not None:
            by_supplier[suggestion["supplier_id"]].append(suggestion)
    created = []
    for supplier_id, items in sorted(by_supplier.items()):
        lines = [
            PoLineIn(s["sku"], s["qty"], s["arrival_date"], s["unit_cost_minor"] or 0)
            for s in items
        ]
        po = create_purchase_order(uow, supplier_id, lines, now, send=False)
        created.append({"po_id": po.id, "supplier_id": supplier_id, "lines": len(lines)})
    return created


def supplier_reliability(uow: UnitOfWork, supplier_id: int) -> dict:
    """On-time rate and lateness (days past the first expected date) of completed PO lines."""
    with uow.reader() as r:
        supplier = r.store.get_supplier(supplier_id)
        if supplier is None:
            raise NotFound(f"unknown supplier {supplier_id}", field="supplier_id")
        done = [line for line in r.store.supplier_history(supplier_id) if line.open_qty == 0]
    lateness = sorted(max(0, (x.last_received_date - x.first_expected_date).days) for x in done)
    on_time = sum(1 for days in lateness if days == 0)
    return {
        "supplier_id": supplier_id,
        "supplier": supplier.name,
        "lines_received": len(done),
        "on_time": on_time,
        "on_time_rate": on_time / len(done) if done else None,
        "mean_lateness_days": sum(lateness) / len(done) if done else None,
        "p90_lateness_days": _percentile(lateness, 0.9),
    }


def _percentile(sorted_values: list[int], fraction: float) -> int | None:
    """Nearest-rank percentile."""
    if not sorted_values:
        return None
    rank = max(1, math.ceil(fraction * len(sorted_values)))
    return sorted_values[rank - 1]
