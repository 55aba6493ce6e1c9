"""notifications: webhook endpoints, customer opt-outs, deliveries (the outbox's delivery log)

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03 19:00:00

Events written before this revision were never meant to reach anyone: they are marked
dispatched here, so upgrading an existing shop does not mail customers weeks-old news.
"""
from alembic import op
import sqlalchemy as sa
import backorder.adapters.db.tables


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

UTC_TIME = backorder.adapters.db.tables.UTCDateTime


def upgrade() -> None:
    op.create_table('webhook_endpoints',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('url', sa.String(length=2000), nullable=False),
    sa.Column('secret', sa.String(length=200), nullable=False),
    sa.Column('event_kinds', sa.Text(), nullable=False),
    sa.Column('description', sa.String(length=300), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', UTC_TIME(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_webhook_endpoints'))
    )
    op.create_table('notification_optouts',
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('channel', sa.String(length=20), nullable=False),
    sa.Column('created_at', UTC_TIME(), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_notification_optouts_customer_id_customers')),
    sa.PrimaryKeyConstraint('customer_id', 'channel', name=op.f('pk_notification_optouts'))
    )
    op.create_table('deliveries',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=True),
    sa.Column('kind', sa.String(length=50), nullable=False),
    sa.Column('channel', sa.String(length=20), nullable=False),
    sa.Column('recipient', sa.String(length=2000), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=True),
    sa.Column('endpoint_id', sa.Integer(), nullable=True),
    sa.Column('idempotency_key', sa.String(length=200), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('attempts', sa.Integer(), server_default='0', nullable=False),
    sa.Column('next_attempt_at', UTC_TIME(), nullable=False),
    sa.Column('claimed_by', sa.String(length=100), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('subject', sa.String(length=500), nullable=True),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('body_html', sa.Text(), nullable=True),
    sa.Column('created_at', UTC_TIME(), nullable=False),
    sa.Column('sent_at', UTC_TIME(), nullable=True),
    sa.CheckConstraint("status IN ('pending','sent','failed','dead')", name=op.f('ck_deliveries_status')),
    sa.CheckConstraint('attempts >= 0', name=op.f('ck_deliveries_attempts')),
    sa.ForeignKeyConstraint(['endpoint_id'], ['webhook_endpoints.id'], name=op.f('fk_deliveries_endpoint_id_webhook_endpoints')),
    sa.ForeignKeyConstraint(['event_id'], ['events.id'], name=op.f('fk_deliveries_event_id_events')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_deliveries')),
    sa.UniqueConstraint('idempotency_key', name=op.f('uq_deliveries_idempotency_key'))
    )
    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.create_index('ix_deliveries_due', ['next_attempt_at'], unique=False,
                              sqlite_where=sa.text("status IN ('pending','failed')"),
                              postgresql_where=sa.text("status IN ('pending','failed')"))
        batch_op.create_index('ix_deliveries_event', ['event_id'], unique=False)
        batch_op.create_index('ix_deliveries_order', ['order_id'], unique=False)

    op.execute("UPDATE events SET dispatched_at = created_at WHERE dispatched_at IS NULL")
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.create_index('ix_events_undispatched', ['id'], unique=False,
                              sqlite_where=sa.text('dispatched_at IS NULL'),
                              postgresql_where=sa.text('dispatched_at IS NULL'))


def downgrade() -> None:
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.drop_index('ix_events_undispatched',
                            sqlite_where=sa.text('dispatched_at IS NULL'),
                            postgresql_where=sa.text('dispatched_at IS NULL'))
    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.drop_index('ix_deliveries_order')
        batch_op.drop_index('ix_deliveries_event')
        batch_op.drop_index('ix_deliveries_due',
                            sqlite_where=sa.text("status IN ('pending','failed')"),
                            postgresql_where=sa.text("status IN ('pending','failed')"))
    op.drop_table('deliveries')
    op.drop_table('notification_optouts')
    op.drop_table('webhook_endpoints')
