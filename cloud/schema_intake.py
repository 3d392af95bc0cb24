"""Hub order intake: channel order keys, duplicate fingerprints, the exception queue and
CSV imports. Tables share :data:`cloud.schema.metadata`; the migration ``0002_orders``
creates them."""

from __future__ import annotations

from sqlalchemy import Column, ForeignKey, Index, Integer, String, Table, Text, text

from cloud.schema import BigId, JsonText, metadata

IMPORT_STATUSES = ("running", "done", "failed")

# One order per (tenant, channel, external id): a second post or import of the same
# marketplace order is refused instead of making a second order.
channel_orders = Table(
    "channel_orders",
    metadata,
    Column("tenant", String, primary_key=True),
    Column("channel", String, primary_key=True),
    Column("external_id", String, primary_key=True),
    Column("order_id", String, ForeignKey("orders.id"), nullable=False),
)

# What makes two orders "the same": a hash of customer, phone, address and lines.
order_fingerprints = Table(
    "order_fingerprints",
    metadata,
    Column("order_id", String, ForeignKey("orders.id"), primary_key=True),
    Column("tenant", String, nullable=False),
    Column("fingerprint", String, nullable=False),
    Column("created_at", String, nullable=False),
    Index("ix_order_fingerprints_lookup", "tenant", "fingerprint", "created_at"),
)

# One row per reason an order was held; a person's decision closes every open row.
order_exceptions = Table(
    "order_exceptions",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("order_id", String, ForeignKey("orders.id"), nullable=False, index=True),
    Column("tenant", String, nullable=False),
    Column("reason", String, nullable=False),
    Column("message", Text, nullable=False),
    Column("raised_at", String, nullable=False),
    Column("decision", String),  # released | cancelled
    Column("decided_by", String),
    Column("decided_at", String),
    Column("note", Text),
    Index("ix_order_exceptions_open", "tenant", "decision", "reason"),
)

imports = Table(
    "imports",
    metadata,
    Column("id", String, primary_key=True),
    Column("tenant", String, nullable=False),
    Column("channel", String),
    Column("mapping", String),
    Column("filename", String, nullable=False, server_default=text("''")),
    Column("status", String, nullable=False),
    Column("encoding", String),
    Column("rows_done", Integer, nullable=False, server_default=text("0")),
    Column("accepted", Integer, nullable=False, server_default=text("0")),
    Column("rejected", Integer, nullable=False, server_default=text("0")),
    Column("error", Text),
    Column("started_at", String, nullable=False),
    Column("updated_at", String, nullable=False),
    Column("finished_at", String),
)

import_errors = Table(
    "import_errors",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("import_id", String, ForeignKey("imports.id"), nullable=False, index=True),
    Column("row", Integer, nullable=False),
    Column("external_id", String),
    Column("reason", String, nullable=False),
    Column("message", Text, nullable=False),
    Column("cells", JsonText, nullable=False),
)
