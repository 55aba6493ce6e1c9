"""Suppliers, purchase orders and receipts against them (issue 7)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from ..domain.allocation import priority_key
from ..domain.errors import Conflict, InvalidInput, NotFound, StockWouldGoNegative
from . import validation as v
from .allocating import allocate_waiting
from .ports import AllocationLogRow, UnitOfWork
from .promising import local_date, repromise, repromise_all
from .runner import retried
from .views import PurchaseOrderView, SupplierView
from .waitlist import make_room_for_reversal, offer_holds


@dataclass(frozen=True)
class SupplierIn:
    name: str
    lead_time_days: int
    currency: str = "USD"
    contact: str | None = None
    email: str | None = None


@dataclass(frozen=True)
class PoLineIn:
    sku: str
    qty: int
    expected_date: date
    unit_cost_minor: int | None = None  # None: the supplier's cost for the SKU, else 0


@retried
def create_supplier(uow: UnitOfWork, supplier: SupplierIn, now: datetime) -> SupplierView:
    v.text(supplier.name, "name", 200)
    v.lead_time_days(supplier.lead_time_days)
    if supplier.email is not None:
        v.email(supplier.email)
    if not (len(supplier.currency) == 3 and supplier.currency.isalpha()):
        raise InvalidInput("currency", "must be a three-letter ISO 4217 code")
    with uow:
        if found := uow.store.find_supplier(supplier.name):
            return found
        supplier_id = uow.store.insert_supplier(
            {
                "name": supplier.name,
                "lead_time_days": supplier.lead_time_days,
                "currency": supplier.currency.upper(),
                "contact": supplier.contact,
                "email": supplier.email,
                "created_at": now,
            }
        )
        uow.commit()
        return uow.store.get_supplier(supplier_id)


@retried
def set_supplier_product(
    uow: UnitOfWork,
    supplier_id: int,
    sku: str,
    now: datetime,
    *,
    pack_size: int = 1,
    min_order: int = 1,
    unit_cost_minor: int | None = None,
    preferred: bool = False,
) -> dict:
    """Say that a supplier sells a SKU, in packs of `pack_size`, at least `min_order` units."""
    v.quantity(pack_size, "pack_size")
    v.quantity(min_order, "min_order")
    if unit_cost_minor is not None:  # new PO lines take it as their cost
        v.quantity(unit_cost_minor, "unit_cost_minor", allow_zero=True)
    values = {
        "supplier_id": supplier_id,
        "sku": sku,
        "pack_size": pack_size,
        "min_order": min_order,
        "unit_cost_minor": unit_cost_minor,
    }
    with uow:
        store = uow.store
        store.lock_skus([sku])
        _require(store.get_supplier(supplier_id), f"unknown supplier {supplier_id}", "supplier_id")
        product = _require(store.get_product(sku), f"unknown SKU {sku!r}", "sku")
        store.upsert_supplier_product(values)
        if preferred:
            store.set_preferred_supplier(product.sku, supplier_id)
        repromise(store, sku, now, uow.shop_timezone)
        uow.commit()
    return values


@retried
def create_purchase_order(
    uow: UnitOfWork,
    supplier_id: int,
    lines: Sequence[PoLineIn],
    now: datetime,
    *,
    warehouse: str = "main",
    reference: str | None = None,
    send: bool = True,
) -> PurchaseOrderView:
    """A PO; sent at once unless `send=False` (a draft is not supply yet)."""
    _validate_po_lines(lines)
    reference = v.reference(reference)
    with uow:
        store = uow.store
        if reference and (existing := store.find_po_id(reference)):
            return _same_po_again(store.get_po(existing), supplier_id, lines, warehouse)
        supplier = _require(
            store.get_supplier(supplier_id), f"unknown supplier {supplier_id}", "supplier_id"
        )
        _require(store.get_warehouse(warehouse), f"unknown warehouse {warehouse!r}", "warehouse")
        skus = sorted({line.sku for line in lines})
        store.lock_skus(skus)
        _require_skus(store, lines)
        po_id = store.insert_po(
            {
                "supplier_id": supplier.id,
                "warehouse": warehouse,
                "status": "sent" if send else "draft",
                "reference": reference,
                "currency": supplier.currency,
                "created_at": now,
                "sent_at": now if send else None,
            }
        )
        for line in lines:
            store.insert_po_line(
                {
                    "po_id": po_id,
                    "sku": line.sku,
                    "qty": line.qty,
                    "unit_cost_minor": _unit_cost(store, supplier.id, line),
                    "expected_date": line.expected_date,
                    "first_expected_date": line.expected_date,
                }
            )
        if send:
            repromise_all(store, skus, now, uow.shop_timezone)
        uow.commit()
        return store.get_po(po_id)


@retried
def send_purchase_order(uow: UnitOfWork, po_id: int, now: datetime) -> PurchaseOrderView:
    with uow:
        store = uow.store
        po = _require(store.get_po(po_id), f"unknown purchase order {po_id}", "po_id")
        skus = sorted({line.sku for line in po.lines})
        store.lock_skus(skus)
        if po.status != "draft":
            raise Conflict(f"purchase order {po_id} is {po.status}, not a draft", po_id=po_id)
        store.set_po_status(po_id, status="sent", sent_at=now)
        repromise_all(store, skus, now, uow.shop_timezone)
        uow.commit()
        return store.get_po(po_id)


@retried
def change_expected_date(
    uow: UnitOfWork, po_line_id: int, expected: date, now: datetime
) -> PurchaseOrderView:
    """Move a PO line's expected date; the promises resting on it move with it."""
    v.day(expected, "expected_date")
    with uow:
        store = uow.store
        line = _require(
            store.get_po_line(po_line_id), f"unknown PO line {po_line_id}", "po_line_id"
        )
        store.lock_skus([line.sku])
        if line.open_qty == 0:  # a date for nothing: promises cannot rest on it
            raise Conflict(
                f"PO line {po_line_id} expects nothing more (received {line.received}, "
                f"cancelled {line.cancelled} of {line.qty}); its date cannot move",
                field="po_line_id",
            )
        store.update_po_line(po_line_id, expected_date=expected)
        repromise(store, line.sku, now, uow.shop_timezone)
        uow.commit()
        return store.get_po(line.po_id)


@retried
def cancel_po_line(uow: UnitOfWork, po_line_id: int, now: datetime) -> PurchaseOrderView:
    """Stop expecting what a PO line has not delivered yet."""
    with uow:
        store = uow.store
        line = _require(
            store.get_po_line(po_line_id), f"unknown PO line {po_line_id}", "po_line_id"
        )
        store.lock_skus([line.sku])
        if line.open_qty:
            store.update_po_line(po_line_id, cancelled=line.cancelled + line.open_qty)
            refresh_po_status(store, line.po_id)
            repromise(store, line.sku, now, uow.shop_timezone)
        uow.commit()
        return store.get_po(line.po_id)


@retried
def receive_po_line(
    uow: UnitOfWork, po_line_id: int, qty: int, now: datetime, reference: str | None = None
) -> dict:
    """Receive units of a PO line (partial and over-receipts allowed) and serve the queue."""
    v.quantity(qty, "qty")
    reference = v.reference(reference)
    key = f"po-receipt:{po_line_id}:{reference}" if reference else None
    with uow:
        store = uow.store
        line = _require(
            store.get_po_line(po_line_id), f"unknown PO line {po_line_id}", "po_line_id"
        )
        store.lock_skus([line.sku])
        if key and (first := store.get_command_result(key)) is not None:
            if first["qty"] != qty:
                raise Conflict(
                    f"receipt {reference!r} already brought {first['qty']} unit(s) against PO "
                    f"line {po_line_id}; give this receipt its own reference",
                    field="reference",
                    reference=reference,
                    qty=first["qty"],
                )
            return first | {"repeated": True}
        po = store.get_po(line.po_id)
        require_receivable(po, line, "po_line_id")
        result = _receive(store, line, po.warehouse, qty, reference, now, uow.shop_timezone)
        if key:
            store.put_command_result(key, "po_receipt", result, now)
        uow.commit()
        return result


def _receive(store, line, warehouse: str, qty: int, reference, now, timezone) -> dict:
    receipt_id = store.insert_receipt(
        {
            "sku": line.sku,
            "warehouse": warehouse,
            "qty": qty,
            "po_line_id": line.id,
            "reference": reference,
            "received_at": now,
        }
    )
    store.ensure_stock_row(line.sku, warehouse)
    on_hand = store.change_stock(line.sku, warehouse, on_hand=qty)
    store.append_ledger(
        line.sku, warehouse, qty, on_hand, "receipt", reference or f"PO line {line.id}", now
    )
    store.update_po_line(
        line.id, received=line.received + qty, last_received_date=local_date(now, timezone)
    )
    refresh_po_status(store, line.po_id)
    grants = allocate_waiting(store, line.sku, "receipt", reference or f"PO line {line.id}", now)
    offer_holds(store, line.sku, now)  # issue 8: what the queue left goes to the waitlist
    repromise(store, line.sku, now, timezone)
    return {
        "receipt_id": receipt_id,
        "sku": line.sku,
        "warehouse": warehouse,
        "qty": qty,
        "on_hand": on_hand,
        "allocated_to_lines": sum(g.qty for g in grants),
        "repeated": False,
    }


@retried
def reverse_receipt(uow: UnitOfWork, receipt_id: int, now: datetime) -> dict:
    """Take back a receipt's units. Free units go first; units allocated to lines go back to
    waiting (lowest priority first); units already shipped cannot be taken back: refused."""
    with uow:
        store = uow.store
        receipt = _require(
            store.get_receipt(receipt_id), f"unknown receipt {receipt_id}", "receipt_id"
        )
        sku, warehouse = receipt["sku"], receipt["warehouse"]
        store.lock_skus([sku])
        qty = receipt["qty"] - receipt["reversed"]
        if qty == 0:
            return {"receipt_id": receipt_id, "reversed": 0, "repeated": True}
        level = next((s for s in store.stock_levels(sku) if s.warehouse == warehouse), None)
        if level is None or level.on_hand < qty:
            raise StockWouldGoNegative(
                f"receipt {receipt_id}: only {level.on_hand if level else 0} of its {qty} units "
                "are "
                f"still at {warehouse}; units already shipped cannot be taken back",
                receipt_id=receipt_id,
                on_hand=level.on_hand if level else 0,
                qty=qty,
            )
        level = make_room_for_reversal(store, level, qty, now)  # issue 8: holds give way first
        unallocated = _unallocate(
            store, sku, warehouse, max(0, qty - level.available), receipt_id, now
        )
        on_hand = store.change_stock(sku, warehouse, on_hand=-qty)
        store.append_ledger(
            sku, warehouse, -qty, on_hand, "receipt_reversal", f"receipt {receipt_id}", now
        )
        store.add_reversed(receipt_id, qty)
        if receipt["po_line_id"]:
            line = store.get_po_line(receipt["po_line_id"])
            store.update_po_line(
                line.id,
                received=line.received - qty,
                cancelled=line.cancelled + _reopened_by_reversal(line, qty),
            )
            refresh_po_status(store, line.po_id)
        repromise(store, sku, now, uow.shop_timezone)
        uow.commit()
        return {
            "receipt_id": receipt_id,
            "reversed": qty,
            "back_to_waiting": unallocated,
            "on_hand": on_hand,
            "repeated": False,
        }


def _reopened_by_reversal(line, qty: int) -> int:
    """Units a reversal of `qty` would put back on order on this PO line: none stay on
    order on a cancelled line (it expects nothing more), so these are cancelled too."""
    if not line.cancelled:
        return 0
    open_before = max(0, line.qty - line.received - line.cancelled)
    open_after = max(0, line.qty - (line.received - qty) - line.cancelled)
    return open_after - open_before


def _unallocate(store, sku: str, warehouse: str, units: int, receipt_id: int, now) -> int:
    """Move `units` allocated at a warehouse back to waiting, the lowest-priority lines first;
    each order that gives units back hears it once (`order_backordered`)."""
    moved = 0
    back: dict[int, list[dict]] = {}
    holders = sorted(
        store.holdings_at(sku, warehouse), key=lambda h: priority_key(h[0]), reverse=True
    )
    for line, held in holders:
        give = min(held, units - moved)
        if give <= 0:
            break
        store.change_stock(sku, warehouse, allocated=-give)
        store.change_line_allocation(line.line_id, sku, warehouse, -give)
        store.change_line(line.line_id, allocated=-give, backordered=give)
        store.insert_allocation_log(
            [
                AllocationLogRow(
                    sku=sku,
                    warehouse=warehouse,
                    line_id=line.line_id,
                    order_id=line.order_id,
                    qty=-give,
                    cause="receipt_reversal",
                    reference=f"receipt {receipt_id}",
                    priority_key=None,
                    reason=f"{give} unit(s) back to waiting: receipt {receipt_id} reversed; "
                    "lowest priority first",
                    ahead_of_line_id=None,
                    created_at=now,
                )
            ]
        )
        moved += give
        back.setdefault(line.order_id, []).append(
            {"line_id": line.line_id, "sku": sku, "backordered": give}
        )
    store.insert_events(
        [_back_to_waiting(order, lines, receipt_id, now) for order, lines in back.items()]
    )
    return moved


def _back_to_waiting(order_id: int, lines: list[dict], receipt_id: int, now) -> dict:
    payload = {
        "order_id": order_id,
        "lines": lines,
        "backordered": sum(line["backordered"] for line in lines),
        "cause": "receipt_reversal",
        "receipt_id": receipt_id,
    }
    sku = lines[0]["sku"]
    return {
        "kind": "order_backordered",
        "order_id": order_id,
        "sku": sku,
        "created_at": now,
        "payload": payload,
    }


def require_receivable(po, line, field: str) -> None:  # line None: the PO as a whole
    """Units can arrive against a sent PO's line, even beyond its quantity (over-receipt),
    but not against a draft, a cancelled PO, or a line cancelled before anything came."""
    if po.status in ("draft", "cancelled"):
        verb = "send it before receiving" if po.status == "draft" else "it takes no receipts"
        raise Conflict(f"purchase order {po.id} is {po.status}; {verb}", field=field)
    if line is not None and line.cancelled and line.open_qty == 0 and line.received < line.qty:
        raise Conflict(
            f"PO line {line.id} was cancelled; receive its units as a plain receipt or on "
            "another PO line",
            field=field,
        )


def _same_po_again(first, supplier_id: int, lines: Sequence[PoLineIn], warehouse: str):
    """A retry of a PO already created under its reference gets that PO; another PO under
    the same reference is refused, not silently taken for the first."""
    asked = sorted((line.sku, line.qty, line.expected_date) for line in lines)
    made = sorted((line.sku, line.qty, line.first_expected_date) for line in first.lines)
    if (first.supplier_id, first.warehouse, made) != (supplier_id, warehouse, asked):
        raise Conflict(
            f"reference {first.reference!r} already names purchase order {first.id} with other "
            "lines, supplier or warehouse; give this order its own reference",
            field="reference",
            reference=first.reference,
            po_id=first.id,
        )
    return first


def refresh_po_status(store, po_id: int) -> None:
    po = store.get_po(po_id)
    if po.status == "draft":
        return
    lines = po.lines
    if all(line.open_qty == 0 for line in lines):
        status = "cancelled" if all(line.received == 0 for line in lines) else "received"
    elif any(line.received for line in lines):
        status = "partially_received"
    else:
        status = "sent"
    if status != po.status:
        store.set_po_status(po_id, status=status)


def _unit_cost(store, supplier_id: int, line: PoLineIn) -> int:
    """The line's own cost, else what the supplier charges for the SKU, else 0."""
    if line.unit_cost_minor is not None:
        return line.unit_cost_minor
    for offer in store.supplier_products(line.sku):
        if offer["supplier_id"] == supplier_id and offer["unit_cost_minor"] is not None:
            return offer["unit_cost_minor"]
    return 0


def _validate_po_lines(lines: Sequence[PoLineIn]) -> None:
    if not lines:
        raise InvalidInput("lines", "a purchase order needs at least one line")
    for index, line in enumerate(lines):
        v.sku(line.sku, f"lines[{index}].sku")
        v.quantity(line.qty, f"lines[{index}].qty")
        if line.unit_cost_minor is not None:
            v.quantity(line.unit_cost_minor, f"lines[{index}].unit_cost_minor", allow_zero=True)
        v.day(line.expected_date, f"lines[{index}].expected_date")


def _require_skus(store, lines: Sequence[PoLineIn]) -> None:
    known = store.get_products({line.sku for line in lines})
    for index, line in enumerate(lines):
        if line.sku not in known:
            raise InvalidInput(f"lines[{index}].sku", f"unknown SKU {line.sku!r}")


def _require(value, message: str, field_name: str):
    if value is None:
        raise NotFound(message, field=field_name)
    return value
