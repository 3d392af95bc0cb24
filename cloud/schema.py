"""The hub's tables (SQLAlchemy Core), identical on SQLite and PostgreSQL.

Times are UTC ISO 8601 strings as the protocol writes them (``2024-05-01T08:00:00.000Z``),
which sort as text and round-trip exactly. JSON is stored as canonical text
(:class:`JsonText`), so event bodies hash the same after a round trip and a station string
holding ``\\u0000`` cannot break a PostgreSQL insert. The migrations in
``cloud/migrations`` create exactly these tables; a test compares the two.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Dialect,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    false,
    text,
)

from edge.protocol import canonical_json


class JsonText(TypeDecorator[Any]):
    """Any JSON value, stored as canonical JSON text."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        return None if value is None else canonical_json(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> Any:
        return None if value is None else json.loads(value)


# An auto-numbered key: INTEGER PRIMARY KEY (the rowid) on SQLite, BIGSERIAL on PostgreSQL.
BigId = BigInteger().with_variant(Integer(), "sqlite")

STREAMS = ("up", "dn")
INBOX_STATUSES = ("applied", "rejected", "duplicate-id")
LEDGER_REASONS = ("receipt", "sale", "return", "adjustment", "release")
COMMAND_STATUSES = ("pending", "sent", "done", "failed", "expired")

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


stations = Table(
    "stations",
    metadata,
    Column("id", String, primary_key=True),
    Column("tenant", String, nullable=False, index=True),
    Column("store", String),
    Column("online", Boolean, nullable=False, server_default=false()),
    Column("session", BigInteger, nullable=False, server_default=text("0")),
    Column("last_seen", String),
    Column("version", String),
    Column("telemetry", JsonText),
    Column("registered_at", String, nullable=False),
    Column("updated_at", String, nullable=False),
)

# up: ``seq`` is the last applied seq and ``last_hash`` its hash; ``gap_from``/``gap_since``
# remember an unfilled gap. dn: ``seq`` is the last assigned seq (the next is seq + 1),
# ``last_hash`` that event's hash and ``acked`` the station's cumulative ack.
stream_state = Table(
    "stream_state",
    metadata,
    Column("station", String, ForeignKey("stations.id"), primary_key=True),
    Column("stream", String, primary_key=True),
    Column("seq", BigInteger, nullable=False, server_default=text("0")),
    Column("last_hash", String, nullable=False),
    Column("acked", BigInteger, nullable=False, server_default=text("0")),
    Column("gap_from", BigInteger),
    Column("gap_since", String),
    Column("updated_at", String, nullable=False),
    CheckConstraint(_in("stream", STREAMS), name="stream"),
)

# The hub's copy of every station event, applied or not: the audit log and the dedup key.
inbox = Table(
    "inbox",
    metadata,
    Column("station", String, ForeignKey("stations.id"), primary_key=True),
    Column("seq", BigInteger, primary_key=True),
    # NULL when the id was malformed or already used (the reason names it): unique otherwise.
    Column("event_id", String, unique=True),
    Column("kind", String, nullable=False),
    Column("at", String, nullable=False),
    Column("received_at", String, nullable=False),
    Column("status", String, nullable=False),
    Column("reason", Text),
    Column("chain_ok", Boolean, nullable=False),
    Column("data", JsonText, nullable=False),
    Column("prev_hash", String, nullable=False),
    Column("hash", String, nullable=False),
    CheckConstraint(_in("status", INBOX_STATUSES), name="status"),
    Index("ix_inbox_kind", "kind", "station"),
)

dn_outbox = Table(
    "dn_outbox",
    metadata,
    Column("station", String, ForeignKey("stations.id"), primary_key=True),
    Column("seq", BigInteger, primary_key=True),
    Column("id", String, nullable=False, unique=True),
    Column("kind", String, nullable=False),
    Column("at", String, nullable=False),
    Column("data", JsonText, nullable=False),
    Column("prev_hash", String, nullable=False),
    Column("hash", String, nullable=False),
    Column("expires_at", String),
    Column("rejected_reason", Text),
    Column("rejected_at", String),
)

orders = Table(
    "orders",
    metadata,
    Column("id", String, primary_key=True),
    Column("tenant", String, nullable=False),
    Column("number", String, nullable=False, unique=True),
    Column("station", String, ForeignKey("stations.id")),
    Column("channel", String, nullable=False),
    Column("status", String, nullable=False),
    Column("total", String, nullable=False),
    Column("external_id", String),
    Column("idempotency_key", String, unique=True),
    Column("data", JsonText, nullable=False),
    Column("created_at", String, nullable=False),
    Column("updated_at", String, nullable=False),
    Index("ix_orders_status", "tenant", "status", "created_at"),
    Index("ix_orders_station", "station", "status"),
)

order_timeline = Table(
    "order_timeline",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("order_id", String, ForeignKey("orders.id"), nullable=False, index=True),
    Column("at", String, nullable=False),
    Column("status", String, nullable=False),
    Column("note", Text, nullable=False, server_default=text("''")),
    Column("source", String, nullable=False),
    Column("data", JsonText),
)

products = Table(
    "products",
    metadata,
    Column("tenant", String, primary_key=True),
    Column("sku", String, primary_key=True),
    Column("name", String, nullable=False),
    Column("name_en", String, nullable=False, server_default=text("''")),
    Column("price", String, nullable=False),  # a decimal string, e.g. "12.50"
    Column("category", String, nullable=False, server_default=text("''")),
    Column("barcodes", JsonText, nullable=False),
    Column("bin", String, nullable=False, server_default=text("''")),
    Column("data", JsonText, nullable=False),  # the product as sent, extra fields kept
    Column("updated_at", String, nullable=False),
)

# One row per SKU per store: the lock every stock change takes first, and on-hand (the
# sum of the SKU's ledger rows, kept in the same transaction as each ledger insert).
stock_items = Table(
    "stock_items",
    metadata,
    Column("tenant", String, primary_key=True),
    Column("store", String, primary_key=True),
    Column("sku", String, primary_key=True),
    Column("on_hand", BigInteger, nullable=False, server_default=text("0")),
    Column("updated_at", String, nullable=False),
)

stock_ledger = Table(
    "stock_ledger",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("tenant", String, nullable=False),
    Column("store", String, nullable=False),
    Column("sku", String, nullable=False),
    Column("qty", BigInteger, nullable=False),
    Column("reason", String, nullable=False),
    Column("ref", String),
    Column("station", String),
    Column("at", String, nullable=False),
    CheckConstraint(_in("reason", LEDGER_REASONS), name="reason"),
    ForeignKeyConstraint(
        ["tenant", "store", "sku"],
        ["stock_items.tenant", "stock_items.store", "stock_items.sku"],
    ),
    Index("ix_stock_ledger_item", "tenant", "store", "sku"),
)

# allotted: everything ever granted minus what was given back; sold: what the station
# reported sold, net of returns. remaining = allotted - sold is what it may still sell.
allotments = Table(
    "allotments",
    metadata,
    Column("station", String, ForeignKey("stations.id"), primary_key=True),
    Column("sku", String, primary_key=True),
    Column("allotted", BigInteger, nullable=False, server_default=text("0")),
    Column("sold", BigInteger, nullable=False, server_default=text("0")),
    Column("updated_at", String, nullable=False),
)

alerts = Table(
    "alerts",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("station", String, index=True),
    Column("kind", String, nullable=False),
    Column("message", Text, nullable=False),
    Column("data", JsonText, nullable=False),
    Column("at", String, nullable=False),
    Column("cleared_at", String),
)

commands = Table(
    "commands",
    metadata,
    Column("id", String, primary_key=True),
    Column("station", String, ForeignKey("stations.id"), nullable=False, index=True),
    Column("name", String, nullable=False),
    Column("args", JsonText, nullable=False),
    Column("status", String, nullable=False),
    Column("dn_seq", BigInteger, nullable=False),
    Column("created_at", String, nullable=False),
    Column("expires_at", String, nullable=False),
    Column("updated_at", String, nullable=False),
    Column("result", JsonText),
    CheckConstraint(_in("status", COMMAND_STATUSES), name="status"),
)


# Tables of later features live beside their code; importing them here keeps one metadata.
from cloud import (  # noqa: E402, F401
    schema_allocation,
    schema_intake,
    schema_ops,
    schema_pairing,
)
