"""First-boot pairing of new stations.
Tables share :data:`cloud.schema.metadata`; the
migration ``0004_pairing`` creates them."""

from __future__ import annotations

from sqlalchemy import Column, Index, String, Table

from cloud.schema import BigId, metadata

# One row per code a new station has shown (a station may show a new code after a
# restart; each row stands alone). ``code_hash`` is the SHA-256 of the code, so the table
# never holds a usable code. ``password`` is the MQTT password made at claim time; it is
# kept only until the station has fetched it (then cleared), and ``delivered_at`` is set.
pairing_requests = Table(
    "pairing_requests",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("station", String, nullable=False),
    Column("tenant", String, nullable=False),
    Column("store", String, nullable=False),
    Column("code_hash", String, nullable=False),
    Column("created_at", String, nullable=False),
    Column("last_poll_at", String, nullable=False),
    Column("claimed_at", String),
    Column("claimed_by", String),
    Column("password", String),
    Column("delivered_at", String),
    Index("ix_pairing_requests_station_code_hash", "station", "code_hash", unique=True),
)
