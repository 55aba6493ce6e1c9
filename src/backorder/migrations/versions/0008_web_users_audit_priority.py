"""Operator web app (issue 5): web users, the audit log, the priority override of order lines

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

import backorder.adapters.db.tables

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("order_lines") as batch:
        batch.add_column(
            sa.Column("priority_override", sa.Integer(), server_default="0", nullable=False)
        )
    op.create_table(
        "web_users",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("password_hash", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("created_at", backorder.adapters.db.tables.UTCDateTime(), nullable=False),
        sa.Column("disabled_at", backorder.adapters.db.tables.UTCDateTime(), nullable=True),
        sa.CheckConstraint(
            "role IN ('admin','operator','viewer')", name=op.f("ck_web_users_role")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_web_users")),
        sa.UniqueConstraint("name", name=op.f("uq_web_users_name")),
    )
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("action", sa.String(length=50), nullable=False),
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("created_at", backorder.adapters.db.tables.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    op.create_index("ix_audit_log_subject", "audit_log", ["subject"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_audit_log_subject", table_name="audit_log")
    op.drop_table("audit_log")
    op.drop_table("web_users")
    with op.batch_alter_table("order_lines") as batch:
        batch.drop_column("priority_override")
