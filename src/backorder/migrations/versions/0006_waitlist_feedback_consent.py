"""waitlist and holds, auto-cancel warnings, delay consent, feedback, link-signing secret

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03 18:35:48

Issue 8, part B. Active stock_holds are counted in stock.allocated (invariant 3 sums line
allocations and active holds); products gain max_wait_days (NULL: the shop-wide setting).
"""
from alembic import op
import sqlalchemy as sa
import backorder.adapters.db.tables


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('app_secrets',
    sa.Column('name', sa.String(length=50), nullable=False),
    sa.Column('value', sa.String(length=200), nullable=False),
    sa.Column('created_at', backorder.adapters.db.tables.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_app_secrets'))
    )
    op.create_table('waitlist_subscriptions',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('sku', sa.String(length=100), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('subscribed_at', backorder.adapters.db.tables.UTCDateTime(), nullable=False),
    sa.Column('closed_at', backorder.adapters.db.tables.UTCDateTime(), nullable=True),
    sa.CheckConstraint("status IN ('waiting','held','ordered','expired','cancelled')", name=op.f('ck_waitlist_subscriptions_status')),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_waitlist_subscriptions_customer_id_customers')),
    sa.ForeignKeyConstraint(['sku'], ['products.sku'], name=op.f('fk_waitlist_subscriptions_sku_products')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_waitlist_subscriptions'))
    )
    with op.batch_alter_table('waitlist_subscriptions', schema=None) as batch_op:
        batch_op.create_index('ix_waitlist_subscriptions_waiting', ['sku', 'subscribed_at'], unique=False, sqlite_where=sa.text("status = 'waiting'"), postgresql_where=sa.text("status = 'waiting'"))
        batch_op.create_index('uq_waitlist_subscriptions_open', ['customer_id', 'sku'], unique=True, sqlite_where=sa.text("status IN ('waiting','held')"), postgresql_where=sa.text("status IN ('waiting','held')"))

    op.create_table('feedback',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('nonce', sa.String(length=64), nullable=False),
    sa.Column('order_status', sa.String(length=20), nullable=False),
    sa.Column('requested_at', backorder.adapters.db.tables.UTCDateTime(), nullable=False),
    sa.Column('waiting_days', sa.Integer(), nullable=False),
    sa.Column('promise_changes', sa.Integer(), nullable=False),
    sa.Column('promise_delays', sa.Integer(), nullable=False),
    sa.Column('rating', sa.Integer(), nullable=True),
    sa.Column('comment', sa.Text(), nullable=True),
    sa.Column('answered_at', backorder.adapters.db.tables.UTCDateTime(), nullable=True),
    sa.CheckConstraint('rating IS NULL OR (rating >= 1 AND rating <= 5)', name=op.f('ck_feedback_rating')),
    sa.CheckConstraint('waiting_days >= 0 AND promise_changes >= 0 AND promise_delays >= 0', name=op.f('ck_feedback_counts')),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_feedback_customer_id_customers')),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_feedback_order_id_orders')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_feedback')),
    sa.UniqueConstraint('order_id', name=op.f('uq_feedback_order_id'))
    )
    with op.batch_alter_table('feedback', schema=None) as batch_op:
        batch_op.create_index('ix_feedback_answered', ['rating'], unique=False, sqlite_where=sa.text('rating IS NOT NULL'), postgresql_where=sa.text('rating IS NOT NULL'))

    op.create_table('stock_holds',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('subscription_id', sa.Integer(), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('sku', sa.String(length=100), nullable=False),
    sa.Column('warehouse', sa.String(length=50), nullable=False),
    sa.Column('qty', sa.BigInteger(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('created_at', backorder.adapters.db.tables.UTCDateTime(), nullable=False),
    sa.Column('expires_at', backorder.adapters.db.tables.UTCDateTime(), nullable=False),
    sa.Column('closed_at', backorder.adapters.db.tables.UTCDateTime(), nullable=True),
    sa.Column('order_id', sa.Integer(), nullable=True),
    sa.CheckConstraint("status IN ('active','claimed','expired','released')", name=op.f('ck_stock_holds_status')),
    sa.CheckConstraint('qty > 0', name=op.f('ck_stock_holds_qty_pos')),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_stock_holds_customer_id_customers')),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_stock_holds_order_id_orders')),
    sa.ForeignKeyConstraint(['sku'], ['products.sku'], name=op.f('fk_stock_holds_sku_products')),
    sa.ForeignKeyConstraint(['subscription_id'], ['waitlist_subscriptions.id'], name=op.f('fk_stock_holds_subscription_id_waitlist_subscriptions')),
    sa.ForeignKeyConstraint(['warehouse'], ['warehouses.code'], name=op.f('fk_stock_holds_warehouse_warehouses')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_stock_holds'))
    )
    with op.batch_alter_table('stock_holds', schema=None) as batch_op:
        batch_op.create_index('ix_stock_holds_active', ['sku', 'warehouse'], unique=False, sqlite_where=sa.text("status = 'active'"), postgresql_where=sa.text("status = 'active'"))
        batch_op.create_index('ix_stock_holds_expiry', ['expires_at'], unique=False, sqlite_where=sa.text("status = 'active'"), postgresql_where=sa.text("status = 'active'"))
        batch_op.create_index('ix_stock_holds_subscription', ['subscription_id'], unique=False)

    op.create_table('auto_cancel_warnings',
    sa.Column('line_id', sa.Integer(), nullable=False),
    sa.Column('cancel_at', backorder.adapters.db.tables.UTCDateTime(), nullable=False),
    sa.Column('created_at', backorder.adapters.db.tables.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['line_id'], ['order_lines.id'], name=op.f('fk_auto_cancel_warnings_line_id_order_lines')),
    sa.PrimaryKeyConstraint('line_id', name=op.f('pk_auto_cancel_warnings'))
    )
    op.create_table('delay_consents',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=False),
    sa.Column('line_id', sa.Integer(), nullable=False),
    sa.Column('sku', sa.String(length=100), nullable=False),
    sa.Column('first_promised_date', sa.Date(), nullable=True),
    sa.Column('reference_date', sa.Date(), nullable=True),
    sa.Column('promised_date', sa.Date(), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('answer', sa.String(length=20), nullable=True),
    sa.Column('answered_by', sa.String(length=20), nullable=True),
    sa.Column('nonce', sa.String(length=64), nullable=False),
    sa.Column('created_at', backorder.adapters.db.tables.UTCDateTime(), nullable=False),
    sa.Column('deadline', backorder.adapters.db.tables.UTCDateTime(), nullable=False),
    sa.Column('answered_at', backorder.adapters.db.tables.UTCDateTime(), nullable=True),
    sa.CheckConstraint("answer IS NULL OR answer IN ('keep_waiting','cancel_line')", name=op.f('ck_delay_consents_answer')),
    sa.CheckConstraint("status IN ('open','answered','superseded','moot')", name=op.f('ck_delay_consents_status')),
    sa.ForeignKeyConstraint(['line_id'], ['order_lines.id'], name=op.f('fk_delay_consents_line_id_order_lines')),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_delay_consents_order_id_orders')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_delay_consents'))
    )
    with op.batch_alter_table('delay_consents', schema=None) as batch_op:
        batch_op.create_index('ix_delay_consents_due', ['deadline'], unique=False, sqlite_where=sa.text("status = 'open'"), postgresql_where=sa.text("status = 'open'"))
        batch_op.create_index('ix_delay_consents_line', ['line_id'], unique=False)
        batch_op.create_index('ix_delay_consents_order', ['order_id'], unique=False)

    with op.batch_alter_table('products', schema=None) as batch_op:
        batch_op.add_column(sa.Column('max_wait_days', sa.Integer(), nullable=True))



def downgrade() -> None:
    with op.batch_alter_table('products', schema=None) as batch_op:
        batch_op.drop_column('max_wait_days')

    with op.batch_alter_table('delay_consents', schema=None) as batch_op:
        batch_op.drop_index('ix_delay_consents_order')
        batch_op.drop_index('ix_delay_consents_line')
        batch_op.drop_index('ix_delay_consents_due', sqlite_where=sa.text("status = 'open'"), postgresql_where=sa.text("status = 'open'"))

    op.drop_table('delay_consents')
    op.drop_table('auto_cancel_warnings')
    with op.batch_alter_table('stock_holds', schema=None) as batch_op:
        batch_op.drop_index('ix_stock_holds_subscription')
        batch_op.drop_index('ix_stock_holds_expiry', sqlite_where=sa.text("status = 'active'"), postgresql_where=sa.text("status = 'active'"))
        batch_op.drop_index('ix_stock_holds_active', sqlite_where=sa.text("status = 'active'"), postgresql_where=sa.text("status = 'active'"))

    op.drop_table('stock_holds')
    with op.batch_alter_table('feedback', schema=None) as batch_op:
        batch_op.drop_index('ix_feedback_answered', sqlite_where=sa.text('rating IS NOT NULL'), postgresql_where=sa.text('rating IS NOT NULL'))

    op.drop_table('feedback')
    with op.batch_alter_table('waitlist_subscriptions', schema=None) as batch_op:
        batch_op.drop_index('uq_waitlist_subscriptions_open', sqlite_where=sa.text("status IN ('waiting','held')"), postgresql_where=sa.text("status IN ('waiting','held')"))
        batch_op.drop_index('ix_waitlist_subscriptions_waiting', sqlite_where=sa.text("status = 'waiting'"), postgresql_where=sa.text("status = 'waiting'"))

    op.drop_table('waitlist_subscriptions')
    op.drop_table('app_secrets')
