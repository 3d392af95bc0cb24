"""Ops dashboard: staff users and roles, telemetry history, alert delivery.
Tables share :data:`cloud.schema.metadata`; the
migration ``0003_ops`` creates them."""

from __future__ import annotations

from sqlalchemy import BigInteger, CheckConstraint, Column, Index, String, Table, Text, text

from cloud.schema import BigId, JsonText, metadata

ROLES = ("viewer", "operator", "admin")

# Hub staff who log in to the dashboard; ``password_hash`` is a werkzeug scrypt hash.
hub_users = Table(
    "hub_users",
    metadata,
    Column("name", String, primary_key=True),
    Column("password_hash", String, nullable=False),
    Column("role", String, nullable=False),
    Column("created_at", String, nullable=False),
    Column("last_login", String),
    CheckConstraint("role IN ('viewer', 'operator', 'admin')", name="role"),
)

# Station telemetry, downsampled to one row per station per ``[dashboard] history_every_s``
# and deleted after ``history_days``: the station page's charts.
telemetry_history = Table(
    "telemetry_history",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("station", String, nullable=False),
    Column("at", String, nullable=False),
    Column("data", JsonText, nullable=False),
    Index("ix_telemetry_history_station_at", "station", "at"),
    Index("ix_telemetry_history_at", "at"),
)

# One row per webhook notice (an alert raised or cleared): sent at least once, retried
# with back-off until ``delivered_at`` is set or ``attempts`` runs out.
alert_deliveries = Table(
    "alert_deliveries",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("alert_id", BigInteger, nullable=False),
    Column("event", String, nullable=False),
    Column("payload", JsonText, nullable=False),
    Column("attempts", BigInteger, nullable=False, server_default=text("0")),
    Column("next_at", String, nullable=False),
    Column("delivered_at", String),
    Column("last_error", Text),
    Column("created_at", String, nullable=False),
    CheckConstraint("event IN ('raised', 'cleared')", name="event"),
    Index("ix_alert_deliveries_pending", "delivered_at", "next_at"),
)
