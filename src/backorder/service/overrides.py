"""Operator decisions on the queue (issue 5), each audited: who, when, why.

- Raise or lower a waiting line: its `priority_override` is the first component of the
  priority key (lower is served earlier; 0 when nobody touched it). The SKU's promises are
  recomputed in the same transaction, since the order of service changed.
- Release a ship-complete hold: the order's allocated units go back to the queue and are
  handed to the *other* waiting lines first; the order's lines wait again with their own key,
  and take back only what nobody else in line needs. Units already paid for stay.
- Cancel a line (the audit row is written by `orders.cancel_line` in its transaction).
"""

from __future__ import annotations

from datetime import datetime

from ..domain.errors import Conflict, InvalidInput, NotFound
from ..domain.intake import release_from
from ..domain.model import Fulfilment
from . import orders, payments
from .allocating import allocate_waiting
from .audit import Audit
from .ports import AllocationLogRow, UnitOfWork
from .promising import repromise, repromise_all
from .runner import retried
from .views import OrderView

MAX_OVERRIDE = 1000  # a thousand raises is far more than any queue needs
MAX_REASON = 500


def check_reason(reason: str | None) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput("reason", "say why: it is kept in the audit log")
    if len(reason) > MAX_REASON:
        raise InvalidInput("reason", f"at most {MAX_REASON} characters")
    return reason


STEPS = {"raise": -1, "lower": 1}


@retried
def set_priority(
    uow: UnitOfWork, line_id: int, override: int, actor: str, reason: str, now: datetime
) -> dict:
    """Give a waiting line an override (< 0 raised, > 0 lowered, 0 back to the rules)."""
    reason = check_reason(reason)
    _check_override(override)
    with uow:
        line = _locked_waiting_line(uow.store, line_id)
        result = _apply_priority(uow, line, override, actor, reason, now)
        uow.commit()
        return result


@retried
def change_priority(
    uow: UnitOfWork, line_id: int, direction: str, actor: str, reason: str, now: datetime
) -> dict:
    """One step ahead (`raise`) or back (`lower`) of the line's current override, or `reset`."""
    if direction not in (*STEPS, "reset"):
        raise InvalidInput("direction", "must be raise, lower or reset")
    reason = check_reason(reason)
    with uow:
        line = _locked_waiting_line(uow.store, line_id)
        override = 0 if direction == "reset" else line["priority_override"] + STEPS[direction]
        _check_override(override)
        result = _apply_priority(uow, line, override, actor, reason, now)
        uow.commit()
        return result


def _check_override(override: int) -> None:
    if isinstance(override, bool) or not isinstance(override, int) or abs(override) > MAX_OVERRIDE:
        raise InvalidInput(
            "override", f"must be a whole number from -{MAX_OVERRIDE} to {MAX_OVERRIDE}"
        )


def _apply_priority(
    uow: UnitOfWork, line: dict, override: int, actor: str, reason: str, now: datetime
) -> dict:
    """Write the override, the audit row and the event; the SKU's promises follow the queue."""
    store, line_id, before = uow.store, line["id"], line["priority_override"]
    if before != override:
        store.set_priority_override(line_id, override)
        detail = {"sku": line["sku"], "order_id": line["order_id"], "from": before, "to": override}
        _audit(store, actor, "priority_override", f"line {line_id}", reason, detail, now)
        store.insert_events(
            [
                {
                    "kind": "priority_changed",
                    "order_id": line["order_id"],
                    "sku": line["sku"],
                    "created_at": now,
                    "payload": dict(detail, line_id=line_id),
                }
            ]
        )
        repromise(store, line["sku"], now, uow.shop_timezone)
    return {"line_id": line_id, "sku": line["sku"], "from": before, "to": override}


def _locked_waiting_line(store, line_id: int) -> dict:
    """The line, read again once its SKU is locked (the first read only names the SKU)."""
    line = store.line_facts(line_id)
    if line is None:
        raise NotFound(f"unknown order line {line_id}", field="line_id")
    store.lock_skus([line["sku"]])
    line = store.line_facts(line_id)
    if line["backordered"] == 0:
        raise Conflict(
            f"line {line_id} is not waiting; its priority no longer matters", line_id=line_id
        )
    return line


@retried
def release_hold(
    uow: UnitOfWork, order_id: int, actor: str, reason: str, now: datetime
) -> OrderView:
    """Send a ship-complete order's allocated (unpaid) units to the next in line."""
    reason = check_reason(reason)
    with uow:
        store = uow.store
        store.lock_skus(store.order_skus(order_id))
        order = orders.store_order(store, order_id)
        released = _release_units(store, order, actor, reason, now)
        skus = sorted({sku for sku, _ in released})
        for sku in skus:  # others in line first, then the order takes back what nobody needs
            allocate_waiting(
                store,
                sku,
                "hold_released",
                f"order {order_id}",
                now,
                skip_orders=frozenset({order_id}),
            )
            allocate_waiting(store, sku, "hold_released", f"order {order_id}", now)
        detail = {"lines": [{"sku": sku, "units": units} for sku, units in released]}
        _audit(store, actor, "release_hold", f"order {order_id}", reason, detail, now)
        payload = dict(detail, order_id=order_id)
        store.insert_events(
            [
                {
                    "kind": "hold_released",
                    "order_id": order_id,
                    "sku": None,
                    "created_at": now,
                    "payload": payload,
                }
            ]
        )
        repromise_all(store, skus, now, uow.shop_timezone)
        uow.commit()
        return orders.store_order(store, order_id)


def _release_units(store, order: OrderView, actor: str, reason: str, now) -> list[tuple[str, int]]:
    """Move the order's unpaid allocated units back to waiting; (sku, units) per line."""
    if order.fulfilment != Fulfilment.SHIP_COMPLETE.value or not any(
        line.backordered for line in order.lines
    ):
        raise Conflict(
            f"order {order.id} holds no units while it waits (it is not a "
            "ship-complete order with lines still waiting)",
            order_id=order.id,
        )
    keep = payments.paid_units_kept(store, order)
    released = []
    for line in order.lines:
        units = line.allocated - keep.get(line.id, 0)
        if units <= 0:
            continue
        for warehouse, give in release_from(line.holdings, units):
            store.change_stock(line.sku, warehouse, allocated=-give)
            store.change_line_allocation(line.id, line.sku, warehouse, -give)
            store.insert_allocation_log(
                [_log_row(line, order.id, warehouse, give, actor, reason, now)]
            )
        store.change_line(line.id, allocated=-units, backordered=units)
        released.append((line.sku, units))
    if not released:
        raise Conflict(f"order {order.id} holds no unpaid units to release", order_id=order.id)
    return released


def _log_row(
    line, order_id: int, warehouse: str, units: int, actor: str, reason: str, now
) -> AllocationLogRow:
    return AllocationLogRow(
        sku=line.sku,
        warehouse=warehouse,
        line_id=line.id,
        order_id=order_id,
        qty=-units,
        cause="hold_released",
        reference=f"order {order_id}",
        priority_key=None,
        reason=f"{units} unit(s) back to waiting: ship-complete hold released by {actor}: {reason}",
        ahead_of_line_id=None,
        created_at=now,
    )


def cancel_line(
    uow: UnitOfWork, order_id: int, line_id: int, actor: str, reason: str, now: datetime
) -> OrderView:
    """An operator's cancel: the line's event says `operator`, the audit log says who and why."""
    audit = Audit(actor, check_reason(reason))
    return orders.cancel_line(uow, order_id, line_id, now, reason="operator", audit=audit)


def _audit(store, actor: str, action: str, subject: str, reason: str, detail, now) -> None:
    store.insert_audit(
        {
            "actor": actor,
            "action": action,
            "subject": subject,
            "reason": reason,
            "detail": detail,
            "created_at": now,
        }
    )
