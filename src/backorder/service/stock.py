"""Receipts, adjustments and preorder release: every on_hand change goes through the ledger."""

from __future__ import annotations

from datetime import datetime

from ..domain.errors import Conflict, NotFound, StockWouldGoNegative
from . import validation as v
from .allocating import allocate_waiting
from .audit import Audit, stock_subject, write_audit
from .ports import Store, UnitOfWork
from .promising import repromise
from .runner import retried
from .waitlist import offer_holds


@retried
def receive_stock(
    uow: UnitOfWork,
    sku: str,
    warehouse: str,
    qty: int,
    now: datetime,
    reference: str | None = None,
) -> dict:
    """Add units to on_hand and hand them to waiting lines; a repeated reference is a no-op."""
    v.quantity(qty, "qty")
    reference = v.reference(reference)
    key = f"receipt:{reference}" if reference else None
    with uow:
        store = uow.store
        store.lock_skus([sku])
        if key and (first := store.get_command_result(key)) is not None:
            if (first["sku"], first["warehouse"], first["qty"]) != (sku, warehouse, qty):
                raise Conflict(
                    f"receipt {reference!r} already brought {first['qty']} x {first['sku']} "
                    f"into {first['warehouse']}; give this receipt its own reference",
                    reference=reference,
                    sku=first["sku"],
                    warehouse=first["warehouse"],
                    qty=first["qty"],
                )
            return first | {"repeated": True}
        _require_sku_and_warehouse(store, sku, warehouse)
        on_hand = _move(store, sku, warehouse, qty, "receipt", reference, now)
        grants = allocate_waiting(store, sku, "receipt", reference, now)
        offer_holds(store, sku, now)  # issue 8: what the queue left goes to the waitlist
        repromise(store, sku, now, uow.shop_timezone)
        result = {
            "sku": sku,
            "warehouse": warehouse,
            "qty": qty,
            "on_hand": on_hand,
            "allocated_to_lines": sum(g.qty for g in grants),
            "lines_served": len({g.line_id for g in grants}),
            "repeated": False,
        }
        if key:
            store.put_command_result(key, "receipt", result, now)
        uow.commit()
        return result


@retried
def adjust_stock(
    uow: UnitOfWork,
    sku: str,
    warehouse: str,
    now: datetime,
    *,
    delta: int | None = None,
    count: int | None = None,
    reason: str = "adjustment",
    reference: str | None = None,
    audit: Audit | None = None,
) -> dict:
    """Change on_hand by `delta`, or set it to a counted `count`; never below what is allocated.
    `audit`: an operator's adjustment, logged with its numbers in the same transaction."""
    if (delta is None) == (count is None):
        raise v.InvalidInput("delta", "give either delta or count, not both")
    v.reason_code(reason)
    reference = v.reference(reference)
    if count is not None:
        v.quantity(count, "count", allow_zero=True)
    elif delta == 0 or not isinstance(delta, int) or abs(delta) > v.MAX_QTY:
        raise v.InvalidInput("delta", f"must be a non-zero whole number up to {v.MAX_QTY}")
    with uow:
        store = uow.store
        store.lock_skus([sku])
        _require_sku_and_warehouse(store, sku, warehouse)
        level = _level(store, sku, warehouse)
        change = (count - level.on_hand) if count is not None else delta
        if level.on_hand + change < level.allocated:
            raise StockWouldGoNegative(
                f"{sku}@{warehouse}: on_hand {level.on_hand} {change:+d} would fall below the "
                f"{level.allocated} units allocated to orders",
                sku=sku,
                warehouse=warehouse,
                on_hand=level.on_hand,
                allocated=level.allocated,
                change=change,
            )
        on_hand = level.on_hand
        if change:
            on_hand = _move(store, sku, warehouse, change, reason, reference, now)
        grants = allocate_waiting(store, sku, reason, reference, now) if change > 0 else []
        repromise(store, sku, now, uow.shop_timezone)
        result = {
            "sku": sku,
            "warehouse": warehouse,
            "change": change,
            "on_hand": on_hand,
            "allocated_to_lines": sum(g.qty for g in grants),
        }
        if change:
            detail = result | {"on_hand_before": level.on_hand, "count": count}
            detail |= {"ledger_reason": reason, "reference": reference}
            write_audit(store, audit, "adjust_stock", stock_subject(sku, warehouse), detail, now)
        uow.commit()
        return result


@retried
def release_preorders(uow: UnitOfWork, now: datetime) -> dict[str, int]:
    """Serve the queues of SKUs whose release time has passed; returns units per SKU."""
    with uow:
        skus = uow.store.skus_waiting_for_release(now)
        uow.store.lock_skus(skus)
        served = {}
        for sku in skus:
            grants = allocate_waiting(uow.store, sku, "release", None, now)
            repromise(uow.store, sku, now, uow.shop_timezone)
            if grants:
                served[sku] = sum(g.qty for g in grants)
        uow.commit()
        return served


@retried
def rebalance(uow: UnitOfWork, sku: str, now: datetime) -> int:
    """Hand any idle units of a SKU to its queue (after a policy change, say)."""
    with uow:
        uow.store.lock_skus([sku])
        grants = allocate_waiting(uow.store, sku, "rebalance", None, now)
        repromise(uow.store, sku, now, uow.shop_timezone)
        uow.commit()
        return sum(g.qty for g in grants)


def _move(
    store: Store,
    sku: str,
    warehouse: str,
    delta: int,
    reason: str,
    reference: str | None,
    now: datetime,
) -> int:
    store.ensure_stock_row(sku, warehouse)
    on_hand = store.change_stock(sku, warehouse, on_hand=delta)
    store.append_ledger(sku, warehouse, delta, on_hand, reason, reference, now)
    return on_hand


def _level(store: Store, sku: str, warehouse: str):
    store.ensure_stock_row(sku, warehouse)
    return next(s for s in store.stock_levels(sku) if s.warehouse == warehouse)


def _require_sku_and_warehouse(store: Store, sku: str, warehouse: str) -> None:
    if store.get_product(sku) is None:
        raise NotFound(f"unknown SKU {sku!r}", field="sku", sku=sku)
    if store.get_warehouse(warehouse) is None:
        raise NotFound(f"unknown warehouse {warehouse!r}", field="warehouse", warehouse=warehouse)
