"""API keys, hashed at rest (issue 6)

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

import backorder.adapters.db.tables

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "api_keys",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("prefix", sa.String(length=16), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=True),
        sa.Column("created_at", backorder.adapters.db.tables.UTCDateTime(), nullable=False),
        sa.Column("revoked_at", backorder.adapters.db.tables.UTCDateTime(), nullable=True),
        sa.CheckConstraint(
            "role IN ('admin','operator','integration','viewer','customer')",
            name=op.f("ck_api_keys_role"),
        ),
        sa.CheckConstraint(
            "(role = 'customer') = (customer_id IS NOT NULL)",
            name=op.f("ck_api_keys_customer_scope"),
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_api_keys_customer_id_customers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_keys")),
        sa.UniqueConstraint("key_hash", name=op.f("uq_api_keys_key_hash")),
    )


def downgrade() -> None:
    op.drop_table("api_keys")
