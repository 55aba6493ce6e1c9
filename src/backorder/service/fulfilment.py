"""A customer changes their mind about how an open order ships (issue 5).

Only between `ship_partial` and `ship_complete`: both keep every unit the order is owed, so
stock, allocations and promises stay as they are; only when the order may ship changes.
`cancel_remainder` is a checkout choice (it never backorders), not one to switch to later:
a customer who wants to drop waiting units cancels those lines instead.
"""

from __future__ import annotations

from datetime import datetime

from ..domain.errors import Conflict, InvalidInput
from ..domain.model import Fulfilment
from . import orders
from .ports import UnitOfWork
from .runner import retried
from .views import OrderView

SWITCHABLE = (Fulfilment.SHIP_PARTIAL, Fulfilment.SHIP_COMPLETE)


@retried
def change_fulfilment(
    uow: UnitOfWork, order_id: int, choice: Fulfilment | str, actor: str, now: datetime
) -> OrderView:
    """Switch an open order between shipping what is there and waiting for everything."""
    choice = _choice(choice)
    with uow:
        store = uow.store
        store.lock_skus(store.order_skus(order_id))
        order = orders.store_order(store, order_id)
        if order.fulfilment == choice.value:
            return order  # asked twice: nothing changes
        if order.fulfilment not in {c.value for c in SWITCHABLE}:
            raise Conflict(
                f"order {order_id} drops missing units ({order.fulfilment}); "
                "its choice cannot change",
                order_id=order_id,
            )
        if not any(line.quantities.outstanding for line in order.lines):
            raise Conflict(
                f"order {order_id} is closed; nothing is left to ship", order_id=order_id
            )
        store.set_order_fulfilment(order_id, choice.value)
        payload = {"order_id": order_id, "from": order.fulfilment, "to": choice.value}
        store.insert_events(
            [
                {
                    "kind": "fulfilment_changed",
                    "order_id": order_id,
                    "sku": None,
                    "created_at": now,
                    "payload": payload,
                }
            ]
        )
        store.insert_audit(
            {
                "actor": actor,
                "action": "change_fulfilment",
                "subject": f"order {order_id}",
                "reason": "asked by the customer",
                "detail": payload,
                "created_at": now,
            }
        )
        uow.commit()
        return orders.store_order(store, order_id)


def _choice(choice: Fulfilment | str) -> Fulfilment:
    try:
        chosen = Fulfilment(choice)
    except ValueError:
        chosen = None
    if chosen not in SWITCHABLE:
        raise InvalidInput("fulfilment", "must be ship_partial or ship_complete")
    return chosen
