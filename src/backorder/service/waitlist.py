"""Back-in-stock waitlist: customers subscribe to a SKU they cannot order; when stock comes
back, each subscriber in turn gets one unit held for a while (event `back_in_stock`).

A held unit is counted in stock.allocated, so no other order can take it; the subscriber's
own order counts it as available (`claim_own_holds`, called by place_order). Holds are
made only from free stock, after the waiting backorders were served, so a receipt that the
queue takes whole tells no subscriber anything. Unclaimed holds expire (a job) and their
unit goes to the backorder queue first, then to the next subscriber.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from ..domain.allocation import Supply
from ..domain.errors import Conflict, NotFound
from ..domain.intake import SkuPosition, available_now, backorder_room
from ..domain.model import Product, StockLevel
from ..domain.waitlist import HOLD_UNITS, HoldPlan, plan_holds
from .allocating import allocate_waiting
from .care import HoldView, SubscriptionView
from .ports import UnitOfWork
from .promising import repromise
from .runner import retried


@retried
def subscribe(uow: UnitOfWork, sku: str, customer_id: int, now: datetime) -> SubscriptionView:
    """Join a SKU's waitlist; subscribing again returns the open subscription."""
    with uow:
        store = uow.store
        store.lock_skus([sku])
        product = _require_product(store, sku)
        if store.get_customer(customer_id) is None:
            raise NotFound(f"unknown customer {customer_id}", field="customer_id")
        existing = store.open_subscription(customer_id, sku)
        if existing is not None:
            return existing
        _require_unorderable(store, product, now)
        subscription_id = store.insert_subscription(sku, customer_id, now)
        store.insert_events(
            [
                _event(
                    "waitlist_subscribed",
                    sku,
                    now,
                    {"sku": sku, "customer_id": customer_id, "subscription_id": subscription_id},
                )
            ]
        )
        view = store.get_subscription(subscription_id)
        uow.commit()
        return view


@retried
def unsubscribe(uow: UnitOfWork, subscription_id: int, now: datetime) -> SubscriptionView:
    """Leave the waitlist; a held unit goes to the queue, then to the next subscriber."""
    with uow:
        store = uow.store
        found = store.get_subscription(subscription_id)
        if found is None:
            raise NotFound(f"unknown subscription {subscription_id}", field="subscription_id")
        store.lock_skus([found.sku])
        if store.set_subscription_status(
            subscription_id, "cancelled", now, from_status=("waiting", "held")
        ):
            for hold in store.holds(found.sku):
                if hold.subscription_id == subscription_id:
                    _end_hold(store, hold, "released", now, quiet=True)
            store.insert_events(
                [
                    _event(
                        "waitlist_unsubscribed",
                        found.sku,
                        now,
                        {
                            "sku": found.sku,
                            "customer_id": found.customer_id,
                            "subscription_id": subscription_id,
                        },
                    )
                ]
            )
            pass_on(store, found.sku, "waitlist", now, uow.shop_timezone)
        view = store.get_subscription(subscription_id)
        uow.commit()
        return view


def subscription(uow: UnitOfWork, subscription_id: int) -> SubscriptionView:
    with uow.reader() as r:
        found = r.store.get_subscription(subscription_id)
    if found is None:
        raise NotFound(f"unknown subscription {subscription_id}", field="subscription_id")
    return found


def subscriptions(uow: UnitOfWork, sku: str, open_only: bool = True) -> list[SubscriptionView]:
    """A SKU's waitlist in serving order."""
    with uow.reader() as r:
        _require_product(r.store, sku)
        return r.store.list_subscriptions(sku, open_only)


def active_holds(uow: UnitOfWork, sku: str | None = None) -> list[HoldView]:
    with uow.reader() as r:
        return r.store.holds(sku)


# -- hooks, inside other commands' transactions (the caller holds the SKU locks) ----------------


def offer_holds(store, sku: str, now: datetime, product: Product | None = None) -> int:
    """Hold free units for waiting subscribers, one each, first subscribed first.

    Call after the backorder queue was served: only units nobody else holds are offered."""
    if not store.has_waiting_subscribers(sku):  # the usual case: one cheap look
        return 0
    product = product or store.get_product(sku)
    if product is None or product.is_preorder(now):  # preorder stock waits for its release
        return 0
    supply = [Supply(s.warehouse, s.available) for s in store.stock_levels(sku) if s.available > 0]
    free = sum(s.qty for s in supply)
    if free < HOLD_UNITS:
        return 0
    subscribers = store.waiting_subscribers(sku, free // HOLD_UNITS)
    plans = plan_holds(subscribers, supply, now, store.care_policy().hold_for)
    for plan in plans:
        _start_hold(store, sku, plan, now)
    return len(plans)


def claim_own_holds(store, customer_id: int, skus, now: datetime) -> list[HoldView]:
    """A customer's own holds become free stock for the order being placed, which takes
    them at once; their waiting subscriptions for these SKUs are fulfilled too."""
    holds, waiting = store.open_subscriptions_of(customer_id, skus)  # one look, usually empty
    claimed = [hold for hold in holds if _end_hold(store, hold, "claimed", now)]
    for subscription_id in waiting:
        store.set_subscription_status(subscription_id, "ordered", now, from_status=("waiting",))
    return claimed


def record_claims(store, claimed: list[HoldView], order_id: int, now: datetime) -> None:
    """Link claimed holds to the order they became, and say so."""
    store.set_hold_order([h.id for h in claimed], order_id)
    store.insert_events(
        [
            _event("back_in_stock_claimed", h.sku, now, _hold_facts(h), order_id=order_id)
            for h in claimed
        ]
    )


def make_room_for_reversal(store, level: StockLevel, qty: int, now: datetime) -> StockLevel:
    """Taking `qty` units out of a warehouse: holds give way before any order does (the
    newest hold first; its subscriber waits again at the head of the line)."""
    need = max(0, qty - level.available)
    released = 0
    for hold in reversed(store.active_holds_at(level.sku, level.warehouse)):
        if released >= need:
            break
        if _end_hold(store, hold, "released", now):
            released += hold.qty
    return replace(level, allocated=level.allocated - released)


def pass_on(store, sku: str, cause: str, now: datetime, timezone: str) -> int:
    """Free units of a SKU go to its backorder queue first, then to its subscribers."""
    grants = allocate_waiting(store, sku, cause, None, now)
    offered = offer_holds(store, sku, now)
    if grants or offered:
        repromise(store, sku, now, timezone)
    return offered


# -- jobs ------------------------------------------------------------------------------------


@retried
def expire_holds(uow: UnitOfWork, now: datetime) -> dict[str, int]:
    """End holds nobody claimed in time; pass their units on."""
    with uow:
        store = uow.store
        due = store.due_holds(now)
        if not due:
            return {"holds_expired": 0, "holds_offered": 0}
        skus = sorted({h.sku for h in due})
        store.lock_skus(skus)
        expired = sum(1 for h in due if _end_hold(store, h, "expired", now))
        offered = sum(pass_on(store, sku, "hold_expired", now, uow.shop_timezone) for sku in skus)
        uow.commit()
        return {"holds_expired": expired, "holds_offered": offered}


@retried
def serve_waitlists(uow: UnitOfWork, now: datetime) -> int:
    """Offer units freed since (a cancel, a count, a reversal) to waiting subscribers."""
    with uow:
        store = uow.store
        skus = store.skus_to_offer()
        if not skus:
            return 0
        store.lock_skus(skus)
        offered = sum(pass_on(store, sku, "queue_first", now, uow.shop_timezone) for sku in skus)
        uow.commit()
        return offered


# -- helpers ----------------------------------------------------------------------------------


def _start_hold(store, sku: str, plan: HoldPlan, now: datetime) -> None:
    hold_id = store.insert_hold(sku, plan, now)
    store.change_stock(sku, plan.warehouse, allocated=plan.qty)
    store.set_subscription_status(plan.subscription_id, "held", now, from_status=("waiting",))
    store.insert_events(
        [
            _event(
                "back_in_stock",
                sku,
                now,
                {
                    "sku": sku,
                    "customer_id": plan.customer_id,
                    "subscription_id": plan.subscription_id,
                    "hold_id": hold_id,
                    "warehouse": plan.warehouse,
                    "qty": plan.qty,
                    "hold_expires_at": plan.expires_at.isoformat(),
                },
            )
        ]
    )


_AFTER_HOLD = {"claimed": "ordered", "expired": "expired", "released": "waiting"}
_HOLD_EVENTS = {"expired": "back_in_stock_expired", "released": "back_in_stock_withdrawn"}


def _end_hold(store, hold: HoldView, status: str, now: datetime, quiet: bool = False) -> bool:
    """End an active hold: its unit leaves stock.allocated; False if it had ended already.

    `released` (taken back by the shop) puts the subscriber back to waiting, first in line."""
    if not store.close_hold(hold.id, status, now):
        return False
    store.change_stock(hold.sku, hold.warehouse, allocated=-hold.qty)
    after = _AFTER_HOLD[status]
    store.set_subscription_status(hold.subscription_id, after, now, from_status=("held",))
    if status in _HOLD_EVENTS and not quiet:
        store.insert_events([_event(_HOLD_EVENTS[status], hold.sku, now, _hold_facts(hold))])
    return True


def _hold_facts(hold: HoldView) -> dict:
    return {
        "sku": hold.sku,
        "customer_id": hold.customer_id,
        "subscription_id": hold.subscription_id,
        "hold_id": hold.id,
        "warehouse": hold.warehouse,
        "qty": hold.qty,
    }


def _event(kind: str, sku: str, now: datetime, payload: dict, order_id: int | None = None) -> dict:
    return {"kind": kind, "order_id": order_id, "sku": sku, "created_at": now, "payload": payload}


def _require_product(store, sku: str) -> Product:
    product = store.get_product(sku)
    if product is None:
        raise NotFound(f"unknown SKU {sku!r}", field="sku", sku=sku)
    return product


def _require_unorderable(store, product: Product, now: datetime) -> None:
    """The waitlist is for what cannot be ordered now: out of stock and not backorderable."""
    position = SkuPosition(
        product, store.stock_levels(product.sku), store.backordered_total(product.sku)
    )
    free = available_now(position, now)
    if free > 0:
        raise Conflict(
            f"{product.sku} is in stock ({free} available): order it instead",
            sku=product.sku,
            available=free,
        )
    room = backorder_room(position, now)
    if room is None or room > 0:
        raise Conflict(
            f"{product.sku} can be ordered now (it waits as a backorder or preorder)",
            sku=product.sku,
            backorder_room=room,
        )
