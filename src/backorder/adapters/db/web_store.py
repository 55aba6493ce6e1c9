"""Rows of the operator web app (issue 5): users, the audit log, priority overrides, and the
reads behind the dashboard, the queue pages and the reports. A mixin of SqlStore."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import date, datetime

from sqlalchemy import Connection, and_, case, func, insert, inspect, or_, select, update

from ...service.views import EventView
from . import tables as t


class WebQueries:
    conn: Connection

    # -- users ---------------------------------------------------------------------------------

    def insert_web_user(self, values: dict) -> int:
        return self.conn.execute(insert(t.web_users).values(**values)).inserted_primary_key[0]

    def web_user_by_name(self, name: str) -> dict | None:
        row = self.conn.execute(select(t.web_users).where(t.web_users.c.name == name)).first()
        return dict(row._mapping) if row else None

    def web_user(self, user_id: int) -> dict | None:
        row = self.conn.execute(select(t.web_users).where(t.web_users.c.id == user_id)).first()
        return dict(row._mapping) if row else None

    def list_web_users(self) -> list[dict]:
        rows = self.conn.execute(select(t.web_users).order_by(t.web_users.c.name))
        return [dict(row._mapping) for row in rows]

    def update_web_user(self, user_id: int, **values) -> None:
        self.conn.execute(update(t.web_users).where(t.web_users.c.id == user_id).values(**values))

    # -- audit log -----------------------------------------------------------------------------

    def insert_audit(self, values: dict) -> None:
        detail = values.get("detail")
        row = dict(values, detail=json.dumps(detail, default=str) if detail is not None else None)
        self.conn.execute(insert(t.audit_log).values(**row))

    def audit_entries(
        self, limit: int, subject: str | None = None, before_id: int | None = None
    ) -> list[dict]:
        a = t.audit_log
        query = select(a).order_by(a.c.id.desc()).limit(limit)
        if before_id is not None:
            query = query.where(a.c.id < before_id)
        if subject:
            query = query.where(a.c.subject.in_(self._with_lines(subject)))
        return [_audit(row) for row in self.conn.execute(query)]

    def _with_lines(self, subject: str) -> list[str]:
        """ "order 7" also means its lines ("line 12"): their cancels and overrides are part
        of the order's history."""
        number = subject.removeprefix("order ")
        if number == subject or not number.isascii() or not number.isdigit():
            return [subject]
        ol = t.order_lines
        ids = self.conn.execute(select(ol.c.id).where(ol.c.order_id == int(number))).scalars()
        return [subject, *(f"line {line_id}" for line_id in ids)]

    # -- operator actions ----------------------------------------------------------------------

    def line_facts(self, line_id: int) -> dict | None:
        ol = t.order_lines
        row = self.conn.execute(
            select(
                ol.c.id,
                ol.c.order_id,
                ol.c.sku,
                ol.c.backordered,
                ol.c.allocated,
                ol.c.priority_override,
            ).where(ol.c.id == line_id)
        ).first()
        return dict(row._mapping) if row else None

    def set_priority_override(self, line_id: int, override: int) -> None:
        ol = t.order_lines
        self.conn.execute(update(ol).where(ol.c.id == line_id).values(priority_override=override))

    def set_order_fulfilment(self, order_id: int, fulfilment: str) -> None:
        o = t.orders
        self.conn.execute(update(o).where(o.c.id == order_id).values(fulfilment=fulfilment))

    # -- the queue and the dashboard -------------------------------------------------------------

    def waiting_line_rows(self, sku: str | None = None) -> list[dict]:
        """Every waiting line with its order, customer and promise: one row per line."""
        query = _WAITING_ROWS.where(t.order_lines.c.sku == sku) if sku else _WAITING_ROWS
        return [dict(row._mapping) for row in self.conn.execute(query)]

    def product_names(self, skus: Iterable[str]) -> dict[str, str]:
        p = t.products
        rows = self.conn.execute(select(p.c.sku, p.c.name).where(p.c.sku.in_(sorted(set(skus)))))
        return {row.sku: row.name for row in rows}

    def search_products(self, text: str, limit: int) -> list[dict]:
        p = t.products
        pattern = f"%{text.lower()}%"
        query = (
            select(p.c.sku, p.c.name)
            .where(or_(func.lower(p.c.sku).like(pattern), func.lower(p.c.name).like(pattern)))
            .order_by(p.c.sku)
            .limit(limit)
        )
        return [dict(row._mapping) for row in self.conn.execute(query)]

    def events_between(
        self, kinds: Iterable[str], start: datetime, end: datetime, limit: int | None = None
    ) -> list[EventView]:
        e = t.events
        query = (
            select(e)
            .where(e.c.kind.in_(list(kinds)), e.c.created_at >= start, e.c.created_at < end)
            .order_by(e.c.id.desc() if limit else e.c.id)
        )
        if limit:
            query = query.limit(limit)
        return [
            EventView(r.id, r.kind, r.order_id, r.sku, json.loads(r.payload), r.created_at)
            for r in self.conn.execute(query)
        ]

    def has_table(self, name: str) -> bool:
        """Other features add tables of their own; a page shows them only where they exist."""
        return inspect(self.conn).has_table(name)

    def dead_deliveries(self, limit: int) -> list[dict]:
        if not self.has_table("deliveries"):
            return []
        d = t.deliveries
        query = (
            select(
                d.c.id,
                d.c.order_id,
                d.c.kind,
                d.c.channel,
                d.c.attempts,
                d.c.last_error,
                d.c.created_at,
            )
            .where(d.c.status == "dead")
            .order_by(d.c.id.desc())
            .limit(limit)
        )
        return [dict(row._mapping) for row in self.conn.execute(query)]

    # -- reports ---------------------------------------------------------------------------------

    def fulfilled_backorder_rows(self, start: datetime, end: datetime) -> list[dict]:
        """Lines served from the queue that wait no more, fully allocated between start and end:
        when they were ordered, when their last unit came, and their first promised date."""
        al, ol, o = t.allocation_log, t.order_lines, t.orders
        fulfilled_at = func.max(al.c.created_at)
        from_queue = func.sum(case((al.c.cause.in_(("order", "order_edit")), 0), else_=1))
        query = (
            select(
                ol.c.id.label("line_id"),
                ol.c.order_id,
                ol.c.sku,
                ol.c.first_promised_date,
                o.c.placed_at,
                fulfilled_at.label("fulfilled_at"),
            )
            .join(o, o.c.id == ol.c.order_id)
            .join(al, al.c.line_id == ol.c.id)
            .where(ol.c.backordered == 0, ol.c.allocated + ol.c.shipped > 0, al.c.qty > 0)
            .group_by(ol.c.id, ol.c.order_id, ol.c.sku, ol.c.first_promised_date, o.c.placed_at)
            .having(and_(from_queue > 0, fulfilled_at >= start, fulfilled_at < end))
            .order_by(ol.c.id)
        )
        return [dict(row._mapping) for row in self.conn.execute(query)]

    def overdue_waiting_lines(self, today: date) -> int:
        """Lines still waiting after their first promised date."""
        ol = t.order_lines
        query = select(func.count()).where(
            ol.c.backordered > 0,
            ol.c.first_promised_date.is_not(None),
            ol.c.first_promised_date < today,
        )
        return int(self.conn.execute(query).scalar_one())


def _audit(row) -> dict:
    entry = dict(row._mapping)
    entry["detail"] = json.loads(entry["detail"]) if entry["detail"] else None
    return entry


_ORDER_LINES = t.order_lines.alias("order_line")
_ORDER_ALLOCATED = (  # what the whole order holds: a ship-complete order keeps it while it waits
    select(func.coalesce(func.sum(_ORDER_LINES.c.allocated), 0))
    .where(_ORDER_LINES.c.order_id == t.order_lines.c.order_id)
    .scalar_subquery()
)
_WAITING_ROWS = (
    select(
        t.order_lines.c.id.label("line_id"),
        t.order_lines.c.order_id,
        t.order_lines.c.sku,
        t.order_lines.c.qty,
        t.order_lines.c.allocated,
        t.order_lines.c.backordered,
        t.order_lines.c.unit_price_minor,
        t.order_lines.c.promised_date,
        t.order_lines.c.promise_basis,
        t.order_lines.c.first_promised_date,
        t.order_lines.c.promise_changes,
        t.order_lines.c.priority_override,
        t.orders.c.placed_at,
        t.orders.c.requested_date,
        t.orders.c.paid_priority,
        t.orders.c.fulfilment,
        t.orders.c.currency,
        t.customers.c.id.label("customer_id"),
        t.customers.c.name.label("customer_name"),
        t.customers.c.tier,
        _ORDER_ALLOCATED.label("order_allocated"),
    )
    .join(t.orders, t.orders.c.id == t.order_lines.c.order_id)
    .join(t.customers, t.customers.c.id == t.orders.c.customer_id)
    .where(t.order_lines.c.backordered > 0)
    .order_by(t.order_lines.c.sku, t.order_lines.c.id)
)
