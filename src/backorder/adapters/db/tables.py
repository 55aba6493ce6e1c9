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
