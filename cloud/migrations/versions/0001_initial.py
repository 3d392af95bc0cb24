"""The hub's first schema: stations, streams, inbox, dn outbox, orders, catalog, stock,
alerts and commands.

Revision ID: 0001_initial
Revises:
Create Date: 2024-06-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001_initial"
down_revision = None
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _when(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def upgrade() -> None:
    op.create_table(
        "stations",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("tenant", sa.String(), nullable=False),
        sa.Column("store", sa.String()),
        sa.Column("online", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("session", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("last_seen", sa.String()),
        sa.Column("version", sa.String()),
        sa.Column("telemetry", sa.Text()),
        sa.Column("registered_at", sa.String(), nullable=False),
        sa.Column("updated_at", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_stations"),
    )
    op.create_index("ix_stations_tenant", "stations", ["tenant"])

    op.create_table(
        "stream_state",
        sa.Column("station", sa.String(), nullable=False),
        sa.Column("stream", sa.String(), nullable=False),
        sa.Column("seq", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("last_hash", sa.String(), nullable=False),
        sa.Column("acked", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("gap_from", sa.BigInteger()),
        sa.Column("gap_since", sa.String()),
        sa.Column("updated_at", sa.String(), nullable=False),
        sa.CheckConstraint(_when("stream", ("up", "dn")), name="ck_stream_state_stream"),
        sa.ForeignKeyConstraint(
            ["station"], ["stations.id"], name="fk_stream_state_station_stations"
        ),
        sa.PrimaryKeyConstraint("station", "stream", name="pk_stream_state"),
    )

    op.create_table(
        "inbox",
        sa.Column("station", sa.String(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("event_id", sa.String()),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("at", sa.String(), nullable=False),
        sa.Column("received_at", sa.String(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("reason", sa.Text()),
        sa.Column("chain_ok", sa.Boolean(), nullable=False),
        sa.Column("data", sa.Text(), nullable=False),
        sa.Column("prev_hash", sa.String(), nullable=False),
        sa.Column("hash", sa.String(), nullable=False),
        sa.CheckConstraint(
            _when("status", ("applied", "rejected", "duplicate-id")), name="ck_inbox_status"
        ),
        sa.ForeignKeyConstraint(["station"], ["stations.id"], name="fk_inbox_station_stations"),
        sa.PrimaryKeyConstraint("station", "seq", name="pk_inbox"),
        sa.UniqueConstraint("event_id", name="uq_inbox_event_id"),
    )
    op.create_index("ix_inbox_kind", "inbox", ["kind", "station"])

    op.create_table(
        "dn_outbox",
        sa.Column("station", sa.String(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("at", sa.String(), nullable=False),
        sa.Column("data", sa.Text(), nullable=False),
        sa.Column("prev_hash", sa.String(), nullable=False),
        sa.Column("hash", sa.String(), nullable=False),
        sa.Column("expires_at", sa.String()),
        sa.Column("rejected_reason", sa.Text()),
        sa.Column("rejected_at", sa.String()),
        sa.ForeignKeyConstraint(["station"], ["stations.id"], name="fk_dn_outbox_station_stations"),
        sa.PrimaryKeyConstraint("station", "seq", name="pk_dn_outbox"),
        sa.UniqueConstraint("id", name="uq_dn_outbox_id"),
    )

    op.create_table(
        "orders",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("tenant", sa.String(), nullable=False),
        sa.Column("number", sa.String(), nullable=False),
        sa.Column("station", sa.String()),
        sa.Column("channel", sa.String(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("total", sa.String(), nullable=False),
        sa.Column("external_id", sa.String()),
        sa.Column("idempotency_key", sa.String()),
        sa.Column("data", sa.Text(), nullable=False),
        sa.Column("created_at", sa.String(), nullable=False),
        sa.Column("updated_at", sa.String(), nullable=False),
        sa.ForeignKeyConstraint(["station"], ["stations.id"], name="fk_orders_station_stations"),
        sa.PrimaryKeyConstraint("id", name="pk_orders"),
        sa.UniqueConstraint("number", name="uq_orders_number"),
        sa.UniqueConstraint("idempotency_key", name="uq_orders_idempotency_key"),
    )
    op.create_index("ix_orders_status", "orders", ["tenant", "status", "created_at"])
    op.create_index("ix_orders_station", "orders", ["station", "status"])

    op.create_table(
        "order_timeline",
        sa.Column("id", BIG_ID, primary_key=True, autoincrement=True),
        sa.Column("order_id", sa.String(), nullable=False),
        sa.Column("at", sa.String(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("note", sa.Text(), server_default=sa.text("''"), nullable=False),
        sa.Column("source", sa.String(), nullable=False),
        sa.Column("data", sa.Text()),
        sa.ForeignKeyConstraint(
            ["order_id"], ["orders.id"], name="fk_order_timeline_order_id_orders"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_order_timeline"),
    )
    op.create_index("ix_order_timeline_order_id", "order_timeline", ["order_id"])

    op.create_table(
        "products",
        sa.Column("tenant", sa.String(), nullable=False),
        sa.Column("sku", sa.String(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("name_en", sa.String(), server_default=sa.text("''"), nullable=False),
        sa.Column("price", sa.String(), nullable=False),
        sa.Column("category", sa.String(), server_default=sa.text("''"), nullable=False),
        sa.Column("barcodes", sa.Text(), nullable=False),
        sa.Column("bin", sa.String(), server_default=sa.text("''"), nullable=False),
        sa.Column("data", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("tenant", "sku", name="pk_products"),
    )

    op.create_table(
        "stock_items",
        sa.Column("tenant", sa.String(), nullable=False),
        sa.Column("store", sa.String(), nullable=False),
        sa.Column("sku", sa.String(), nullable=False),
        sa.Column("on_hand", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("updated_at", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("tenant", "store", "sku", name="pk_stock_items"),
    )

    op.create_table(
        "stock_ledger",
        sa.Column("id", BIG_ID, primary_key=True, autoincrement=True),
        sa.Column("tenant", sa.String(), nullable=False),
        sa.Column("store", sa.String(), nullable=False),
        sa.Column("sku", sa.String(), nullable=False),
        sa.Column("qty", sa.BigInteger(), nullable=False),
        sa.Column("reason", sa.String(), nullable=False),
        sa.Column("ref", sa.String()),
        sa.Column("station", sa.String()),
        sa.Column("at", sa.String(), nullable=False),
        sa.CheckConstraint(
            _when("reason", ("receipt", "sale", "return", "adjustment", "release")),
            name="ck_stock_ledger_reason",
        ),
        sa.ForeignKeyConstraint(
            ["tenant", "store", "sku"],
            ["stock_items.tenant", "stock_items.store", "stock_items.sku"],
            name="fk_stock_ledger_tenant_store_sku_stock_items",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_stock_ledger"),
    )
    op.create_index("ix_stock_ledger_item", "stock_ledger", ["tenant", "store", "sku"])

    op.create_table(
        "allotments",
        sa.Column("station", sa.String(), nullable=False),
        sa.Column("sku", sa.String(), nullable=False),
        sa.Column("allotted", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("sold", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("updated_at", sa.String(), nullable=False),
        sa.ForeignKeyConstraint(
            ["station"], ["stations.id"], name="fk_allotments_station_stations"
        ),
        sa.PrimaryKeyConstraint("station", "sku", name="pk_allotments"),
    )

    op.create_table(
        "alerts",
        sa.Column("id", BIG_ID, primary_key=True, autoincrement=True),
        sa.Column("station", sa.String()),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("data", sa.Text(), nullable=False),
        sa.Column("at", sa.String(), nullable=False),
        sa.Column("cleared_at", sa.String()),
        sa.PrimaryKeyConstraint("id", name="pk_alerts"),
    )
    op.create_index("ix_alerts_station", "alerts", ["station"])

    op.create_table(
        "commands",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("station", sa.String(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("args", sa.Text(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("dn_seq", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.String(), nullable=False),
        sa.Column("expires_at", sa.String(), nullable=False),
        sa.Column("updated_at", sa.String(), nullable=False),
        sa.Column("result", sa.Text()),
        sa.CheckConstraint(
            _when("status", ("pending", "sent", "done", "failed", "expired")),
            name="ck_commands_status",
        ),
        sa.ForeignKeyConstraint(["station"], ["stations.id"], name="fk_commands_station_stations"),
        sa.PrimaryKeyConstraint("id", name="pk_commands"),
    )
    op.create_index("ix_commands_station", "commands", ["station"])
