"""Tables (SQLAlchemy Core). CHECK constraints are the backstop of the invariants."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator):
    """Stored as naive UTC, returned as aware UTC (invariant 9)."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; pass an aware UTC datetime")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if isinstance(value, str):
            value = datetime.fromisoformat(value)
        return value.replace(tzinfo=UTC)


NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
metadata = MetaData(naming_convention=NAMING)

SKU = String(100)

products = Table(
    "products",
    metadata,
    Column("sku", SKU, primary_key=True),
    Column("name", String(300), nullable=False),
    Column("price_minor", BigInteger, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("backorder_policy", String(20), nullable=False),
    Column("backorder_limit", Integer, nullable=True),
    Column("release_at", UTCDateTime, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("lead_time_days", Integer, nullable=True),
    Column("safety_stock", BigInteger, nullable=False, server_default="0"),
    Column("preferred_supplier_id", Integer, nullable=True),
    CheckConstraint("backorder_policy IN ('deny','allow','allow_notify')", name="policy"),
    CheckConstraint("backorder_limit IS NULL OR backorder_limit >= 0", name="limit"),
    CheckConstraint("price_minor >= 0", name="price"),
)

warehouses = Table(
    "warehouses",
    metadata,
    Column("code", String(50), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("rank", Integer, nullable=False, default=0),
)

stock = Table(
    "stock",
    metadata,
    Column("sku", SKU, ForeignKey("products.sku"), nullable=False),
    Column("warehouse", String(50), ForeignKey("warehouses.code"), nullable=False),
    Column("on_hand", BigInteger, nullable=False),
    Column("allocated", BigInteger, nullable=False),
    PrimaryKeyConstraint("sku", "warehouse"),
    CheckConstraint("allocated >= 0", name="allocated_nonneg"),
    CheckConstraint("allocated <= on_hand", name="allocated_within_on_hand"),
)

ledger = Table(
    "ledger",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("sku", SKU, nullable=False),
    Column("warehouse", String(50), nullable=False),
    Column("delta", BigInteger, nullable=False),
    Column("on_hand_after", BigInteger, nullable=False),
    Column("reason", String(30), nullable=False),
    Column("reference", String(200), nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    CheckConstraint("on_hand_after >= 0", name="on_hand_nonneg"),
    Index("ix_ledger_sku_warehouse", "sku", "warehouse"),
)

customers = Table(
    "customers",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("external_id", String(200), nullable=True, unique=True),
    Column("name", String(300), nullable=False),
    Column("email", String(320), nullable=True),
    Column("tier", String(20), nullable=False),
    Column("default_fulfilment", String(20), nullable=False),
    Column("locale", String(10), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    CheckConstraint("tier IN ('standard','priority','critical')", name="tier"),
)

orders = Table(
    "orders",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("external_ref", String(200), nullable=True, unique=True),
    Column("customer_id", Integer, ForeignKey("customers.id"), nullable=False),
    Column("fulfilment", String(20), nullable=False),
    Column("paid_priority", String(20), nullable=False),
    Column("requested_date", UTCDateTime, nullable=True),
    Column("placed_at", UTCDateTime, nullable=False),
    Column("channel", String(50), nullable=False),
    Column("currency", String(3), nullable=False),
    CheckConstraint(
        "fulfilment IN ('ship_partial','ship_complete','cancel_remainder')", name="fulfilment"
    ),
    CheckConstraint("paid_priority IN ('normal','expedited')", name="paid_priority"),
    Index("ix_orders_customer", "customer_id"),
)

order_lines = Table(
    "order_lines",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("order_id", Integer, ForeignKey("orders.id"), nullable=False),
    Column("line_no", Integer, nullable=False),
    Column("sku", SKU, ForeignKey("products.sku"), nullable=False),
    Column("qty", BigInteger, nullable=False),
    Column("allocated", BigInteger, nullable=False),
    Column("backordered", BigInteger, nullable=False),
    Column("shipped", BigInteger, nullable=False),
    Column("cancelled", BigInteger, nullable=False),
    Column("unit_price_minor", BigInteger, nullable=False),
    # The promise of an open backorder line (issue 7): a shop-local date and what it rests on.
    Column("promised_date", Date, nullable=True),
    Column("promise_basis", String(20), nullable=True),
    Column("promise_po_line_id", Integer, nullable=True),
    Column("first_promised_date", Date, nullable=True),
    Column("promise_changes", Integer, nullable=False, server_default="0"),
    CheckConstraint(
        "allocated >= 0 AND backordered >= 0 AND shipped >= 0 AND cancelled >= 0",
        name="parts_nonneg",
    ),
    CheckConstraint("qty = allocated + backordered + shipped + cancelled", name="parts_sum"),
    UniqueConstraint("order_id", "line_no", name="uq_order_lines_order_line_no"),
    Index(
        "ix_order_lines_waiting",
        "sku",
        sqlite_where=text("backordered > 0"),
        postgresql_where=text("backordered > 0"),
    ),
)

line_allocations = Table(
    "line_allocations",
    metadata,
    Column("line_id", Integer, ForeignKey("order_lines.id"), nullable=False),
    Column("warehouse", String(50), ForeignKey("warehouses.code"), nullable=False),
    Column("sku", SKU, nullable=False),
    Column("qty", BigInteger, nullable=False),
    PrimaryKeyConstraint("line_id", "warehouse"),
    CheckConstraint("qty >= 0", name="qty_nonneg"),
    Index("ix_line_allocations_sku_warehouse", "sku", "warehouse"),
)

allocation_log = Table(
    "allocation_log",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("sku", SKU, nullable=False),
    Column("warehouse", String(50), nullable=False),
    Column("line_id", Integer, nullable=False),
    Column("order_id", Integer, nullable=False),
    Column("qty", BigInteger, nullable=False),
    Column("cause", String(30), nullable=False),
    Column("reference", String(200), nullable=True),
    Column("priority_key", String(300), nullable=True),
    Column("reason", Text, nullable=False),
    Column("ahead_of_line_id", Integer, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Index("ix_allocation_log_sku", "sku"),
    Index("ix_allocation_log_order", "order_id"),
)

events = Table(
    "events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("kind", String(50), nullable=False),
    Column("order_id", Integer, nullable=True),
    Column("sku", SKU, nullable=True),
    Column("payload", Text, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("dispatched_at", UTCDateTime, nullable=True),
    Index("ix_events_order", "order_id"),
)

command_keys = Table(
    "command_keys",
    metadata,
    Column("key", String(250), primary_key=True),
    Column("command", String(50), nullable=False),
    Column("result", Text, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)

shipments = Table(
    "shipments",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("order_id", Integer, ForeignKey("orders.id"), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Index("ix_shipments_order", "order_id"),
)

shipment_lines = Table(
    "shipment_lines",
    metadata,
    Column("shipment_id", Integer, ForeignKey("shipments.id"), nullable=False),
    Column("line_id", Integer, ForeignKey("order_lines.id"), nullable=False),
    Column("warehouse", String(50), nullable=False),
    Column("qty", BigInteger, nullable=False),
    PrimaryKeyConstraint("shipment_id", "line_id", "warehouse"),
    CheckConstraint("qty > 0", name="qty_pos"),
)


suppliers = Table(
    "suppliers",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(200), nullable=False, unique=True),
    Column("contact", String(300), nullable=True),
    Column("email", String(320), nullable=True),
    Column("lead_time_days", Integer, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    CheckConstraint("lead_time_days >= 0", name="lead_time"),
)

supplier_products = Table(
    "supplier_products",
    metadata,
    Column("supplier_id", Integer, ForeignKey("suppliers.id"), nullable=False),
    Column("sku", SKU, ForeignKey("products.sku"), nullable=False),
    Column("pack_size", Integer, nullable=False, server_default="1"),
    Column("min_order", Integer, nullable=False, server_default="1"),
    Column("unit_cost_minor", BigInteger, nullable=True),
    PrimaryKeyConstraint("supplier_id", "sku"),
    CheckConstraint("pack_size >= 1 AND min_order >= 1", name="pack"),
)

purchase_orders = Table(
    "purchase_orders",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("supplier_id", Integer, ForeignKey("suppliers.id"), nullable=False),
    Column("warehouse", String(50), ForeignKey("warehouses.code"), nullable=False),
    Column("status", String(20), nullable=False),
    Column("reference", String(200), nullable=True, unique=True),
    Column("currency", String(3), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("sent_at", UTCDateTime, nullable=True),
    CheckConstraint(
        "status IN ('draft','sent','partially_received','received','cancelled')", name="status"
    ),
)

po_lines = Table(
    "po_lines",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("po_id", Integer, ForeignKey("purchase_orders.id"), nullable=False),
    Column("sku", SKU, ForeignKey("products.sku"), nullable=False),
    Column("qty", BigInteger, nullable=False),
    Column("received", BigInteger, nullable=False, server_default="0"),
    Column("cancelled", BigInteger, nullable=False, server_default="0"),
    Column("unit_cost_minor", BigInteger, nullable=False, server_default="0"),
    Column("expected_date", Date, nullable=False),  # shop-local date, never shifted
    Column("first_expected_date", Date, nullable=False),
    Column("last_received_date", Date, nullable=True),
    CheckConstraint("qty > 0 AND received >= 0 AND cancelled >= 0", name="qty"),
    Index("ix_po_lines_sku", "sku"),
)

receipts = Table(
    "receipts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("sku", SKU, nullable=False),
    Column("warehouse", String(50), nullable=False),
    Column("qty", BigInteger, nullable=False),
    Column("po_line_id", Integer, ForeignKey("po_lines.id"), nullable=True),
    Column("reference", String(200), nullable=True),
    Column("received_at", UTCDateTime, nullable=False),
    Column("reversed", BigInteger, nullable=False, server_default="0"),
    CheckConstraint("qty > 0 AND reversed >= 0 AND reversed <= qty", name="qty"),
    Index("ix_receipts_po_line", "po_line_id"),
)

# Inventory snapshots with forecasts and sales history (issue 7, item 7), one row per SKU and
# snapshot date. `went_on_backorder` is the label of a public dataset: kept for evaluating the
# risk ranking, never read by it. NULL means unknown (the file's `NA`, or -99 for perf).
sku_snapshots = Table(
    "sku_snapshots",
    metadata,
    Column("sku", SKU, ForeignKey("products.sku"), nullable=False),
    Column("snapshot_date", Date, nullable=False),
    Column("national_inv", BigInteger, nullable=False),
    Column("in_transit_qty", BigInteger, nullable=False),
    Column("lead_time_weeks", Integer, nullable=True),
    Column("forecast_3_month", BigInteger, nullable=False),
    Column("forecast_6_month", BigInteger, nullable=False),
    Column("forecast_9_month", BigInteger, nullable=False),
    Column("sales_1_month", BigInteger, nullable=False),
    Column("sales_3_month", BigInteger, nullable=False),
    Column("sales_6_month", BigInteger, nullable=False),
    Column("sales_9_month", BigInteger, nullable=False),
    Column("min_bank", BigInteger, nullable=False),
    Column("pieces_past_due", BigInteger, nullable=False),
    Column("local_bo_qty", BigInteger, nullable=False),
    Column("perf_6_month_avg", Float, nullable=True),
    Column("perf_12_month_avg", Float, nullable=True),
    Column("potential_issue", Boolean, nullable=False),
    Column("deck_risk", Boolean, nullable=False),
    Column("oe_constraint", Boolean, nullable=False),
    Column("ppap_risk", Boolean, nullable=False),
    Column("stop_auto_buy", Boolean, nullable=False),
    Column("rev_stop", Boolean, nullable=False),
    Column("went_on_backorder", Boolean, nullable=True),
    Column("imported_at", UTCDateTime, nullable=False),
    PrimaryKeyConstraint("sku", "snapshot_date"),
    CheckConstraint(
        "in_transit_qty >= 0 AND forecast_3_month >= 0 AND forecast_6_month >= 0 "
        "AND forecast_9_month >= 0 AND sales_1_month >= 0 AND sales_3_month >= 0 "
        "AND sales_6_month >= 0 AND sales_9_month >= 0 AND min_bank >= 0 "
        "AND pieces_past_due >= 0 AND local_bo_qty >= 0",
        name="quantities_nonneg",
    ),
    CheckConstraint("lead_time_weeks IS NULL OR lead_time_weeks >= 0", name="lead_time"),
)


# -- notifications (issue 8): endpoints, opt-outs, and the delivery log fanned out of events --

# New events are found through this index until the planner marks them dispatched.
Index(
    "ix_events_undispatched",
    events.c.id,
    sqlite_where=text("dispatched_at IS NULL"),
    postgresql_where=text("dispatched_at IS NULL"),
)

webhook_endpoints = Table(
    "webhook_endpoints",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("url", String(2000), nullable=False),
    Column("secret", String(200), nullable=False),
    Column("event_kinds", Text, nullable=False),  # JSON list of kinds; [] means every kind
    Column("description", String(300), nullable=True),
    Column("active", Boolean, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)

notification_optouts = Table(
    "notification_optouts",
    metadata,
    Column("customer_id", Integer, ForeignKey("customers.id"), nullable=False),
    Column("channel", String(20), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    PrimaryKeyConstraint("customer_id", "channel"),
)

# One row per (event, channel, recipient): the outbox's fan-out and its delivery log.
deliveries = Table(
    "deliveries",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("event_id", Integer, ForeignKey("events.id"), nullable=False),
    Column("order_id", Integer, nullable=True),
    Column("kind", String(50), nullable=False),
    Column("channel", String(20), nullable=False),
    Column("recipient", String(2000), nullable=False),
    Column("customer_id", Integer, nullable=True),
    Column("endpoint_id", Integer, ForeignKey("webhook_endpoints.id"), nullable=True),
    Column("idempotency_key", String(200), nullable=False, unique=True),
    Column("status", String(10), nullable=False),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("next_attempt_at", UTCDateTime, nullable=False),
    Column("claimed_by", String(100), nullable=True),
    Column("last_error", Text, nullable=True),
    Column("subject", String(500), nullable=True),
    Column("body", Text, nullable=False),
    Column("body_html", Text, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("sent_at", UTCDateTime, nullable=True),
    CheckConstraint("status IN ('pending','sent','failed','dead')", name="status"),
    CheckConstraint("attempts >= 0", name="attempts"),
    Index(
        "ix_deliveries_due",
        "next_attempt_at",
        sqlite_where=text("status IN ('pending','failed')"),
        postgresql_where=text("status IN ('pending','failed')"),
    ),
    Index("ix_deliveries_order", "order_id"),
    Index("ix_deliveries_event", "event_id"),
)


# -- customer care (issue 8, part B): back-in-stock waitlist and holds, auto-cancel warnings,
# delay consent, feedback, and the key that signs customer links ----------------------------

# A product's own longest wait for backordered units, in days; NULL: the shop-wide setting.
products.append_column(Column("max_wait_days", Integer, nullable=True))


def _where(condition: str) -> dict:
    """A partial index's condition, for both databases."""
    return {"sqlite_where": text(condition), "postgresql_where": text(condition)}


waitlist_subscriptions = Table(
    "waitlist_subscriptions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("sku", SKU, ForeignKey("products.sku"), nullable=False),
    Column("customer_id", Integer, ForeignKey("customers.id"), nullable=False),
    # waiting -> held -> ordered | expired; waiting/held -> cancelled (unsubscribed) or
    # ordered (the customer bought the SKU); held -> waiting if its unit had to go back.
    Column("status", String(20), nullable=False),
    Column("subscribed_at", UTCDateTime, nullable=False),
    Column("closed_at", UTCDateTime, nullable=True),
    CheckConstraint("status IN ('waiting','held','ordered','expired','cancelled')", name="status"),
    Index(
        "ix_waitlist_subscriptions_waiting", "sku", "subscribed_at", **_where("status = 'waiting'")
    ),
    # One open subscription per customer and SKU.
    Index(
        "uq_waitlist_subscriptions_open",
        "customer_id",
        "sku",
        unique=True,
        **_where("status IN ('waiting','held')"),
    ),
)

# A held unit is part of stock.allocated while the hold is active (invariant 3 counts it).
stock_holds = Table(
    "stock_holds",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("subscription_id", Integer, ForeignKey("waitlist_subscriptions.id"), nullable=False),
    Column("customer_id", Integer, ForeignKey("customers.id"), nullable=False),
    Column("sku", SKU, ForeignKey("products.sku"), nullable=False),
    Column("warehouse", String(50), ForeignKey("warehouses.code"), nullable=False),
    Column("qty", BigInteger, nullable=False),
    Column("status", String(20), nullable=False),  # active, claimed, expired, released
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Column("closed_at", UTCDateTime, nullable=True),
    Column("order_id", Integer, ForeignKey("orders.id"), nullable=True),  # the order it became
    CheckConstraint("qty > 0", name="qty_pos"),
    CheckConstraint("status IN ('active','claimed','expired','released')", name="status"),
    Index("ix_stock_holds_active", "sku", "warehouse", **_where("status = 'active'")),
    Index("ix_stock_holds_expiry", "expires_at", **_where("status = 'active'")),
    Index("ix_stock_holds_subscription", "subscription_id"),
)

# The once-per-line auto-cancel warning, and the cancel time it told the customer.
auto_cancel_warnings = Table(
    "auto_cancel_warnings",
    metadata,
    Column("line_id", Integer, ForeignKey("order_lines.id"), primary_key=True),
    Column("cancel_at", UTCDateTime, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)

delay_consents = Table(
    "delay_consents",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("order_id", Integer, ForeignKey("orders.id"), nullable=False),
    Column("line_id", Integer, ForeignKey("order_lines.id"), nullable=False),
    Column("sku", SKU, nullable=False),
    Column("first_promised_date", Date, nullable=True),
    Column("reference_date", Date, nullable=True),  # the date this slip went past
    Column("promised_date", Date, nullable=True),  # the new date; NULL: no date known
    # open -> answered (customer or deadline) | superseded (a further slip) | moot
    Column("status", String(20), nullable=False),
    Column("answer", String(20), nullable=True),
    Column("answered_by", String(20), nullable=True),  # customer, deadline
    Column("nonce", String(64), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("deadline", UTCDateTime, nullable=False),
    Column("answered_at", UTCDateTime, nullable=True),
    CheckConstraint("status IN ('open','answered','superseded','moot')", name="status"),
    CheckConstraint("answer IS NULL OR answer IN ('keep_waiting','cancel_line')", name="answer"),
    Index("ix_delay_consents_line", "line_id"),
    Index("ix_delay_consents_order", "order_id"),
    Index("ix_delay_consents_due", "deadline", **_where("status = 'open'")),
)

feedback = Table(
    "feedback",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("order_id", Integer, ForeignKey("orders.id"), nullable=False, unique=True),
    Column("customer_id", Integer, ForeignKey("customers.id"), nullable=False),
    Column("nonce", String(64), nullable=False),
    Column("order_status", String(20), nullable=False),  # shipped or cancelled
    Column("requested_at", UTCDateTime, nullable=False),
    Column("waiting_days", Integer, nullable=False),  # order placed -> last shipment or cancel
    Column("promise_changes", Integer, nullable=False),
    Column("promise_delays", Integer, nullable=False),
    Column("rating", Integer, nullable=True),
    Column("comment", Text, nullable=True),
    Column("answered_at", UTCDateTime, nullable=True),
    CheckConstraint("rating IS NULL OR (rating >= 1 AND rating <= 5)", name="rating"),
    CheckConstraint(
        "waiting_days >= 0 AND promise_changes >= 0 AND promise_delays >= 0", name="counts"
    ),
    Index("ix_feedback_answered", "rating", **_where("rating IS NOT NULL")),
)

app_secrets = Table(
    "app_secrets",
    metadata,
    Column("name", String(50), primary_key=True),
    Column("value", String(200), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)


# -- payments (issue 4): an order's payment terms, the intents (the outbox of money moves),
# and the operations a gateway confirmed (append-only; every amount is summed from these).

order_payments = Table(
    "order_payments",
    metadata,
    Column("order_id", Integer, ForeignKey("orders.id"), primary_key=True),
    Column("gateway", String(50), nullable=False),
    Column("policy", String(20), nullable=False),
    Column("deposit_percent", Integer, nullable=False, server_default="0"),
    Column("currency", String(3), nullable=False),
    Column("method", String(200), nullable=True),  # a payment-method token of the gateway
    Column("required_since", UTCDateTime, nullable=True),  # payment_required since
    Column("grace_until", UTCDateTime, nullable=True),  # its allocated units are kept until
    Column("released_at", UTCDateTime, nullable=True),  # they went back to the queue at
    Column("created_at", UTCDateTime, nullable=False),
    CheckConstraint("policy IN ('on_shipment','on_allocation','deposit')", name="policy"),
    CheckConstraint("deposit_percent >= 0 AND deposit_percent <= 100", name="deposit"),
)

payment_intents = Table(
    "payment_intents",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("order_id", Integer, ForeignKey("orders.id"), nullable=True),
    Column("kind", String(20), nullable=False),
    Column("reason", String(30), nullable=False),
    Column("amount_minor", BigInteger, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("gateway", String(50), nullable=False),
    Column("idempotency_key", String(200), nullable=False, unique=True),
    Column("method", String(200), nullable=True),
    Column("target_ref", String(200), nullable=True),  # the authorization a void releases
    Column("lines", Text, nullable=False),  # JSON [[line id, units], ...] paid or given back
    Column("status", String(10), nullable=False),
    Column("generation", Integer, nullable=False, server_default="0"),  # +1 when unblocked
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("next_attempt_at", UTCDateTime, nullable=False),
    Column("lease_until", UTCDateTime, nullable=True),
    Column("gateway_ref", String(200), nullable=True),
    Column("last_error", Text, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    CheckConstraint("kind IN ('authorize','capture','void','refund')", name="kind"),
    CheckConstraint("status IN ('pending','waiting','blocked','done','failed')", name="status"),
    CheckConstraint("amount_minor >= 0", name="amount"),
    Index("ix_payment_intents_order", "order_id"),
    Index(
        "ix_payment_intents_due",
        "next_attempt_at",
        sqlite_where=text("status IN ('pending','waiting')"),
        postgresql_where=text("status IN ('pending','waiting')"),
    ),
)

payment_operations = Table(
    "payment_operations",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("order_id", Integer, ForeignKey("orders.id"), nullable=True),
    Column("intent_id", Integer, ForeignKey("payment_intents.id"), nullable=True),
    Column("kind", String(20), nullable=False),
    Column("status", String(10), nullable=False),
    Column("amount_minor", BigInteger, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("gateway", String(50), nullable=False),
    # One operation per key, ever: a repeated response or callback cannot record it twice.
    Column("idempotency_key", String(450), nullable=False, unique=True),
    Column("reference", String(200), nullable=True),
    Column("parent_ref", String(200), nullable=True),
    Column("expires_at", UTCDateTime, nullable=True),
    Column("detail", String(300), nullable=True),
    Column("source", String(20), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    CheckConstraint("kind IN ('authorize','capture','void','refund')", name="kind"),
    CheckConstraint("status IN ('succeeded','declined')", name="status"),
    CheckConstraint("amount_minor >= 0", name="amount"),
    Index("ix_payment_operations_order", "order_id"),
)

# -- API keys (issue 6): hashed at rest, shown once, revocable ---------------------------------
api_keys = Table(
    "api_keys",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(100), nullable=False),
    Column("prefix", String(16), nullable=False),  # shown in listings to tell keys apart
    Column("key_hash", String(64), nullable=False, unique=True),  # sha256 of the whole key
    Column("role", String(20), nullable=False),
    Column("customer_id", Integer, ForeignKey("customers.id"), nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("revoked_at", UTCDateTime, nullable=True),
    CheckConstraint("role IN ('admin','operator','integration','viewer','customer')", name="role"),
    CheckConstraint("(role = 'customer') = (customer_id IS NOT NULL)", name="customer_scope"),
)

# -- operator web app (issue 5): people who log in, what they did, and the priority override --

# Lower is served earlier; 0 for every line nobody touched. The FIRST component of the
# priority key (domain.allocation.priority_key), so an operator's decision beats the tier.
order_lines.append_column(Column("priority_override", Integer, nullable=False, server_default="0"))

web_users = Table(
    "web_users",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(100), nullable=False, unique=True),
    Column("password_hash", String(200), nullable=False),  # argon2id, never the password
    Column("role", String(20), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("disabled_at", UTCDateTime, nullable=True),
    CheckConstraint("role IN ('admin','operator','viewer')", name="role"),
)

# Who did what to which subject, when and why: operator actions in the web app and the API.
audit_log = Table(
    "audit_log",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("actor", String(200), nullable=False),
    Column("action", String(50), nullable=False),
    Column("subject", String(200), nullable=False),  # e.g. "line 12", "order 7"
    Column("reason", Text, nullable=False),
    Column("detail", Text, nullable=True),  # JSON: what changed (from, to, units)
    Column("created_at", UTCDateTime, nullable=False),
    Index("ix_audit_log_subject", "subject"),
)
