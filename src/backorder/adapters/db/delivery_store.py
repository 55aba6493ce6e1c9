"""Set-at-a-time reads and writes for a delivery of many SKUs (service/deliveries.py).

What a receipt of one SKU does in a few statements, these do for every SKU of a delivery in
the same few statements, inside the caller's transaction.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import Connection

from ...domain.allocation import Grant, WaitingLine, priority_key
from ...domain.model import PaidPriority, Tier
from . import raw
from .promise_bulk_store import QueuedLine

Queued = tuple[WaitingLine, QueuedLine]  # a waiting line and its stored promise


class DeliveryQueries:
    conn: Connection

    def add_on_hand_many(
        self, moves: Sequence[tuple[str, str, int, str | None]], reason: str, now: datetime
    ) -> dict[tuple[str, str], int]:
        """Add (sku, warehouse, units, reference) to on_hand, one ledger row each with the
        balance after it (two moves of one stock row count up); the new on_hand."""
        pairs = sorted({(sku, wh) for sku, wh, _, _ in moves})
        raw.executemany(self.conn, _ENSURE_STOCK_ROW, pairs)
        skus = sorted({sku for sku, _ in pairs})
        sql = _ON_HAND.format(marks=raw.marks(skus))
        on_hand = {(sku, wh): units for sku, wh, units in raw.fetchall(self.conn, sql, skus)}
        at, ledger, added = raw.utc_param(self.conn)(now), [], defaultdict(int)
        for sku, wh, units, reference in moves:
            on_hand[(sku, wh)] += units
            added[(sku, wh)] += units
            ledger.append((sku, wh, units, on_hand[(sku, wh)], reason, reference, at))
        raw.executemany(self.conn, _ADD_ON_HAND, [(q, s, w) for (s, w), q in sorted(added.items())])
        raw.executemany(self.conn, _INSERT_LEDGER, ledger)
        return on_hand

    def waiting_lines_many(self, skus: Iterable[str]) -> dict[str, list[WaitingLine]]:
        """The waiting lines of each SKU, in queue order."""
        queues = self.waiting_queues(skus)
        return {sku: [line for line, _ in queue] for sku, queue in queues.items()}

    def waiting_queues(self, skus: Iterable[str]) -> dict[str, list[Queued]]:
        """Each SKU's waiting lines in queue order (allocation.priority_key), each with its
        stored promise: what a delivery hands units by and then re-promises, in one read (a
        delivery's thousands: on the driver's cursor; sorted here by the key itself, which
        costs less than SQLite's sort of every column read)."""
        skus = sorted(set(skus))
        if not skus:
            return {}
        utc, day = raw.utc_value(self.conn), raw.date_value(self.conn)
        sql = _WAITING_QUEUES.format(marks=raw.marks(skus))
        queues: dict[str, list] = defaultdict(list)  # (key, line, stored): keys never tie
        for row in raw.fetchall(self.conn, sql, skus):
            line_id, sku, order_id, owed, tier, paid, requested, placed, override = row[:9]
            promised, basis, po_line, first = row[9:]
            placed = utc(placed)
            waiting = WaitingLine(
                line_id,
                order_id,
                sku,
                owed,
                _TIERS[tier],
                _PAID[paid],
                utc(requested) or placed,
                placed,
                override,
            )
            stored = QueuedLine(line_id, owed, order_id, day(promised), basis, po_line, day(first))
            queues[sku].append((priority_key(waiting), waiting, stored))
        return {
            sku: [(line, stored) for _, line, stored in sorted(queue)]
            for sku, queue in queues.items()
        }

    def apply_grants_many(self, grants: Sequence[tuple[str, Grant]]) -> None:
        """Move granted units of many SKUs from waiting to allocated: three statements."""
        if not grants:
            return
        to_lines, holdings, per_stock_row = [], [], defaultdict(int)
        for sku, g in grants:
            to_lines.append((g.qty, g.qty, g.line_id))
            holdings.append((g.line_id, g.warehouse, sku, g.qty))
            per_stock_row[(sku, g.warehouse)] += g.qty
        raw.executemany(self.conn, _GRANT_TO_LINE, to_lines)
        raw.executemany(self.conn, _ADD_HOLDING, holdings)
        raw.executemany(
            self.conn, _ADD_ALLOCATED, [(q, s, w) for (s, w), q in sorted(per_stock_row.items())]
        )

    def skus_with_waiting_subscribers(self, skus: Iterable[str]) -> set[str]:
        skus = sorted(set(skus))
        if not skus:
            return set()
        sql = _WITH_SUBSCRIBERS.format(marks=raw.marks(skus))
        return {sku for (sku,) in raw.fetchall(self.conn, sql, skus)}


# As store.py's statements for one SKU, in the driver's placeholders.
_ENSURE_STOCK_ROW = (
    "INSERT INTO stock (sku, warehouse, on_hand, allocated) VALUES (?, ?, 0, 0) "
    "ON CONFLICT (sku, warehouse) DO NOTHING"
)
_ADD_ON_HAND = "UPDATE stock SET on_hand = on_hand + ? WHERE sku = ? AND warehouse = ?"
_INSERT_LEDGER = (
    "INSERT INTO ledger (sku, warehouse, delta, on_hand_after, reason, reference, created_at) "
    "VALUES (?, ?, ?, ?, ?, ?, ?)"
)
_ON_HAND = "SELECT sku, warehouse, on_hand FROM stock WHERE sku IN ({marks})"
_WAITING_QUEUES = (
    "SELECT l.id, l.sku, l.order_id, l.backordered, c.tier, o.paid_priority, o.requested_date, "
    "o.placed_at, l.priority_override, l.promised_date, l.promise_basis, l.promise_po_line_id, "
    "l.first_promised_date FROM order_lines l JOIN orders o ON o.id = l.order_id "
    "JOIN customers c ON c.id = o.customer_id "
    "WHERE l.sku IN ({marks}) AND l.backordered > 0"
)
_WITH_SUBSCRIBERS = (
    "SELECT DISTINCT sku FROM waitlist_subscriptions WHERE sku IN ({marks}) AND status = 'waiting'"
)
_TIERS = {tier.value: tier for tier in Tier}
_PAID = {paid.value: paid for paid in PaidPriority}
_GRANT_TO_LINE = (
    "UPDATE order_lines SET allocated = allocated + ?, backordered = backordered - ? WHERE id = ?"
)
_ADD_HOLDING = (
    "INSERT INTO line_allocations (line_id, warehouse, sku, qty) VALUES (?, ?, ?, ?) "
    "ON CONFLICT (line_id, warehouse) DO UPDATE SET qty = line_allocations.qty + excluded.qty"
)
_ADD_ALLOCATED = "UPDATE stock SET allocated = allocated + ? WHERE sku = ? AND warehouse = ?"
