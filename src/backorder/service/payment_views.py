"""Payment rows, settings and the snapshot of one order's payment that every decision reads."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from ..domain import payments as money
from ..domain.payments import Policy, Units
from .views import OrderView


@dataclass(frozen=True)
class PaymentSettings:
    """Shop-wide payment terms (an order may override gateway, policy and deposit)."""

    default_gateway: str | None = None  # None: orders without payment details pay nothing here
    policy: Policy = Policy.ON_SHIPMENT
    deposit_percent: int = 0
    renew_margin: timedelta = timedelta(hours=24)  # re-authorize this long before expiry
    grace: timedelta = timedelta(hours=48)  # payment_required lines keep their units this long
    retry_after: timedelta = timedelta(seconds=30)  # first retry of an unreachable gateway
    max_attempts: int = 12  # then the intent fails and a person is told
    lease: timedelta = timedelta(minutes=2)  # a claimed intent is hidden from other runners


@dataclass(frozen=True)
class PreAuthorization:
    """An authorization the storefront already took before the order was placed."""

    reference: str
    amount_minor: int
    expires_at: datetime | None = None


@dataclass(frozen=True)
class PaymentIn:
    """Payment details given with an order."""

    gateway: str
    method: str | None = None  # a payment-method token the gateway understands
    policy: Policy = Policy.ON_SHIPMENT
    deposit_percent: int = 0
    authorization: PreAuthorization | None = None


@dataclass(frozen=True)
class PaymentRow:
    order_id: int
    gateway: str
    policy: str
    deposit_percent: int
    currency: str
    method: str | None
    required_since: datetime | None
    grace_until: datetime | None
    released_at: datetime | None
    created_at: datetime


@dataclass(frozen=True)
class IntentRow:
    id: int
    order_id: int | None
    kind: str
    reason: str
    amount_minor: int
    currency: str
    gateway: str
    idempotency_key: str
    method: str | None
    target_ref: str | None
    lines: Units
    status: str
    generation: int
    attempts: int
    next_attempt_at: datetime
    lease_until: datetime | None
    gateway_ref: str | None
    last_error: str | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class OperationRow:
    id: int
    order_id: int | None
    intent_id: int | None
    kind: str
    status: str
    amount_minor: int
    currency: str
    gateway: str
    idempotency_key: str
    reference: str | None
    parent_ref: str | None
    expires_at: datetime | None
    detail: str | None
    source: str
    created_at: datetime


@dataclass(frozen=True)
class Snapshot:
    """One order's payment terms, lines, confirmed operations and intents, read together."""

    payment: PaymentRow
    order: OrderView
    operations: tuple[OperationRow, ...]
    intents: tuple[IntentRow, ...]

    @property
    def policy(self) -> Policy:
        return Policy(self.payment.policy)

    @property
    def required(self) -> bool:
        return self.payment.required_since is not None

    def lines(self) -> list[money.LineMoney]:
        return [
            money.LineMoney(
                x.id, x.qty, x.allocated, x.backordered, x.shipped, x.cancelled, x.unit_price_minor
            )
            for x in self.order.lines
        ]

    def ops(self) -> list[money.Operation]:
        return [
            money.Operation(
                op.kind, op.status, op.amount_minor, op.reference, op.parent_ref, op.expires_at
            )
            for op in self.operations
        ]

    def auths(self) -> list[money.Authorization]:
        return money.authorizations(self.ops())

    def position(self) -> money.Position:
        return money.position(
            money.Charge(i.kind, i.status, i.amount_minor, i.lines, i.reason)
            for i in self.intents
            if i.kind in ("capture", "refund")
        )

    def need(self) -> int:
        return money.authorization_need(self.lines(), self.position())

    def has_unsettled(self, kind: str) -> bool:
        return any(i.kind == kind and i.status in money.UNSETTLED for i in self.intents)


@dataclass(frozen=True)
class PaymentView:
    """The payment history of an order, as the API and CLI show it."""

    order_id: int
    gateway: str
    policy: str
    deposit_percent: int
    currency: str
    status: str
    authorized: int
    captured: int
    voided: int
    refunded: int
    expired: int
    outstanding: int  # still to be captured for units that will ship
    payment_required_since: datetime | None
    grace_until: datetime | None
    units_released_at: datetime | None
    authorizations: tuple[dict, ...] = field(default_factory=tuple)
    lines: tuple[dict, ...] = field(default_factory=tuple)
    operations: tuple[OperationRow, ...] = field(default_factory=tuple)
    intents: tuple[IntentRow, ...] = field(default_factory=tuple)


def load_snapshot(store, order_id: int) -> Snapshot | None:
    """None when the order has no payment (it was placed without payment details, or the
    shop takes no payments: then nothing is read at all)."""
    if not store.payments_enabled():
        return None
    payment = store.get_order_payment(order_id)
    if payment is None:
        return None
    order = store.get_order(order_id)
    return Snapshot(
        payment,
        order,
        tuple(store.payment_operations(order_id)),
        tuple(store.payment_intents(order_id)),
    )


def view_of(snap: Snapshot, now: datetime) -> PaymentView:
    ops, lines, pos = snap.ops(), snap.lines(), snap.position()
    sums = money.totals(ops, now)
    auths = snap.auths()
    status = money.payment_status(
        sums,
        required=snap.required,
        authorized_ever=bool(auths),
        need=money.authorization_need(lines, pos),
    )
    held = money.paid_units_held(lines, pos)
    p = snap.payment
    return PaymentView(
        snap.order.id,
        p.gateway,
        p.policy,
        p.deposit_percent,
        p.currency,
        status,
        sums.authorized,
        sums.captured,
        sums.voided,
        sums.refunded,
        sums.expired,
        money.future_need(lines, pos),
        p.required_since,
        p.grace_until,
        p.released_at,
        tuple(
            {
                "reference": a.reference,
                "amount": a.amount,
                "captured": a.captured,
                "voided": a.voided,
                "remaining": a.remaining,
                "expires_at": a.expires_at,
                "status": a.status(now),
            }
            for a in auths
        ),
        tuple(
            {
                "line_id": x.line_id,
                "paid_units": pos.covered_units(x.line_id),
                "paid_units_held": held.get(x.line_id, 0),
                "returned_units": pos.returned_units(x.line_id),
                "state": _line_state(snap, x),
            }
            for x in lines
        ),
        snap.operations,
        snap.intents,
    )


def _line_state(snap: Snapshot, line: money.LineMoney) -> str:
    open_units = line.allocated + line.backordered
    if snap.required and open_units:
        return "payment_required"
    return "open" if open_units else "closed"
