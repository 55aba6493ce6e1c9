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
from .promising import local_date, repromise_queues
from .purchasing import refresh_po_status, require_receivable
from .runner import retried
from .waitlist import offer_holds

MAX_LINES = 10_000  # one delivery note; a larger one is split by the caller


@dataclass(frozen=True)
class DeliveryLine:
    sku: str
    warehouse: str
    qty: int
    po_line_id: int | None = None  # received against this purchase-order line


@retried
def receive_delivery(
    uow: UnitOfWork, lines: Sequence[DeliveryLine], now: datetime, reference: str | None = None
) -> dict:
    """Receive every line; a repeated reference with the same lines is a no-op."""
    merged = merge_lines(lines)
    reference = v.reference(reference)
    key = _key(reference) if reference else None
    with uow:
        store = uow.store
        skus = sorted({line.sku for line in merged})
        store.lock_skus(skus)
        if key and (first := store.get_command_result(key)) is not None:
            _require_same_delivery(first, merged, reference)
            return first | {"repeated": True}
        products = store.get_products(skus)
        _require_known(store, merged, products)
        po_lines = _require_po_lines(store, merged)
        moves = [
            (line.sku, line.warehouse, line.qty, _ledger_reference(line, reference))
            for line in merged
        ]
        on_hand = store.add_on_hand_many(moves, "receipt", now)
        receipts = _book_against_po_lines(store, merged, po_lines, reference, now, uow)
        queues = store.waiting_queues(skus)
        waiting = {sku: [line for line, _ in queue] for sku, queue in queues.items()}
        grants = allocate_many(store, products, waiting, "receipt", reference, now)
        for sku in sorted(store.skus_with_waiting_subscribers(skus)):  # usually none
            offer_holds(store, sku, now, products[sku])
        repromise_queues(store, _left_waiting(queues, grants), now, uow.shop_timezone)
        result = _result(reference, merged, on_hand, grants, receipts)
        if key:
            store.put_command_result(key, "delivery", result, now)
        uow.commit()
        return result


def merge_lines(lines: Iterable[DeliveryLine]) -> list[DeliveryLine]:
    """Validate each line; one line per (SKU, warehouse, PO line), repeats summed."""
    totals: dict[tuple[str, str, int], int] = {}
    for index, line in enumerate(lines):
        _check_line(index, line)
        key = (line.sku, line.warehouse, line.po_line_id or 0)
        totals[key] = totals.get(key, 0) + line.qty
    if not totals:
        raise v.InvalidInput("lines", "a delivery needs at least one line")
    if len(totals) > MAX_LINES:
        raise v.InvalidInput("lines", f"at most {MAX_LINES} lines per delivery")
    for (sku, warehouse, _), qty in totals.items():
        v.quantity(qty, f"lines[{sku}@{warehouse}].qty")  # the sum is bounded too
    return [
        DeliveryLine(sku, wh, qty, po_line or None)
        for (sku, wh, po_line), qty in sorted(totals.items())
    ]


def _check_line(index: int, line: DeliveryLine) -> None:
    v.quantity(line.qty, f"lines[{index}].qty")
    if not isinstance(line.sku, str) or not line.sku:
        raise v.InvalidInput(f"lines[{index}].sku", "must be a SKU")
    if not isinstance(line.warehouse, str) or not line.warehouse:
        raise v.InvalidInput(f"lines[{index}].warehouse", "must be a warehouse code")
    if line.po_line_id is not None:
        v.quantity(line.po_line_id, f"lines[{index}].po_line_id")


def _require_po_lines(store, lines: list[DeliveryLine]) -> dict[int, tuple]:
    """The PO lines a delivery names: each of its SKU, on a sent PO of its warehouse."""
    found = {}
    for line in lines:
        if line.po_line_id is None:
            continue
        field = f"lines[{line.sku}@{line.warehouse}].po_line_id"
        po_line = store.get_po_line(line.po_line_id)
        if po_line is None:
            raise NotFound(f"unknown PO line {line.po_line_id}", field=field)
        po = store.get_po(po_line.po_id)
        if po_line.sku != line.sku or po.warehouse != line.warehouse:
            raise v.InvalidInput(
                field,
                f"PO line {po_line.id} is for {po_line.sku} into {po.warehouse}, "
                f"not {line.sku} into {line.warehouse}",
            )
        require_receivable(po, po_line, field)
        found[po_line.id] = (po_line, po)
    return found


def _ledger_reference(line: DeliveryLine, reference: str | None) -> str | None:
    if reference is None and line.po_line_id is not None:
        return f"PO line {line.po_line_id}"  # as a receipt against the PO line says
    return reference


def _book_against_po_lines(store, lines, po_lines: dict, reference, now, uow) -> dict:
    """What a receipt against a PO line records: the receipt (it can be reversed), the units
    received on the line, its date (supplier reliability) and the PO's status. Returns the
    receipt id by PO line."""
    receipts = {}
    for line in lines:
        if line.po_line_id is None:
            continue
        po_line, po = po_lines[line.po_line_id]
        receipts[po_line.id] = store.insert_receipt(
            {
                "sku": line.sku,
                "warehouse": line.warehouse,
                "qty": line.qty,
                "po_line_id": po_line.id,
                "reference": reference,
                "received_at": now,
            }
        )
        store.update_po_line(
            po_line.id,
            received=po_line.received + line.qty,
            last_received_date=local_date(now, uow.shop_timezone),
        )
    for po_id in sorted({po.id for _, po in po_lines.values()}):
        refresh_po_status(store, po_id)
    return receipts


def _left_waiting(queues: dict, grants) -> dict:
    """Each SKU's queue after the grants, as the promise recompute reads it: the lines still
    owed units, in the same order, with what they are still owed."""
    granted: dict[int, int] = {}
    for _, grant in grants:
        granted[grant.line_id] = granted.get(grant.line_id, 0) + grant.qty
    left = {}
    for sku, queue in queues.items():
        still = [
            stored._replace(backordered=stored.backordered - granted[line.line_id])
            if line.line_id in granted
            else stored
            for line, stored in queue
            if stored.backordered > granted.get(line.line_id, 0)
        ]
        if still:
            left[sku] = still
    return left


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
    given = [[line.sku, line.warehouse, line.qty, line.po_line_id] for line in lines]
    stored = [[r["sku"], r["warehouse"], r["qty"], r.get("po_line_id")] for r in first["lines"]]
    if stored != given:
        raise Conflict(
            f"delivery {reference!r} was already received with other lines; "
            "give this delivery its own reference",
            reference=reference,
        )


def _result(reference, lines: list[DeliveryLine], on_hand: dict, grants, receipts) -> dict:
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
                "po_line_id": line.po_line_id,
                "receipt_id": receipts.get(line.po_line_id),
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


def receive_purchase_order(
    uow: UnitOfWork, po_id: int, now: datetime, reference: str | None = None
) -> dict:
    """Everything still open on a purchase order arrived: one delivery of its open lines.
    Without a reference the PO's own stands in, so the same command twice receives once."""
    with uow.reader() as r:
        po = r.store.get_po(po_id)
        if po is None:
            raise NotFound(f"unknown purchase order {po_id}", field="po_id")
        require_receivable(po, None, "po_id")
        reference = reference or po.reference or f"PO {po_id}"
        first = r.store.get_command_result(_key(reference))
    lines = [
        DeliveryLine(line.sku, po.warehouse, line.open_qty, line.id)
        for line in po.lines
        if line.open_qty > 0
    ]
    if not lines and first is not None:  # received in full already: the same answer
        return first | {"repeated": True}
    if not lines:
        raise Conflict(f"purchase order {po_id} has nothing left to receive", field="po_id")
    return receive_delivery(uow, lines, now, reference)


def _key(reference: str) -> str:
    return f"delivery:{reference}"
