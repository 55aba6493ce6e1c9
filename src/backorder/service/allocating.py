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
    iso_times,
    plan_allocation,
)
from ..domain.model import Product
from . import payments
from .ports import AllocationLogRow, Store


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
) -> AllocationLogRow:
    reason = f"{grant.qty} unit(s) by {cause}"
    times = None
    if line is not None:  # the line the grant's key was made of: its times are the key's
        times = iso_times(line)
        reason += f"; {describe_key(line, times)}"
    if grant.ahead_of is not None:
        reason += f"; ahead of line {grant.ahead_of}"
    return AllocationLogRow(
        sku,
        grant.warehouse,
        grant.line_id,
        grant.order_id,
        grant.qty,
        cause,
        reference,
        key_json(grant.key, times) if grant.key else None,
        reason,
        grant.ahead_of,
        now,
    )


def allocation_events(store: Store, sku: str, grants: Sequence[Grant], now: datetime) -> list[dict]:
    """One event per order that got units: ready to ship if nothing of it still waits."""
    return grant_events(store, [(sku, g) for g in grants], now)


def grant_events(store: Store, grants: Sequence[tuple[str, Grant]], now: datetime) -> list[dict]:
    """`allocation_events` over (sku, grant) pairs of one or many SKUs: still one event per
    order, naming its SKU when all its units are of one."""
    units: dict[int, dict[tuple[int, str], int]] = defaultdict(dict)
    for sku, grant in grants:
        lines = units[grant.order_id]
        lines[(grant.line_id, sku)] = lines.get((grant.line_id, sku), 0) + grant.qty
    ready = store.fully_allocated_orders(units)
    quoted: dict[str, str] = {}  # each SKU as a JSON string, once
    events = []
    for order_id, lines in sorted(units.items()):
        skus = {sku for _, sku in lines}
        events.append(
            {
                "kind": "order_ready_to_ship" if order_id in ready else "units_allocated",
                "order_id": order_id,
                "sku": next(iter(skus)) if len(skus) == 1 else None,
                "created_at": now,
                "payload": grant_payload(order_id, lines, quoted),
            }
        )
    return events


def grant_payload(order_id: int, lines: dict[tuple[int, str], int], quoted: dict) -> str:
    """The event's payload {"order_id", "lines": [{"line_id", "sku", "allocated"}]} as the
    JSON text json.dumps(..., sort_keys=True) writes, built directly: a delivery writes a
    thousand of them."""
    parts = []
    for (line_id, sku), qty in lines.items():
        text = quoted.get(sku) or quoted.setdefault(sku, json.dumps(sku))
        parts.append(f'{{"allocated": {int(qty)}, "line_id": {int(line_id)}, "sku": {text}}}')
    return f'{{"lines": [{", ".join(parts)}], "order_id": {int(order_id)}}}'


def allocate_many(
    store: Store,
    products: dict[str, Product],
    waiting: dict[str, list[WaitingLine]],
    cause: str,
    reference: str | None,
    now: datetime,
) -> list[tuple[str, Grant]]:
    """`allocate_waiting` for many SKUs at once (a delivery): the same plan per SKU over its
    `waiting` lines, written in a few statements for all of them. The caller holds the SKUs'
    locks."""
    skus = sorted(sku for sku in waiting if not products[sku].is_preorder(now))
    levels = store.stock_for(skus)
    every_line = [line for sku in skus for line in waiting[sku]]
    servable = {line.line_id for line in payments.servable(store, every_line)}
    grants: list[tuple[str, Grant]] = []
    log = []
    for sku in skus:
        supply = [Supply(s.warehouse, s.available) for s in levels.get(sku, ()) if s.available > 0]
        lines = [line for line in waiting[sku] if line.line_id in servable]
        by_line = {line.line_id: line for line in lines}
        for grant in plan_allocation(lines, supply) if lines and supply else []:
            grants.append((sku, grant))
            log.append(log_row(sku, grant, by_line[grant.line_id], cause, reference, now))
    store.apply_grants_many(grants)
    store.insert_allocation_log(log)
    store.insert_events(grant_events(store, grants, now))
    payments.on_units_allocated(store, [g for _, g in grants], now)
    return grants


def key_json(key, times: tuple[str, str] | None = None) -> str:
    """The priority key as the JSON array json.dumps writes (times as ISO text), built
    directly for the usual key: a delivery logs a thousand of them. `times`: the key's two
    times as ISO text (`iso_times` of its line), when the caller has them already."""
    if len(key) == 6 and isinstance(key[3], datetime) and isinstance(key[4], datetime):
        override, tier, paid, due, ordered_at, line_id = key
        due_text, ordered_text = times or (due.isoformat(), ordered_at.isoformat())
        return (
            f'[{int(override)}, {int(tier)}, {int(paid)}, "{due_text}", '
            f'"{ordered_text}", {int(line_id)}]'
        )
    return json.dumps(key, default=_iso)


def _iso(value: datetime) -> str:
    return value.isoformat()
