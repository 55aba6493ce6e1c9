"""A supplier delivery: many SKUs received in one transaction, their queues served together.

A truck brings a delivery note, not one SKU: `receive_delivery` books every line of it as a
receipt (ledger row, on_hand), hands the units to the waiting lines of each SKU by priority
exactly as `stock.receive_stock` does, offers what is left to back-in-stock subscribers and
moves the promises, all in one transaction and a few statements for the whole delivery. Each
order that got units hears of it once, whatever number of its SKUs came.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from ..domain.errors import Conflict, NotFound
from . import validation as v
from .allocating import allocate_many
from .ports import UnitOfWork
from .promising import repromise_many
from .runner import retried
from .waitlist import offer_holds

MAX_LINES = 10_000  # one delivery note; a larger one is split by the caller


@dataclass(frozen=True)
class DeliveryLine:
    sku: str
    warehouse: str
    qty: int


@retried
def receive_delivery(
    uow: UnitOfWork, lines: Sequence[DeliveryLine], now: datetime, reference: str | None = None
) -> dict:
    """Receive every line; a repeated reference with the same lines is a no-op."""
    merged = merge_lines(lines)
    reference = v.reference(reference)
    key = f"delivery:{reference}" if reference else None
    with uow:
        store = uow.store
        skus = sorted({line.sku for line in merged})
        store.lock_skus(skus)
        if key and (first := store.get_command_result(key)) is not None:
            _require_same_delivery(first, merged, reference)
            return first | {"repeated": True}
        products = store.get_products(skus)
        _require_known(store, merged, products)
        moves = [(line.sku, line.warehouse, line.qty) for line in merged]
        on_hand = store.add_on_hand_many(moves, "receipt", reference, now)
        grants = allocate_many(store, products, "receipt", reference, now)
        for sku in sorted(store.skus_with_waiting_subscribers(skus)):  # usually none
            offer_holds(store, sku, now, products[sku])
        repromise_many(store, skus, now, uow.shop_timezone)
        result = _result(reference, merged, on_hand, grants)
        if key:
            store.put_command_result(key, "delivery", result, now)
        uow.commit()
        return result


def merge_lines(lines: Iterable[DeliveryLine]) -> list[DeliveryLine]:
    """Validate each line; one line per (SKU, warehouse), quantities of repeats summed."""
    totals: dict[tuple[str, str], int] = {}
    for index, line in enumerate(lines):
        v.quantity(line.qty, f"lines[{index}].qty")
        if not isinstance(line.sku, str) or not line.sku:
            raise v.InvalidInput(f"lines[{index}].sku", "must be a SKU")
        if not isinstance(line.warehouse, str) or not line.warehouse:
            raise v.InvalidInput(f"lines[{index}].warehouse", "must be a warehouse code")
        totals[(line.sku, line.warehouse)] = totals.get((line.sku, line.warehouse), 0) + line.qty
    if not totals:
        raise v.InvalidInput("lines", "a delivery needs at least one line")
    if len(totals) > MAX_LINES:
        raise v.InvalidInput("lines", f"at most {MAX_LINES} lines per delivery")
    for (sku, warehouse), qty in totals.items():
        v.quantity(qty, f"lines[{sku}@{warehouse}].qty")  # the sum is bounded too
    return [DeliveryLine(sku, wh, qty) for (sku, wh), qty in sorted(totals.items())]


def _require_known(store, lines: list[DeliveryLine], products: dict) -> None:
    """Every unknown SKU and warehouse of the note in one answer: one round to fix it."""
    unknown = sorted({line.sku for line in lines} - set(products))
    known = {w["code"] for w in store.list_warehouses()}
    missing = sorted({line.warehouse for line in lines} - known)
    problems = [f"unknown SKU(s): {', '.join(unknown)}"] * bool(unknown)
    problems += [f"unknown warehouse(s): {', '.join(missing)}"] * bool(missing)
    if problems:
        field = "lines" if unknown and missing else "sku" if unknown else "warehouse"
        raise NotFound("; ".join(problems), field=field, skus=unknown, warehouses=missing)


def _require_same_delivery(first: dict, lines: list[DeliveryLine], reference: str) -> None:
    given = [[line.sku, line.warehouse, line.qty] for line in lines]
    if [[r["sku"], r["warehouse"], r["qty"]] for r in first["lines"]] != given:
        raise Conflict(
            f"delivery {reference!r} was already received with other lines; "
            "give this delivery its own reference",
            reference=reference,
        )


def _result(reference, lines: list[DeliveryLine], on_hand: dict, grants) -> dict:
    units: dict[str, int] = {}
    served: dict[str, set[int]] = {}
    for sku, grant in grants:
        units[sku] = units.get(sku, 0) + grant.qty
        served.setdefault(sku, set()).add(grant.line_id)
    return {
        "reference": reference,
        "lines": [
            {
                "sku": line.sku,
                "warehouse": line.warehouse,
                "qty": line.qty,
                "on_hand": on_hand[(line.sku, line.warehouse)],
            }
            for line in lines
        ],
        "received_units": sum(line.qty for line in lines),
        "allocated_to_lines": sum(units.values()),
        "lines_served": sum(len(ids) for ids in served.values()),
        "by_sku": {
            sku: {"allocated_to_lines": units[sku], "lines_served": len(served[sku])}
            for sku in sorted(units)
        },
        "repeated": False,
    }
