"""payments: order payment terms, payment intents (outbox), payment operations (append-only)

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04 09:00:00
"""
from alembic import op
import sqlalchemy as sa
import backorder.adapters.db.tables


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

UTC_TIME = backorder.adapters.db.tables.UTCDateTime


def upgrade() -> None:
    op.create_table('order_payments',
    sa.Column('order_id', sa.Integer(), nullable=False),
    sa.Column('gateway', sa.String(length=50), nullable=False),
    sa.Column('policy', sa.String(length=20), nullable=False),
    sa.Column('deposit_percent', sa.Integer(), server_default='0', nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('method', sa.String(length=200), nullable=True),
    sa.Column('required_since', UTC_TIME(), nullable=True),
    sa.Column('grace_until', UTC_TIME(), nullable=True),
    sa.Column('released_at', UTC_TIME(), nullable=True),
    sa.Column('created_at', UTC_TIME(), nullable=False),
    sa.CheckConstraint("policy IN ('on_shipment','on_allocation','deposit')", name=op.f('ck_order_payments_policy')),
    sa.CheckConstraint('deposit_percent >= 0 AND deposit_percent <= 100', name=op.f('ck_order_payments_deposit')),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_order_payments_order_id_orders')),
    sa.PrimaryKeyConstraint('order_id', name=op.f('pk_order_payments'))
    )
    op.create_table('payment_intents',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=True),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('reason', sa.String(length=30), nullable=False),
    sa.Column('amount_minor', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('gateway', sa.String(length=50), nullable=False),
    sa.Column('idempotency_key', sa.String(length=200), nullable=False),
    sa.Column('method', sa.String(length=200), nullable=True),
    sa.Column('target_ref', sa.String(length=200), nullable=True),
    sa.Column('lines', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('generation', sa.Integer(), server_default='0', nullable=False),
    sa.Column('attempts', sa.Integer(), server_default='0', nullable=False),
    sa.Column('next_attempt_at', UTC_TIME(), nullable=False),
    sa.Column('lease_until', UTC_TIME(), nullable=True),
    sa.Column('gateway_ref', sa.String(length=200), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('created_at', UTC_TIME(), nullable=False),
    sa.Column('updated_at', UTC_TIME(), nullable=False),
    sa.CheckConstraint("kind IN ('authorize','capture','void','refund')", name=op.f('ck_payment_intents_kind')),
    sa.CheckConstraint("status IN ('pending','waiting','blocked','done','failed')", name=op.f('ck_payment_intents_status')),
    sa.CheckConstraint('amount_minor >= 0', name=op.f('ck_payment_intents_amount')),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_payment_intents_order_id_orders')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_payment_intents')),
    sa.UniqueConstraint('idempotency_key', name=op.f('uq_payment_intents_idempotency_key'))
    )
    with op.batch_alter_table('payment_intents', schema=None) as batch_op:
        batch_op.create_index('ix_payment_intents_order', ['order_id'], unique=False)
        batch_op.create_index('ix_payment_intents_due', ['next_attempt_at'], unique=False,
                              sqlite_where=sa.text("status IN ('pending','waiting')"),
                              postgresql_where=sa.text("status IN ('pending','waiting')"))
    op.create_table('payment_operations',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=True),
    sa.Column('intent_id', sa.Integer(), nullable=True),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('amount_minor', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('gateway', sa.String(length=50), nullable=False),
    sa.Column('idempotency_key', sa.String(length=450), nullable=False),
    sa.Column('reference', sa.String(length=200), nullable=True),
    sa.Column('parent_ref', sa.String(length=200), nullable=True),
    sa.Column('expires_at', UTC_TIME(), nullable=True),
    sa.Column('detail', sa.String(length=300), nullable=True),
    sa.Column('source', sa.String(length=20), nullable=False),
    sa.Column('created_at', UTC_TIME(), nullable=False),
    sa.CheckConstraint("kind IN ('authorize','capture','void','refund')", name=op.f('ck_payment_operations_kind')),
    sa.CheckConstraint("status IN ('succeeded','declined')", name=op.f('ck_payment_operations_status')),
    sa.CheckConstraint('amount_minor >= 0', name=op.f('ck_payment_operations_amount')),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_payment_operations_order_id_orders')),
    sa.ForeignKeyConstraint(['intent_id'], ['payment_intents.id'], name=op.f('fk_payment_operations_intent_id_payment_intents')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_payment_operations')),
    sa.UniqueConstraint('idempotency_key', name=op.f('uq_payment_operations_idempotency_key'))
    )
    with op.batch_alter_table('payment_operations', schema=None) as batch_op:
        batch_op.create_index('ix_payment_operations_order', ['order_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('payment_operations', schema=None) as batch_op:
        batch_op.drop_index('ix_payment_operations_order')
    op.drop_table('payment_operations')
    with op.batch_alter_table('payment_intents', schema=None) as batch_op:
        batch_op.drop_index('ix_payment_intents_due',
                            sqlite_where=sa.text("status IN ('pending','waiting')"),
                            postgresql_where=sa.text("status IN ('pending','waiting')"))
        batch_op.drop_index('ix_payment_intents_order')
    op.drop_table('payment_intents')
    op.drop_table('order_payments')
