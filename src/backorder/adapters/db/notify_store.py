"""Rows of the notification side: new events, deliveries, webhook endpoints, opt-outs."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import Connection, delete, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite

from ...service.notifications import DUE_STATUSES, Delivery, WebhookEndpoint
from ...service.views import EventView
from . import tables as t

_DELIVERY_COLUMNS = [c for c in t.deliveries.c]


class NotifyQueries:
    """Mixed into SqlStore; uses its connection."""

    conn: Connection
    _sqlite: bool

    # -- planning --------------------------------------------------------------------------

    def undispatched_events(self, limit: int) -> list[EventView]:
        """The oldest events not yet fanned out; on PostgreSQL, those no other planner holds."""
        e = t.events
        query = select(e).where(e.c.dispatched_at.is_(None)).order_by(e.c.id).limit(limit)
        if not self._sqlite:
            query = query.with_for_update(skip_locked=True)
        return [
            EventView(r.id, r.kind, r.order_id, r.sku, json.loads(r.payload), r.created_at)
            for r in self.conn.execute(query)
        ]

    def has_undispatched_events(self) -> bool:
        e = t.events
        return (
            self.conn.execute(select(e.c.id).where(e.c.dispatched_at.is_(None)).limit(1)).first()
            is not None
        )

    def mark_dispatched(self, event_ids: Iterable[int], now: datetime) -> None:
        ids = sorted(set(event_ids))
        if ids:
            self.conn.execute(
                update(t.events).where(t.events.c.id.in_(ids)).values(dispatched_at=now)
            )

    def insert_deliveries(self, rows: list[dict]) -> None:
        """A delivery already planned (same idempotency key) is left as it is."""
        if not rows:
            return
        dialect = sqlite if self._sqlite else postgresql
        statement = dialect.insert(t.deliveries).on_conflict_do_nothing(
            index_elements=["idempotency_key"]
        )
        self.conn.execute(statement, rows)

    def opted_out_channels(self, customer_id: int) -> set[str]:
        o = t.notification_optouts
        query = select(o.c.channel).where(o.c.customer_id == customer_id)
        return set(self.conn.execute(query).scalars())

    # -- sending ---------------------------------------------------------------------------

    def claim_deliveries(
        self, now: datetime, limit: int, lease_until: datetime, worker: str
    ) -> list[Delivery]:
        """Due deliveries, hidden from other dispatchers until `lease_until`, one try counted."""
        d = t.deliveries
        due = (
            select(d.c.id)
            .where(d.c.status.in_(DUE_STATUSES), d.c.next_attempt_at <= now)
            .order_by(d.c.next_attempt_at, d.c.id)
            .limit(limit)
        )
        if not self._sqlite:  # SQLite: BEGIN IMMEDIATE already lets one claimer in at a time
            due = due.with_for_update(skip_locked=True)
        ids = list(self.conn.execute(due).scalars())
        if not ids:
            return []
        self.conn.execute(
            update(d)
            .where(d.c.id.in_(ids))
            .values(attempts=d.c.attempts + 1, next_attempt_at=lease_until, claimed_by=worker)
        )
        return self._deliveries_with_secret(d.c.id.in_(ids))

    def has_due_deliveries(self, now: datetime) -> bool:
        d = t.deliveries
        query = select(d.c.id).where(d.c.status.in_(DUE_STATUSES), d.c.next_attempt_at <= now)
        return self.conn.execute(query.limit(1)).first() is not None

    def mark_delivery_sent(self, delivery_id: int, now: datetime) -> None:
        """Sent is final: a late success of an expired lease still counts."""
        d = t.deliveries
        self.conn.execute(
            update(d)
            .where(d.c.id == delivery_id, d.c.status != "sent")
            .values(status="sent", sent_at=now, last_error=None, claimed_by=None)
        )

    def mark_delivery_failed(
        self, delivery_id: int, worker: str, status: str, error: str, next_attempt_at: datetime
    ) -> None:
        """Only the holder of the latest claim records a failure; it never undoes a success."""
        d = t.deliveries
        self.conn.execute(
            update(d)
            .where(d.c.id == delivery_id, d.c.claimed_by == worker, d.c.status.in_(DUE_STATUSES))
            .values(
                status=status, last_error=error, next_attempt_at=next_attempt_at, claimed_by=None
            )
        )

    # -- the delivery log ------------------------------------------------------------------

    def list_deliveries(
        self,
        status: str | None = None,
        order_id: int | None = None,
        limit: int = 100,
        event_ids: Iterable[int] | None = None,
    ) -> list[Delivery]:
        d = t.deliveries
        conditions = []
        if status:
            conditions.append(d.c.status == status)
        if order_id is not None:
            conditions.append(d.c.order_id == order_id)
        if event_ids is not None:
            conditions.append(d.c.event_id.in_(sorted(set(event_ids))))
        return self._deliveries_with_secret(*conditions, limit=limit, with_secret=False)

    def get_delivery(self, delivery_id: int) -> Delivery | None:
        found = self._deliveries_with_secret(t.deliveries.c.id == delivery_id, with_secret=False)
        return found[0] if found else None

    def requeue_delivery(self, delivery_id: int, now: datetime) -> None:
        """A dead or failed delivery gets a fresh set of tries, due now."""
        d = t.deliveries
        self.conn.execute(
            update(d)
            .where(d.c.id == delivery_id, d.c.status.in_(("dead", "failed")))
            .values(status="pending", attempts=0, next_attempt_at=now, claimed_by=None)
        )

    def _deliveries_with_secret(
        self, *conditions, limit: int | None = None, with_secret: bool = True
    ) -> list[Delivery]:
        d, w = t.deliveries, t.webhook_endpoints
        query = (
            select(*_DELIVERY_COLUMNS, w.c.secret)
            .outerjoin(w, w.c.id == d.c.endpoint_id)
            .where(*conditions)
            .order_by(d.c.id)
            .limit(limit)
        )
        rows = self.conn.execute(query)
        return [
            Delivery(**{k: v for k, v in r._mapping.items() if with_secret or k != "secret"})
            for r in rows
        ]

    # -- webhook endpoints -----------------------------------------------------------------

    def insert_webhook(self, values: dict) -> int:
        values = dict(values, event_kinds=json.dumps(list(values["event_kinds"])))
        result = self.conn.execute(insert(t.webhook_endpoints).values(**values))
        return result.inserted_primary_key[0]

    def get_webhook(self, endpoint_id: int) -> WebhookEndpoint | None:
        w = t.webhook_endpoints
        row = self.conn.execute(select(w).where(w.c.id == endpoint_id)).first()
        return _endpoint(row) if row else None

    def list_webhooks(self, active_only: bool = False) -> list[WebhookEndpoint]:
        w = t.webhook_endpoints
        query = select(w).order_by(w.c.id)
        if active_only:
            query = query.where(w.c.active.is_(True))
        return [_endpoint(row) for row in self.conn.execute(query)]

    def active_webhooks(self) -> list[WebhookEndpoint]:
        return self.list_webhooks(active_only=True)

    def deactivate_webhook(self, endpoint_id: int, now: datetime) -> None:
        """Its waiting deliveries are dead-lettered: nobody should receive them any more."""
        w, d = t.webhook_endpoints, t.deliveries
        self.conn.execute(update(w).where(w.c.id == endpoint_id).values(active=False))
        self.conn.execute(
            update(d)
            .where(d.c.endpoint_id == endpoint_id, d.c.status.in_(DUE_STATUSES))
            .values(status="dead", last_error="endpoint removed", claimed_by=None)
        )

    # -- opt-outs --------------------------------------------------------------------------

    def add_opt_out(self, customer_id: int, channel: str, now: datetime) -> None:
        if channel not in self.opted_out_channels(customer_id):
            self.conn.execute(
                insert(t.notification_optouts).values(
                    customer_id=customer_id, channel=channel, created_at=now
                )
            )

    def remove_opt_out(self, customer_id: int, channel: str) -> None:
        o = t.notification_optouts
        self.conn.execute(delete(o).where(o.c.customer_id == customer_id, o.c.channel == channel))


def _endpoint(row) -> WebhookEndpoint:
    return WebhookEndpoint(
        id=row.id,
        url=row.url,
        secret=row.secret,
        event_kinds=tuple(json.loads(row.event_kinds)),
        description=row.description,
        active=bool(row.active),
        created_at=row.created_at,
    )
