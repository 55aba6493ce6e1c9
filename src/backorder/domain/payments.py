"""Payment arithmetic, pure: amounts derived from operations, what to capture for a shipment,
what to refund or void when units will not ship, and when an authorization must be renewed.

Two kinds of input, both plain rows:

- `Operation`: an outcome a gateway confirmed (append-only). Money that moved is summed from
  these alone: authorized, captured, voided, refunded.
- `Charge`: a capture or refund the shop has *committed to* (an intent not yet failed), with
  the units of each line it pays for or gives back. What to capture next is planned from
  these, so an intent written but not yet executed is never planned a second time.

Amounts are integer minor units of the order's one currency.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

Units = tuple[tuple[int, int], ...]  # (line id, units), sorted by line id

# Intent statuses that still commit money: planned, running, waiting for a confirmation,
# waiting for a valid authorization, or done.
COMMITTED = frozenset({"pending", "waiting", "blocked", "done"})
UNSETTLED = frozenset({"pending", "waiting", "blocked"})


class Policy(StrEnum):
    ON_SHIPMENT = "on_shipment"  # capture what ships, when it ships
    ON_ALLOCATION = "on_allocation"  # capture units as soon as stock is allocated to them
    DEPOSIT = "deposit"  # a percentage at order, the balance as units ship


@dataclass(frozen=True)
class LineMoney:
    """An order line's quantities and unit price."""

    line_id: int
    qty: int
    allocated: int
    backordered: int
    shipped: int
    cancelled: int
    unit_price: int


@dataclass(frozen=True)
class Operation:
    """One outcome a gateway confirmed: `succeeded` or `declined`."""

    kind: str  # authorize | capture | void | refund
    status: str
    amount: int
    reference: str | None = None
    parent: str | None = None  # the authorization of a capture or void; the capture of a refund
    expires_at: datetime | None = None


@dataclass(frozen=True)
class Charge:
    """A capture or refund the shop committed to, with the units it pays for or gives back."""

    kind: str  # capture | refund
    status: str  # an intent status
    amount: int
    units: Units = ()
    reason: str = ""

    @property
    def committed(self) -> bool:
        return self.status in COMMITTED


@dataclass(frozen=True)
class Totals:
    authorized: int = 0
    captured: int = 0
    voided: int = 0
    refunded: int = 0
    expired: int = 0  # authorized, never captured, and no longer usable


@dataclass(frozen=True)
class Authorization:
    reference: str
    amount: int
    captured: int
    voided: int
    expires_at: datetime | None  # None: never expires (the manual gateway)

    @property
    def remaining(self) -> int:
        return max(0, self.amount - self.captured - self.voided)

    def expired(self, at: datetime) -> bool:
        return self.expires_at is not None and self.expires_at <= at

    def status(self, now: datetime) -> str:
        if self.voided:
            return "voided"
        if self.remaining == 0:
            return "captured"
        if self.expired(now):
            return "expired"
        return "partially_captured" if self.captured else "open"


@dataclass(frozen=True)
class Position:
    """What the committed charges pay for: units per line and money not tied to units."""

    covered: Mapping[int, int]  # units paid for, net of refunds
    returned: Mapping[int, int]  # shipped units given back (refunded as returns)
    net_money: int  # committed captures minus committed refunds
    unsettled_captures: int  # committed captures not yet confirmed by the gateway

    def covered_units(self, line_id: int) -> int:
        return self.covered.get(line_id, 0)

    def returned_units(self, line_id: int) -> int:
        return self.returned.get(line_id, 0)


# -- money that moved ------------------------------------------------------------------------


def authorizations(operations: Iterable[Operation]) -> list[Authorization]:
    """Each succeeded authorization with what was captured and voided against it."""
    succeeded = [op for op in operations if op.status == "succeeded"]
    against: dict[tuple[str, str | None], int] = {}
    for op in succeeded:
        if op.kind in ("capture", "void"):
            against[(op.kind, op.parent)] = against.get((op.kind, op.parent), 0) + op.amount
    return [
        Authorization(
            op.reference or "",
            op.amount,
            against.get(("capture", op.reference), 0),
            against.get(("void", op.reference), 0),
            op.expires_at,
        )
        for op in succeeded
        if op.kind == "authorize"
    ]


def totals(operations: Sequence[Operation], now: datetime) -> Totals:
    def total(kind: str) -> int:
        return sum(op.amount for op in operations if op.kind == kind and op.status == "succeeded")

    expired = sum(a.remaining for a in authorizations(operations) if a.expired(now))
    return Totals(total("authorize"), total("capture"), total("void"), total("refund"), expired)


def refundable_captures(operations: Sequence[Operation]) -> list[tuple[str, int]]:
    """(capture reference, amount still refundable), newest capture first."""
    succeeded = [op for op in operations if op.status == "succeeded"]
    refunded: dict[str | None, int] = {}
    for op in succeeded:
        if op.kind == "refund":
            refunded[op.parent] = refunded.get(op.parent, 0) + op.amount
    captures = [op for op in succeeded if op.kind == "capture" and op.reference]
    left = [(op.reference, op.amount - refunded.get(op.reference, 0)) for op in captures]
    return [(ref, amount) for ref, amount in reversed(left) if amount > 0]


def split_amount(amount: int, sources: Sequence[tuple[str, int]]) -> list[tuple[str, int]]:
    """Take `amount` from sources in order: [(reference, part)], as far as they reach."""
    parts = []
    for reference, available in sources:
        if amount <= 0:
            break
        part = min(amount, available)
        if part > 0:
            parts.append((reference, part))
            amount -= part
    return parts


# -- authorizations ------------------------------------------------------------------------


def usable_authorization(
    auths: Sequence[Authorization], amount: int, now: datetime, margin: timedelta
) -> Authorization | None:
    """The newest authorization that covers `amount` and stays valid past `now + margin`."""
    for auth in reversed(auths):
        if auth.remaining >= amount and not auth.expired(now + margin):
            return auth
    return None


def open_authorizations(auths: Sequence[Authorization], now: datetime) -> list[Authorization]:
    """Authorizations with money still held on the customer's card."""
    return [a for a in auths if a.remaining > 0 and not a.expired(now)]


def needs_renewal(
    auths: Sequence[Authorization], need: int, now: datetime, margin: timedelta
) -> bool:
    """True when money is still needed and no authorization will cover it past the margin."""
    return need > 0 and usable_authorization(auths, need, now, margin) is None


# -- units and what they are owed --------------------------------------------------------


def position(charges: Iterable[Charge]) -> Position:
    covered: dict[int, int] = {}
    returned: dict[int, int] = {}
    net_money = unsettled = 0
    for charge in charges:
        if not charge.committed:
            continue
        sign = 1 if charge.kind == "capture" else -1
        net_money += sign * charge.amount
        if charge.kind == "capture" and charge.status != "done":
            unsettled += charge.amount
        for line_id, units in charge.units:
            covered[line_id] = covered.get(line_id, 0) + sign * units
            if charge.reason == "return":
                returned[line_id] = returned.get(line_id, 0) + units
    return Position(covered, returned, net_money, unsettled)


def owed_units(line: LineMoney, pos: Position) -> int:
    """Units the customer will keep: ordered, not cancelled, not returned."""
    return line.qty - line.cancelled - pos.returned_units(line.line_id)


def credit(lines: Sequence[LineMoney], pos: Position) -> int:
    """Money committed beyond the units it pays for (a deposit not yet used up)."""
    return pos.net_money - sum(pos.covered_units(x.line_id) * x.unit_price for x in lines)


def uncovered_value(lines: Sequence[LineMoney], pos: Position) -> int:
    return sum(
        max(0, owed_units(x, pos) - pos.covered_units(x.line_id)) * x.unit_price for x in lines
    )


def future_need(lines: Sequence[LineMoney], pos: Position) -> int:
    """Money still to be captured for units not yet paid for, after any unused credit."""
    return max(0, uncovered_value(lines, pos) - max(0, credit(lines, pos)))


def authorization_need(lines: Sequence[LineMoney], pos: Position) -> int:
    """What an authorization must hold now: committed captures not yet done, and the rest."""
    return pos.unsettled_captures + future_need(lines, pos)


def order_value(lines: Sequence[LineMoney]) -> int:
    return sum((x.qty - x.cancelled) * x.unit_price for x in lines)


def deposit_amount(value: int, percent: int) -> int:
    """`percent` of `value`, rounded up to a whole minor unit."""
    return (value * percent + 99) // 100


def paid_units_held(lines: Sequence[LineMoney], pos: Position) -> dict[int, int]:
    """Allocated units already paid for: they stay promised on cancel (B14)."""
    held = {}
    for x in lines:
        shipped_kept = x.shipped - pos.returned_units(x.line_id)
        units = min(x.allocated, max(0, pos.covered_units(x.line_id) - shipped_kept))
        if units:
            held[x.line_id] = units
    return held


# -- what to capture, refund, void ---------------------------------------------------------


def capture_due(
    lines: Sequence[LineMoney],
    pos: Position,
    policy: Policy,
    extra: Mapping[int, int] | None = None,
) -> tuple[Units, int]:
    """Units the policy says must be paid for now and not yet are, and the amount to capture
    for them after unused credit. `extra`: units an operator charges ahead of shipment."""
    extra = extra or {}
    units = []
    for x in lines:
        target = x.shipped - pos.returned_units(x.line_id)
        if policy is Policy.ON_ALLOCATION:
            target += x.allocated
        covered = pos.covered_units(x.line_id)
        target = max(target, covered + extra.get(x.line_id, 0))
        if target > covered:
            units.append((x.line_id, target - covered))
    price = {x.line_id: x.unit_price for x in lines}
    value = sum(n * price[line_id] for line_id, n in units)
    return tuple(units), max(0, value - max(0, credit(lines, pos)))


def chargeable_units(line: LineMoney, pos: Position) -> int:
    """Units an operator may charge now: shipped or allocated, and not yet paid for."""
    target = line.shipped - pos.returned_units(line.line_id) + line.allocated
    return max(0, target - pos.covered_units(line.line_id))


@dataclass(frozen=True)
class Settlement:
    refund_units: Units  # paid-for units that will not ship
    refund_amount: int  # their price, plus credit beyond what the policy keeps
    void: bool  # nothing more will be captured: release what the card still holds


def settle(
    lines: Sequence[LineMoney], pos: Position, policy: Policy, deposit_percent: int
) -> Settlement:
    """After units were cancelled, edited or returned: give back what was paid for units that
    will not ship, keep a deposit only on what still will, and say whether to void."""
    excess = tuple(
        (x.line_id, pos.covered_units(x.line_id) - owed_units(x, pos))
        for x in lines
        if pos.covered_units(x.line_id) > owed_units(x, pos)
    )
    price = {x.line_id: x.unit_price for x in lines}
    excess_value = sum(n * price[line_id] for line_id, n in excess)
    kept = uncovered_value(lines, pos)
    allowed = deposit_amount(kept, deposit_percent) if policy is Policy.DEPOSIT else 0
    extra_credit = max(0, credit(lines, pos) - allowed)
    need_after = max(0, kept - min(credit(lines, pos), allowed))
    return Settlement(excess, excess_value + extra_credit, need_after == 0)


def payment_status(totals_: Totals, *, required: bool, authorized_ever: bool, need: int) -> str:
    """One word for the order's payment, as a person would say it."""
    if required:
        return "payment_required"
    if totals_.captured and totals_.refunded >= totals_.captured:
        return "refunded"
    if totals_.captured:
        return "captured" if need == 0 else "partially_captured"
    if not authorized_ever:
        return "awaiting_authorization"
    if need == 0 and (totals_.voided or totals_.expired):
        return "voided"
    return "authorized"
