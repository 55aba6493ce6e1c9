"""Rows of customer care (issue 8, part B): waitlist and holds, auto-cancel warnings, delay
consent, feedback, and the link-signing secret. Mixed into SqlStore; uses its connection.

Holds change stock.allocated through the store's own `change_stock`, under the SKU lock the
caller holds; every status change is a conditional UPDATE, so a repeated or concurrent
change happens once.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import Connection, Engine, exists, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite

from ...domain.waitlist import HoldPlan, Subscriber
from ...service.care import CarePolicy, ConsentView, FeedbackView, HoldView, SubscriptionView
from . import raw
from . import tables as t

# The care policy rides on the engine's execution options: every connection (and so every
# store) of an App sees the settings it was built with, with no global state.
CARE_POLICY_OPTION = "backorder_care_policy"
OPEN_SUBSCRIPTION = ("waiting", "held")


def attach_care_policy(engine: Engine, policy: CarePolicy) -> None:
    engine.update_execution_options(**{CARE_POLICY_OPTION: policy})


class WaitlistQueries:
    conn: Connection

    def care_policy(self) -> CarePolicy:
        return self.conn.get_execution_options().get(CARE_POLICY_OPTION) or CarePolicy()

    # -- the link-signing secret --------------------------------------------------------------

    def get_app_secret(self, name: str) -> str | None:
        s = t.app_secrets
        return self.conn.execute(select(s.c.value).where(s.c.name == name)).scalar()

    def put_app_secret_once(self, name: str, value: str, now: datetime) -> str:
        """Store `value` unless a secret of that name exists; return the stored one."""
        dialect = postgresql if self.conn.dialect.name == "postgresql" else sqlite
        self.conn.execute(
            dialect.insert(t.app_secrets)
            .values(name=name, value=value, created_at=now)
            .on_conflict_do_nothing(index_elements=["name"])
        )
        return self.get_app_secret(name)

    # -- products: the longest wait ----------------------------------------------------------

    def max_wait_days(self, sku: str) -> int | None:
        p = t.products
        return self.conn.execute(select(p.c.max_wait_days).where(p.c.sku == sku)).scalar()

    def set_max_wait_days(self, sku: str, days: int | None) -> None:
        p = t.products
        self.conn.execute(update(p).where(p.c.sku == sku).values(max_wait_days=days))

    # -- subscriptions ------------------------------------------------------------------------

    def insert_subscription(self, sku: str, customer_id: int, now: datetime) -> int:
        values = {"sku": sku, "customer_id": customer_id, "status": "waiting", "subscribed_at": now}
        result = self.conn.execute(insert(t.waitlist_subscriptions).values(**values))
        return result.inserted_primary_key[0]

    def open_subscription(self, customer_id: int, sku: str) -> SubscriptionView | None:
        w = t.waitlist_subscriptions
        row = self.conn.execute(
            select(w).where(
                w.c.customer_id == customer_id, w.c.sku == sku, w.c.status.in_(OPEN_SUBSCRIPTION)
            )
        ).first()
        return self._subscription(row) if row else None

    def get_subscription(self, subscription_id: int) -> SubscriptionView | None:
        w = t.waitlist_subscriptions
        row = self.conn.execute(select(w).where(w.c.id == subscription_id)).first()
        return self._subscription(row) if row else None

    def list_subscriptions(self, sku: str, open_only: bool = True) -> list[SubscriptionView]:
        w = t.waitlist_subscriptions
        query = select(w).where(w.c.sku == sku).order_by(w.c.subscribed_at, w.c.id)
        if open_only:
            query = query.where(w.c.status.in_(OPEN_SUBSCRIPTION))
        return [self._subscription(row) for row in self.conn.execute(query)]

    def waiting_subscribers(self, sku: str, limit: int) -> list[Subscriber]:
        """The first `limit` subscribers still waiting for a hold, in serving order."""
        w = t.waitlist_subscriptions
        query = (
            select(w.c.id, w.c.customer_id, w.c.subscribed_at)
            .where(w.c.sku == sku, w.c.status == "waiting")
            .order_by(w.c.subscribed_at, w.c.id)
            .limit(limit)
        )
        return [Subscriber(r.id, r.customer_id, r.subscribed_at) for r in self.conn.execute(query)]

    def set_subscription_status(
        self, subscription_id: int, status: str, now: datetime, *, from_status: Sequence[str]
    ) -> bool:
        """Move a subscription on from one of `from_status`; False when it had moved already."""
        w = t.waitlist_subscriptions
        closed = now if status not in OPEN_SUBSCRIPTION else None
        result = self.conn.execute(
            update(w)
            .where(w.c.id == subscription_id, w.c.status.in_(list(from_status)))
            .values(status=status, closed_at=closed)
        )
        return result.rowcount == 1

    def has_waiting_subscribers(self, sku: str) -> bool:
        w = t.waitlist_subscriptions
        query = select(w.c.id).where(w.c.sku == sku, w.c.status == "waiting").limit(1)
        return self.conn.execute(query).first() is not None

    def open_subscriptions_of(
        self, customer_id: int, skus: Iterable[str]
    ) -> tuple[list[HoldView], list[int]]:
        """A customer's active holds, and ids of their subscriptions still waiting, for SKUs."""
        wanted = sorted(set(skus))
        holds, waiting = [], []
        if not wanted:
            return holds, waiting
        # every order asks (usually to hear "none"): on the driver's cursor
        sql = _OPEN_SUBSCRIPTIONS_OF.format(marks=raw.marks(wanted))
        utc = raw.utc_value(self.conn)
        for sid, status, *hold in raw.fetchall(self.conn, sql, [customer_id, *wanted]):
            if status == "waiting":
                waiting.append(sid)
            elif hold[0] is not None:
                created, expires, closed = (utc(v) for v in hold[7:10])
                holds.append(HoldView(*hold[:7], created, expires, closed, hold[10]))
        return holds, waiting

    def skus_to_offer(self) -> list[str]:
        """SKUs with free stock somewhere and a subscriber still waiting."""
        w, s = t.waitlist_subscriptions, t.stock
        free = exists().where(s.c.sku == w.c.sku, s.c.on_hand > s.c.allocated)
        query = select(w.c.sku).where(w.c.status == "waiting", free).distinct().order_by(w.c.sku)
        return list(self.conn.execute(query).scalars())

    def _subscription(self, row) -> SubscriptionView:
        h = t.stock_holds
        hold = self.conn.execute(
            select(h).where(h.c.subscription_id == row.id).order_by(h.c.id.desc()).limit(1)
        ).first()
        latest = HoldView(**hold._mapping) if hold else None
        return SubscriptionView(
            row.id, row.sku, row.customer_id, row.status, row.subscribed_at, row.closed_at, latest
        )

    # -- holds --------------------------------------------------------------------------------

    def insert_hold(self, sku: str, plan: HoldPlan, now: datetime) -> int:
        values = {
            "subscription_id": plan.subscription_id,
            "customer_id": plan.customer_id,
            "sku": sku,
            "warehouse": plan.warehouse,
            "qty": plan.qty,
            "status": "active",
            "created_at": now,
            "expires_at": plan.expires_at,
        }
        return self.conn.execute(insert(t.stock_holds).values(**values)).inserted_primary_key[0]

    def close_hold(self, hold_id: int, status: str, now: datetime) -> bool:
        """End an active hold; False when it had ended already."""
        h = t.stock_holds
        result = self.conn.execute(
            update(h)
            .where(h.c.id == hold_id, h.c.status == "active")
            .values(status=status, closed_at=now)
        )
        return result.rowcount == 1

    def set_hold_order(self, hold_ids: Sequence[int], order_id: int) -> None:
        if hold_ids:
            h = t.stock_holds
            self.conn.execute(update(h).where(h.c.id.in_(list(hold_ids))).values(order_id=order_id))

    def active_holds_at(self, sku: str, warehouse: str) -> list[HoldView]:
        h = t.stock_holds
        return self._holds(h.c.sku == sku, h.c.warehouse == warehouse)

    def due_holds(self, now: datetime) -> list[HoldView]:
        return self._holds(t.stock_holds.c.expires_at <= now)

    def holds(self, sku: str | None = None) -> list[HoldView]:
        h = t.stock_holds
        return self._holds(*([h.c.sku == sku] if sku else []))

    def _holds(self, *conditions) -> list[HoldView]:
        h = t.stock_holds
        query = select(h).where(h.c.status == "active", *conditions).order_by(h.c.id)
        return [HoldView(**row._mapping) for row in self.conn.execute(query)]

    # -- auto-cancel --------------------------------------------------------------------------

    def shortest_max_wait_days(self) -> int | None:
        return self.conn.execute(select(func.min(t.products.c.max_wait_days))).scalar()

    def lines_with_max_wait(self, shop_wide: bool, placed_before: datetime) -> list:
        """Waiting lines ordered by `placed_before` whose SKU has a longest wait (its own, or
        the shop's when `shop_wide`), with the order and release times and any warning sent."""
        ol, o, p, w = t.order_lines, t.orders, t.products, t.auto_cancel_warnings
        query = (
            select(
                ol.c.id.label("line_id"),
                ol.c.order_id,
                ol.c.sku,
                ol.c.backordered,
                o.c.customer_id,
                o.c.placed_at,
                p.c.release_at,
                p.c.max_wait_days,
                w.c.cancel_at.label("warned_cancel_at"),
            )
            .join(o, o.c.id == ol.c.order_id)
            .join(p, p.c.sku == ol.c.sku)
            .outerjoin(w, w.c.line_id == ol.c.id)
            .where(ol.c.backordered > 0, o.c.placed_at <= placed_before)
            .order_by(ol.c.id)
        )
        if not shop_wide:
            query = query.where(p.c.max_wait_days.is_not(None))
        return list(self.conn.execute(query))

    def insert_auto_cancel_warning(self, line_id: int, cancel_at: datetime, now: datetime) -> None:
        self.conn.execute(
            insert(t.auto_cancel_warnings),
            {"line_id": line_id, "cancel_at": cancel_at, "created_at": now},
        )

    # -- delay consent ------------------------------------------------------------------------

    def insert_consents(self, rows: list[dict]) -> list[int]:
        """Insert the requests (a PO slip can ask thousands); their ids in the order given,
        found again by each request's random nonce among its line's requests."""
        if not rows:
            return []
        utc, day = raw.utc_param(self.conn), raw.date_param(self.conn)
        params = [
            (
                r["order_id"],
                r["line_id"],
                r["sku"],
                day(r["first_promised_date"]),
                day(r["reference_date"]),
                day(r["promised_date"]),
                r["status"],
                r["nonce"],
                utc(r["created_at"]),
                utc(r["deadline"]),
            )
            for r in rows
        ]
        raw.executemany(self.conn, _INSERT_CONSENT, params)
        line_ids = sorted({r["line_id"] for r in rows})
        marks = raw.marks(line_ids)
        ids = dict(
            raw.fetchall(
                self.conn,
                f"SELECT nonce, id FROM delay_consents WHERE line_id IN ({marks})",
                line_ids,
            )
        )
        return [ids[r["nonce"]] for r in rows]

    def get_consent(self, consent_id: int) -> ConsentView | None:
        d = t.delay_consents
        row = self.conn.execute(select(d).where(d.c.id == consent_id)).first()
        return ConsentView(**row._mapping) if row else None

    def latest_consents(self, line_ids: Iterable[int]) -> dict[int, ConsentView]:
        d = t.delay_consents
        newest = (
            select(func.max(d.c.id)).where(d.c.line_id.in_(list(line_ids))).group_by(d.c.line_id)
        )
        rows = self.conn.execute(select(d).where(d.c.id.in_(newest)))
        return {row.line_id: ConsentView(**row._mapping) for row in rows}

    def consents_of_order(self, order_id: int) -> list[ConsentView]:
        d = t.delay_consents
        rows = self.conn.execute(select(d).where(d.c.order_id == order_id).order_by(d.c.id))
        return [ConsentView(**row._mapping) for row in rows]

    def close_consents(self, consent_ids: list[int], status: str, now: datetime) -> None:
        if consent_ids:
            d = t.delay_consents
            self.conn.execute(
                update(d)
                .where(d.c.id.in_(consent_ids), d.c.status == "open")
                .values(status=status, answered_at=now)
            )

    def close_consent(
        self,
        consent_id: int,
        status: str,
        now: datetime,
        answer: str | None = None,
        answered_by: str | None = None,
    ) -> bool:
        """Close an open request; False when it was closed already (single use)."""
        d = t.delay_consents
        result = self.conn.execute(
            update(d)
            .where(d.c.id == consent_id, d.c.status == "open")
            .values(status=status, answer=answer, answered_by=answered_by, answered_at=now)
        )
        return result.rowcount == 1

    def due_consents(self, now: datetime) -> list[ConsentView]:
        d = t.delay_consents
        query = select(d).where(d.c.status == "open", d.c.deadline <= now).order_by(d.c.id)
        return [ConsentView(**row._mapping) for row in self.conn.execute(query)]

    def undated_lines_waiting_since(self, placed_before: datetime) -> list:
        """Waiting lines never given a date, ordered before a time, never asked about."""
        ol, o, d = t.order_lines, t.orders, t.delay_consents
        asked = exists().where(d.c.line_id == ol.c.id)
        query = (
            select(ol.c.id.label("line_id"), ol.c.order_id, ol.c.sku, o.c.placed_at)
            .join(o, o.c.id == ol.c.order_id)
            .where(
                ol.c.backordered > 0,
                ol.c.promised_date.is_(None),
                ol.c.first_promised_date.is_(None),
                o.c.placed_at <= placed_before,
                ~asked,
            )
            .order_by(ol.c.id)
        )
        return list(self.conn.execute(query))

    def declined_lines_still_open(self) -> list[ConsentView]:
        """Answers of "cancel this line" whose line still holds or waits for units."""
        d, ol = t.delay_consents, t.order_lines
        query = (
            select(d)
            .join(ol, ol.c.id == d.c.line_id)
            .where(d.c.answer == "cancel_line", ol.c.allocated + ol.c.backordered > 0)
            .order_by(d.c.id)
        )
        return [ConsentView(**row._mapping) for row in self.conn.execute(query)]

    # -- feedback -----------------------------------------------------------------------------

    def insert_feedback(self, values: dict) -> int:
        return self.conn.execute(insert(t.feedback).values(**values)).inserted_primary_key[0]

    def get_feedback(self, feedback_id: int) -> FeedbackView | None:
        f = t.feedback
        row = self.conn.execute(select(f).where(f.c.id == feedback_id)).first()
        return FeedbackView(**row._mapping) if row else None

    def feedback_of_order(self, order_id: int) -> FeedbackView | None:
        f = t.feedback
        row = self.conn.execute(select(f).where(f.c.order_id == order_id)).first()
        return FeedbackView(**row._mapping) if row else None

    def answer_feedback(
        self, feedback_id: int, rating: int, comment: str | None, now: datetime
    ) -> bool:
        """Store the answer unless one was stored already (single use)."""
        f = t.feedback
        result = self.conn.execute(
            update(f)
            .where(f.c.id == feedback_id, f.c.answered_at.is_(None))
            .values(rating=rating, comment=comment, answered_at=now)
        )
        return result.rowcount == 1

    def answered_feedback(self) -> list[FeedbackView]:
        f = t.feedback
        query = select(f).where(f.c.rating.is_not(None)).order_by(f.c.id)
        return [FeedbackView(**row._mapping) for row in self.conn.execute(query)]

    def feedback_requested_count(self) -> int:
        return int(self.conn.execute(select(func.count()).select_from(t.feedback)).scalar_one())

    def count_order_events(self, order_id: int, kind: str) -> int:
        e = t.events
        query = select(func.count()).where(e.c.order_id == order_id, e.c.kind == kind)
        return int(self.conn.execute(query).scalar_one())


_INSERT_CONSENT = (
    "INSERT INTO delay_consents (order_id, line_id, sku, first_promised_date, reference_date, "
    "promised_date, status, nonce, created_at, deadline) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


# The subscription, then stock_holds' columns in HoldView's order.
_OPEN_SUBSCRIPTIONS_OF = (
    "SELECT w.id, w.status, h.id, h.subscription_id, h.customer_id, h.sku, h.warehouse, h.qty, "
    "h.status, h.created_at, h.expires_at, h.closed_at, h.order_id "
    "FROM waitlist_subscriptions w LEFT JOIN stock_holds h "
    "ON h.subscription_id = w.id AND h.status = 'active' "
    "WHERE w.customer_id = ? AND w.sku IN ({marks}) AND w.status IN ('waiting', 'held') "
    "ORDER BY w.id"
)
