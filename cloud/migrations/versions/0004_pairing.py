"""First-boot pairing of new stations.

Revision ID: 0004_pairing
Revises: 0003_ops
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_pairing"
down_revision = "0003_ops"
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "pairing_requests",
        sa.Column("id", BIG_ID, primary_key=True, autoincrement=True),
        sa.Column("station", sa.String(), nullable=False),
        sa.Column("tenant", sa.String(), nullable=False),
        sa.Column("store", sa.String(), nullable=False),
        sa.Column("code_hash", sa.String(), nullable=False),
        sa.Column("created_at", sa.String(), nullable=False),
        sa.Column("last_poll_at", sa.String(), nullable=False),
        sa.Column("claimed_at", sa.String()),
        sa.Column("claimed_by", sa.String()),
        sa.Column("password", sa.String()),
        sa.Column("delivered_at", sa.String()),
        sa.PrimaryKeyConstraint("id", name="pk_pairing_requests"),
    )
    op.create_index(
        "ix_pairing_requests_station_code_hash",
        "pairing_requests",
        ["station", "code_hash"],
        unique=True,
    )


def downgrade() -> None:
    op.drop_table("pairing_requests")
