"""Ops dashboard: staff users and roles, telemetry history, alert delivery.

Revision ID: 0003_ops
Revises: 0002_orders
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_ops"
down_revision = "0002_orders"
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "hub_users",
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("password_hash", sa.String(), nullable=False),
        sa.Column("role", sa.String(), nullable=False),
        sa.Column("created_at", sa.String(), nullable=False),
        sa.Column("last_login", sa.String()),
        sa.CheckConstraint("role IN ('viewer', 'operator', 'admin')", name="ck_hub_users_role"),
        sa.PrimaryKeyConstraint("name", name="pk_hub_users"),
    )
    op.create_table(
        "telemetry_history",
        sa.Column("id", BIG_ID, primary_key=True, autoincrement=True),
        sa.Column("station", sa.String(), nullable=False),
        sa.Column("at", sa.String(), nullable=False),
        sa.Column("data", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_telemetry_history"),
    )
    op.create_index("ix_telemetry_history_station_at", "telemetry_history", ["station", "at"])
    op.create_index("ix_telemetry_history_at", "telemetry_history", ["at"])
    op.create_table(
        "alert_deliveries",
        sa.Column("id", BIG_ID, primary_key=True, autoincrement=True),
        sa.Column("alert_id", sa.BigInteger(), nullable=False),
        sa.Column("event", sa.String(), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("attempts", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("next_at", sa.String(), nullable=False),
        sa.Column("delivered_at", sa.String()),
        sa.Column("last_error", sa.Text()),
        sa.Column("created_at", sa.String(), nullable=False),
        sa.CheckConstraint("event IN ('raised', 'cleared')", name="ck_alert_deliveries_event"),
        sa.PrimaryKeyConstraint("id", name="pk_alert_deliveries"),
    )
    op.create_index("ix_alert_deliveries_pending", "alert_deliveries", ["delivered_at", "next_at"])


def downgrade() -> None:
    op.drop_table("alert_deliveries")
    op.drop_table("telemetry_history")
    op.drop_table("hub_users")
