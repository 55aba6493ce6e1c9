"""Rows of payments: an order's payment terms, intents (the outbox of money), operations."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import Connection, Engine, exists, func, insert, or_, select, update
from sqlalchemy.orm import aliased

from ...service.payment_views import IntentRow, OperationRow, PaymentRow
from . import tables as t

_P, _I, _O = t.order_payments, t.payment_intents, t.payment_operations
PAYMENTS_OPTION = "backorder_payments_enabled"


def attach_payments(engine: Engine, enabled: bool) -> None:
    """Tell every store on this engine whether the shop takes payments (a gateway is
    configured). When it does not, the payment hooks of the order commands read nothing."""
    engine.update_execution_options(**{PAYMENTS_OPTION: enabled})


# Invariant 7 of DESIGN.md §3, checked by `backorder check` next to the others.
PAYMENT_CHECKS = {
    "7: captured <= authorized, refunded <= captured": (
        "SELECT 'order ' || order_id, 'authorized ' || a || ', captured ' || c || ', refunded ' "
        "|| r FROM (SELECT order_id, "
        "SUM(CASE WHEN kind = 'authorize' THEN amount_minor ELSE 0 END) AS a, "
        "SUM(CASE WHEN kind = 'capture' THEN amount_minor ELSE 0 END) AS c, "
        "SUM(CASE WHEN kind = 'refund' THEN amount_minor ELSE 0 END) AS r "
        "FROM payment_operations WHERE status = 'succeeded' AND order_id IS NOT NULL "
        "GROUP BY order_id) m WHERE c > a OR r > c"
    ),
    # Net of refunds already decided (an intent not yet run), so no breach shows between a
    # cancel and the refund's execution.
    "7: captures belong to shipped or allocated units (deposits: to units still owed)": (
        "SELECT 'order ' || m.order_id, 'net captured ' || m.net || ', chargeable ' || v.value "
        "FROM (SELECT order_id, SUM(amount) AS net FROM ("
        "SELECT order_id, CASE kind WHEN 'capture' THEN amount_minor WHEN 'refund' "
        "THEN -amount_minor ELSE 0 END AS amount FROM payment_operations "
        "WHERE status = 'succeeded' AND order_id IS NOT NULL UNION ALL "
        "SELECT order_id, -amount_minor FROM payment_intents WHERE kind = 'refund' "
        "AND status IN ('pending','waiting','blocked') AND order_id IS NOT NULL) u "
        "GROUP BY order_id) m "
        "JOIN (SELECT l.order_id, SUM(CASE WHEN p.policy = 'deposit' "
        "THEN (l.qty - l.cancelled) ELSE (l.shipped + l.allocated) END * l.unit_price_minor) "
        "AS value FROM order_lines l JOIN order_payments p ON p.order_id = l.order_id "
        "GROUP BY l.order_id) v ON v.order_id = m.order_id WHERE m.net > v.value"
    ),
}


class PaymentQueries:
    """Mixed into SqlStore; uses its connection."""

    conn: Connection
    _sqlite: bool

    def payments_enabled(self) -> bool:
        return bool(self.conn.get_execution_options().get(PAYMENTS_OPTION))

    # -- payment terms -----------------------------------------------------------------------

    def insert_order_payment(self, values: dict) -> None:
        self.conn.execute(insert(_P).values(**values))

    def get_order_payment(self, order_id: int) -> PaymentRow | None:
        row = self.conn.execute(select(_P).where(_P.c.order_id == order_id)).first()
        return PaymentRow(**row._mapping) if row else None

    def lock_order_payment(self, order_id: int) -> PaymentRow | None:
        """Serialise writers of one order's payment (SQLite writers already are)."""
        query = select(_P).where(_P.c.order_id == order_id)
        if not self._sqlite:
            query = query.with_for_update()
        row = self.conn.execute(query).first()
        return PaymentRow(**row._mapping) if row else None

    def update_order_payment(self, order_id: int, values: dict) -> None:
        self.conn.execute(update(_P).where(_P.c.order_id == order_id).values(**values))

    def payment_orders_with_policy(self, order_ids: Iterable[int], policy: str) -> list[int]:
        ids = sorted(set(order_ids))
        if not ids:
            return []
        query = select(_P.c.order_id).where(_P.c.order_id.in_(ids), _P.c.policy == policy)
        return list(self.conn.execute(query).scalars())

    def payment_held_orders(self, order_ids: Iterable[int]) -> set[int]:
        """Of these orders, those whose unpaid units went back to the queue after the grace
        period: they are not served again until the payment is fixed."""
        ids = sorted(set(order_ids))
        if not ids:
            return set()
        query = select(_P.c.order_id).where(
            _P.c.order_id.in_(ids), _P.c.released_at.is_not(None), _P.c.required_since.is_not(None)
        )
        return set(self.conn.execute(query).scalars())

    def payment_orders_to_renew(self, horizon: datetime) -> list[int]:
        """Orders with units still to ship, no payment problem, and no authorization that
        stays valid (and not voided) past `horizon`: their hold must be renewed."""
        lines, auth, void = t.order_lines, aliased(_O), aliased(_O)
        outstanding = exists().where(
            lines.c.order_id == _P.c.order_id, lines.c.allocated + lines.c.backordered > 0
        )
        voided = exists().where(
            void.c.kind == "void",
            void.c.status == "succeeded",
            void.c.parent_ref == auth.c.reference,
        )
        lasting = exists().where(
            auth.c.order_id == _P.c.order_id,
            auth.c.kind == "authorize",
            auth.c.status == "succeeded",
            or_(auth.c.expires_at.is_(None), auth.c.expires_at > horizon),
            ~voided,
        )
        query = select(_P.c.order_id).where(_P.c.required_since.is_(None), outstanding, ~lasting)
        return list(self.conn.execute(query.order_by(_P.c.order_id)).scalars())

    def payment_grace_expired(self, now: datetime) -> list[int]:
        query = select(_P.c.order_id).where(
            _P.c.required_since.is_not(None), _P.c.released_at.is_(None), _P.c.grace_until <= now
        )
        return list(self.conn.execute(query.order_by(_P.c.order_id)).scalars())

    # -- intents -----------------------------------------------------------------------------

    def insert_payment_intent(self, values: dict) -> int:
        values = dict(values, lines=json.dumps([list(pair) for pair in values.get("lines", ())]))
        return self.conn.execute(insert(_I).values(**values)).inserted_primary_key[0]

    def payment_intents(self, order_id: int) -> list[IntentRow]:
        rows = self.conn.execute(select(_I).where(_I.c.order_id == order_id).order_by(_I.c.id))
        return [_intent(row) for row in rows]

    def get_payment_intent(self, intent_id: int) -> IntentRow | None:
        row = self.conn.execute(select(_I).where(_I.c.id == intent_id)).first()
        return _intent(row) if row else None

    def payment_intent_by_key(self, key: str) -> IntentRow | None:
        row = self.conn.execute(select(_I).where(_I.c.idempotency_key == key)).first()
        return _intent(row) if row else None

    def update_payment_intent(self, intent_id: int, values: dict) -> None:
        self.conn.execute(update(_I).where(_I.c.id == intent_id).values(**values))

    def unblock_payment_intents(self, order_id: int, now: datetime) -> int:
        """Blocked intents run again, each with a new generation (so new derived keys)."""
        result = self.conn.execute(
            update(_I)
            .where(_I.c.order_id == order_id, _I.c.status == "blocked")
            .values(
                status="pending",
                generation=_I.c.generation + 1,
                next_attempt_at=now,
                updated_at=now,
            )
        )
        return result.rowcount

    def due_payment_intents(self, now: datetime, limit: int) -> list[int]:
        """Intents due now (pending, or waiting for a confirmation and due to ask again), not
        leased, and first in line for their order: an order's intents run one after another,
        in the order they were written."""
        earlier = aliased(_I)
        blocked_by_earlier = exists().where(
            earlier.c.order_id == _I.c.order_id,
            earlier.c.id < _I.c.id,
            earlier.c.status.in_(("pending", "waiting")),
        )
        query = (
            select(_I.c.id)
            .where(
                _I.c.status.in_(("pending", "waiting")),
                _I.c.next_attempt_at <= now,
                or_(_I.c.lease_until.is_(None), _I.c.lease_until <= now),
                or_(_I.c.order_id.is_(None), ~blocked_by_earlier),
            )
            .order_by(_I.c.id)
            .limit(limit)
        )
        return list(self.conn.execute(query).scalars())

    def lease_payment_intent(self, intent_id: int, now: datetime, until: datetime) -> bool:
        """Claim one intent; False when another runner claimed it first."""
        result = self.conn.execute(
            update(_I)
            .where(
                _I.c.id == intent_id,
                _I.c.status.in_(("pending", "waiting")),
                or_(_I.c.lease_until.is_(None), _I.c.lease_until <= now),
            )
            .values(lease_until=until)
        )
        return result.rowcount == 1

    # -- operations ----------------------------------------------------------------------------

    def payment_operation_exists(self, key: str) -> bool:
        query = select(_O.c.id).where(_O.c.idempotency_key == key)
        return self.conn.execute(query).first() is not None

    def insert_payment_operation(self, values: dict) -> int:
        return self.conn.execute(insert(_O).values(**values)).inserted_primary_key[0]

    def payment_operations(self, order_id: int) -> list[OperationRow]:
        rows = self.conn.execute(select(_O).where(_O.c.order_id == order_id).order_by(_O.c.id))
        return [OperationRow(**row._mapping) for row in rows]

    def payment_operations_of_intent(self, intent_id: int) -> list[OperationRow]:
        rows = self.conn.execute(select(_O).where(_O.c.intent_id == intent_id).order_by(_O.c.id))
        return [OperationRow(**row._mapping) for row in rows]

    def shipped_from(self, line_id: int) -> str | None:
        """The warehouse most of a line's shipped units left from (returns go back there)."""
        sl = t.shipment_lines
        query = (
            select(sl.c.warehouse)
            .where(sl.c.line_id == line_id)
            .group_by(sl.c.warehouse)
            .order_by(func.sum(sl.c.qty).desc(), sl.c.warehouse)
        )
        return self.conn.execute(query).scalar()

    def payment_check_queries(self) -> dict[str, str]:
        return PAYMENT_CHECKS


def _intent(row) -> IntentRow:
    values = dict(row._mapping)
    values["lines"] = tuple((int(a), int(b)) for a, b in json.loads(values["lines"] or "[]"))
    return IntentRow(**values)
