"""Allocation rules and decisions, carriers, waybill pools, returns.

Revision ID: 0005_allocation
Revises: 0004_pairing
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_allocation"
down_revision = "0004_pairing"
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _when(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def upgrade() -> None:
    op.create_table(
        "stores",
        sa.Column("tenant", sa.String(), nullable=False),
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("province", sa.String(), nullable=False),
        sa.Column("city", sa.String(), server_default=sa.text("''"), nullable=False),
        sa.Column("updated_at", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("tenant", "id", name="pk_stores"),
    )
    op.create_table(
        "allocation_decisions",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("order_id", sa.String(), nullable=False),
        sa.Column("at", sa.String(), nullable=False),
        sa.Column("station", sa.String()),
        sa.Column("previous", sa.String()),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("candidates", sa.Text(), nullable=False),
        sa.Column("source", sa.String(), nullable=False),
        sa.ForeignKeyConstraint(
            ["order_id"], ["orders.id"], name="fk_allocation_decisions_order_id_orders"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_allocation_decisions"),
    )
    op.create_index("ix_allocation_decisions_order_id", "allocation_decisions", ["order_id"])
    op.create_table(
        "allocation_reservations",
        sa.Column("order_id", sa.String(), nullable=False),
        sa.Column("sku", sa.String(), nullable=False),
        sa.Column("station", sa.String(), nullable=False),
        sa.Column("qty", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["order_id"], ["orders.id"], name="fk_allocation_reservations_order_id_orders"
        ),
        sa.PrimaryKeyConstraint("order_id", "sku", name="pk_allocation_reservations"),
    )
    op.create_index("ix_allocation_reservations_sku", "allocation_reservations", ["sku", "station"])
    op.create_table(
        "carriers",
        sa.Column("tenant", sa.String(), nullable=False),
        sa.Column("code", sa.String(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("data", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("tenant", "code", name="pk_carriers"),
    )
    op.create_table(
        "waybill_ranges",
        sa.Column("tenant", sa.String(), nullable=False),
        sa.Column("carrier", sa.String(), nullable=False),
        sa.Column("prefix", sa.String(), server_default=sa.text("''"), nullable=False),
        sa.Column("suffix", sa.String(), server_default=sa.text("''"), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("scheme", sa.String(), nullable=False),
        sa.Column("first", sa.BigInteger(), nullable=False),
        sa.Column("last", sa.BigInteger(), nullable=False),
        sa.Column("next", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.String(), nullable=False),
        sa.CheckConstraint(_when("scheme", ("mod7", "s10")), name="ck_waybill_ranges_scheme"),
        sa.PrimaryKeyConstraint("tenant", "carrier", name="pk_waybill_ranges"),
    )
    op.create_table(
        "waybill_blocks",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("tenant", sa.String(), nullable=False),
        sa.Column("carrier", sa.String(), nullable=False),
        sa.Column("station", sa.String(), nullable=False),
        sa.Column("first", sa.BigInteger(), nullable=False),
        sa.Column("last", sa.BigInteger(), nullable=False),
        sa.Column("used", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("granted_at", sa.String(), nullable=False),
        sa.ForeignKeyConstraint(
            ["station"], ["stations.id"], name="fk_waybill_blocks_station_stations"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_waybill_blocks"),
    )
    op.create_index("ix_waybill_blocks_station", "waybill_blocks", ["station", "carrier"])
    op.create_table(
        "returns",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("tenant", sa.String(), nullable=False),
        sa.Column("number", sa.String(), nullable=False),
        sa.Column("order_id", sa.String(), nullable=False),
        sa.Column("station", sa.String()),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("lines", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), server_default=sa.text("''"), nullable=False),
        sa.Column("source", sa.String(), nullable=False),
        sa.Column("created_at", sa.String(), nullable=False),
        sa.Column("updated_at", sa.String(), nullable=False),
        sa.CheckConstraint(
            _when("status", ("requested", "received", "restocked", "rejected")),
            name="ck_returns_status",
        ),
        sa.ForeignKeyConstraint(["order_id"], ["orders.id"], name="fk_returns_order_id_orders"),
        sa.PrimaryKeyConstraint("id", name="pk_returns"),
        sa.UniqueConstraint("number", name="uq_returns_number"),
    )
    op.create_index("ix_returns_order_id", "returns", ["order_id"])


def downgrade() -> None:
    op.drop_table("returns")
    op.drop_table("waybill_blocks")
    op.drop_table("waybill_ranges")
    op.drop_table("carriers")
    op.drop_table("allocation_reservations")
    op.drop_table("allocation_decisions")
    op.drop_table("stores")
