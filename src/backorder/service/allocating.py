"""Hand free units of one SKU to its waiting lines, log why, and say so in events.

Called inside the transaction of a receipt, adjustment, cancel, edit or release, while
the caller holds the SKU's lock.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime

from ..domain.allocation import (
    Grant,
    Supply,
    WaitingLine,
    describe_key,
    plan_allocation,
)
from ..domain.model import Product
from . import payments
from .ports import Store


def allocate_waiting(
    store: Store,
    sku: str,
    cause: str,
    reference: str | None,
    now: datetime,
    product: Product | None = None,
    skip_orders: frozenset[int] = frozenset(),
) -> list[Grant]:
    """`product`: the SKU's row when the caller has already read it in this transaction;
    `skip_orders`: orders left out of this round (an operator released their hold)."""
    product = product or store.get_product(sku)
    if product is None or product.is_preorder(now):
        return []
    supply = [Supply(s.warehouse, s.available) for s in store.stock_levels(sku) if s.available > 0]
    if not supply:
        return []
    waiting = payments.servable(store, store.waiting_lines(sku))  # not while payment is due
    if skip_orders:
        waiting = [line for line in waiting if line.order_id not in skip_orders]
    if not waiting:
        return []
    grants = plan_allocation(waiting, supply)
    by_line = {line.line_id: line for line in waiting}
    store.apply_grants(sku, grants)
    store.insert_allocation_log(
        [log_row(sku, g, by_line[g.line_id], cause, reference, now) for g in grants]
    )
    store.insert_events(allocation_events(store, sku, grants, now))
    payments.on_units_allocated(store, grants, now)  # charge-on-allocation: capture intents
    return grants


def log_row(
    sku: str,
    grant: Grant,
    line: WaitingLine | None,
    cause: str,
    reference: str | None,
    now: datetime,
) -> dict:
    reason = f"{grant.qty} unit(s) by {cause}"
    if line is not None:
        reason += f"; {describe_key(line)}"
    if grant.ahead_of is not None:
        reason += f"; ahead of line {grant.ahead_of}"
    return {
        "sku": sku,
        "warehouse": grant.warehouse,
        "line_id": grant.line_id,
        "order_id": grant.order_id,
        "qty": grant.qty,
        "cause": cause,
        "reference": reference,
        "priority_key": json.dumps(grant.key, default=_iso) if grant.key else None,
        "reason": reason,
        "ahead_of_line_id": grant.ahead_of,
        "created_at": now,
    }


def allocation_events(store: Store, sku: str, grants: Sequence[Grant], now: datetime) -> list[dict]:
    """One event per order that got units: ready to ship if nothing of it still waits."""
    units: dict[int, dict[int, int]] = defaultdict(lambda: defaultdict(int))
    for grant in grants:
        units[grant.order_id][grant.line_id] += grant.qty
    ready = store.fully_allocated_orders(units)
    return [
        {
            "kind": "order_ready_to_ship" if order_id in ready else "units_allocated",
            "order_id": order_id,
            "sku": sku,
            "created_at": now,
            "payload": {
                "order_id": order_id,
                "lines": [{"line_id": lid, "sku": sku, "allocated": q} for lid, q in lines.items()],
            },
        }
        for order_id, lines in sorted(units.items())
    ]


def _iso(value: datetime) -> str:
    return value.isoformat()
