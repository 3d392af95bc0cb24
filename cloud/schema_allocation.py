"""Allocation rules and decisions, carriers, waybill pools, returns.
Tables share :data:`cloud.schema.metadata`; the
migration ``0005_allocation`` creates them."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    text,
)

from cloud.schema import BigId, JsonText, _in, metadata

RETURN_STATUSES = ("requested", "received", "restocked", "rejected")
WAYBILL_SCHEMES = ("mod7", "s10")

# Where a store is: its province and city decide which orders it is near.
stores = Table(
    "stores",
    metadata,
    Column("tenant", String, primary_key=True),
    Column("id", String, primary_key=True),
    Column("province", String, nullable=False),
    Column("city", String, nullable=False, server_default=text("''")),
    Column("updated_at", String, nullable=False),
)

# Every allocation decision: the candidates with their scores, the winner (NULL when none
# could take the order) and the reason in words.
allocation_decisions = Table(
    "allocation_decisions",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("order_id", String, ForeignKey("orders.id"), nullable=False, index=True),
    Column("at", String, nullable=False),
    Column("station", String),
    Column("previous", String),
    Column("reason", Text, nullable=False),
    Column("candidates", JsonText, nullable=False),
    Column("source", String, nullable=False),
)

# Units an allocated order will take from its station's allotment when it is packed; they
# count only while the order is not packed yet (joined with its status).
allocation_reservations = Table(
    "allocation_reservations",
    metadata,
    Column("order_id", String, ForeignKey("orders.id"), primary_key=True),
    Column("sku", String, primary_key=True),
    Column("station", String, nullable=False),
    Column("qty", BigInteger, nullable=False),
    Index("ix_allocation_reservations_sku", "sku", "station"),
)

# A carrier: coverage, zones, service levels and rates live in ``data`` as sent.
carriers = Table(
    "carriers",
    metadata,
    Column("tenant", String, primary_key=True),
    Column("code", String, primary_key=True),
    Column("name", String, nullable=False),
    Column("data", JsonText, nullable=False),
    Column("updated_at", String, nullable=False),
)

# The serial numbers a carrier gave the tenant; ``next`` is the first not yet granted.
waybill_ranges = Table(
    "waybill_ranges",
    metadata,
    Column("tenant", String, primary_key=True),
    Column("carrier", String, primary_key=True),
    Column("prefix", String, nullable=False, server_default=text("''")),
    Column("suffix", String, nullable=False, server_default=text("''")),
    Column("width", Integer, nullable=False),
    Column("scheme", String, nullable=False),
    Column("first", BigInteger, nullable=False),
    Column("last", BigInteger, nullable=False),
    Column("next", BigInteger, nullable=False),
    Column("updated_at", String, nullable=False),
    CheckConstraint(_in("scheme", WAYBILL_SCHEMES), name="scheme"),
)

# A block of serials granted to one station; ``used`` is what it reported printed.
waybill_blocks = Table(
    "waybill_blocks",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("tenant", String, nullable=False),
    Column("carrier", String, nullable=False),
    Column("station", String, ForeignKey("stations.id"), nullable=False),
    Column("first", BigInteger, nullable=False),
    Column("last", BigInteger, nullable=False),
    Column("used", BigInteger, nullable=False, server_default=text("0")),
    Column("granted_at", String, nullable=False),
    Index("ix_waybill_blocks_station", "station", "carrier"),
)

returns = Table(
    "returns",
    metadata,
    Column("id", String, primary_key=True),
    Column("tenant", String, nullable=False),
    Column("number", String, nullable=False, unique=True),
    Column("order_id", String, ForeignKey("orders.id"), nullable=False, index=True),
    Column("station", String),
    Column("status", String, nullable=False),
    Column("lines", JsonText, nullable=False),
    Column("reason", Text, nullable=False, server_default=text("''")),
    Column("source", String, nullable=False),
    Column("created_at", String, nullable=False),
    Column("updated_at", String, nullable=False),
    CheckConstraint(_in("status", RETURN_STATUSES), name="status"),
)
