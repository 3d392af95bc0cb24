"""Hub order intake: channel order keys, duplicate fingerprints, the exception queue and
CSV imports.

Revision ID: 0002_orders
Revises: 0001_initial
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_orders"
down_revision = "0001_initial"
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "channel_orders",
        sa.Column("tenant", sa.String(), nullable=False),
        sa.Column("channel", sa.String(), nullable=False),
        sa.Column("external_id", sa.String(), nullable=False),
        sa.Column("order_id", sa.String(), nullable=False),
        sa.ForeignKeyConstraint(
            ["order_id"], ["orders.id"], name="fk_channel_orders_order_id_orders"
        ),
        sa.PrimaryKeyConstraint("tenant", "channel", "external_id", name="pk_channel_orders"),
    )

    op.create_table(
        "order_fingerprints",
        sa.Column("order_id", sa.String(), nullable=False),
        sa.Column("tenant", sa.String(), nullable=False),
        sa.Column("fingerprint", sa.String(), nullable=False),
        sa.Column("created_at", sa.String(), nullable=False),
        sa.ForeignKeyConstraint(
            ["order_id"], ["orders.id"], name="fk_order_fingerprints_order_id_orders"
        ),
        sa.PrimaryKeyConstraint("order_id", name="pk_order_fingerprints"),
    )
    op.create_index(
        "ix_order_fingerprints_lookup",
        "order_fingerprints",
        ["tenant", "fingerprint", "created_at"],
    )

    op.create_table(
        "order_exceptions",
        sa.Column("id", BIG_ID, primary_key=True, autoincrement=True),
        sa.Column("order_id", sa.String(), nullable=False),
        sa.Column("tenant", sa.String(), nullable=False),
        sa.Column("reason", sa.String(), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("raised_at", sa.String(), nullable=False),
        sa.Column("decision", sa.String()),
        sa.Column("decided_by", sa.String()),
        sa.Column("decided_at", sa.String()),
        sa.Column("note", sa.Text()),
        sa.ForeignKeyConstraint(
            ["order_id"], ["orders.id"], name="fk_order_exceptions_order_id_orders"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_order_exceptions"),
    )
    op.create_index("ix_order_exceptions_order_id", "order_exceptions", ["order_id"])
    op.create_index(
        "ix_order_exceptions_open", "order_exceptions", ["tenant", "decision", "reason"]
    )

    op.create_table(
        "imports",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("tenant", sa.String(), nullable=False),
        sa.Column("channel", sa.String()),
        sa.Column("mapping", sa.String()),
        sa.Column("filename", sa.String(), server_default=sa.text("''"), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("encoding", sa.String()),
        sa.Column("rows_done", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("accepted", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("rejected", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("error", sa.Text()),
        sa.Column("started_at", sa.String(), nullable=False),
        sa.Column("updated_at", sa.String(), nullable=False),
        sa.Column("finished_at", sa.String()),
        sa.PrimaryKeyConstraint("id", name="pk_imports"),
    )

    op.create_table(
        "import_errors",
        sa.Column("id", BIG_ID, primary_key=True, autoincrement=True),
        sa.Column("import_id", sa.String(), nullable=False),
        sa.Column("row", sa.Integer(), nullable=False),
        sa.Column("external_id", sa.String()),
        sa.Column("reason", sa.String(), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("cells", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["import_id"], ["imports.id"], name="fk_import_errors_import_id_imports"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_import_errors"),
    )
    op.create_index("ix_import_errors_import_id", "import_errors", ["import_id"])


def downgrade() -> None:
    for table in (
        "import_errors",
        "imports",
        "order_exceptions",
        "order_fingerprints",
        "channel_orders",
    ):
        op.drop_table(table)
