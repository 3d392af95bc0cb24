"""Alerts for central operations: chain breaks, rejected events, oversold stock, stale gaps.

An alert stays open until someone clears it. ``dedupe`` keeps one open alert per station
and kind, for conditions that repeat until they are fixed.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import Connection, select, update

from cloud.schema import alerts
from edge.protocol import utc_now

log = logging.getLogger(__name__)


def raise_alert(
    conn: Connection,
    station: str | None,
    kind: str,
    message: str,
    data: dict[str, Any] | None = None,
    *,
    dedupe: bool = False,
) -> int | None:
    """Open an alert; returns its id, or None when ``dedupe`` found one already open."""
    if dedupe:
        open_one = conn.execute(
            select(alerts.c.id)
            .where(alerts.c.station == station, alerts.c.kind == kind)
            .where(alerts.c.cleared_at.is_(None))
            .limit(1)
        ).scalar()
        if open_one is not None:
            return None
    log.warning("alert %s for station %s: %s", kind, station, message)
    result = conn.execute(
        alerts.insert().values(
            station=station, kind=kind, message=message, data=data or {}, at=utc_now()
        )
    )
    key = result.inserted_primary_key
    return int(key[0]) if key else None


def open_alerts(
    conn: Connection, *, station: str | None = None, kind: str | None = None, limit: int = 100
) -> list[dict[str, Any]]:
    """Open alerts, newest first."""
    query = select(alerts).where(alerts.c.cleared_at.is_(None))
    if station is not None:
        query = query.where(alerts.c.station == station)
    if kind is not None:
        query = query.where(alerts.c.kind == kind)
    rows = conn.execute(query.order_by(alerts.c.id.desc()).limit(limit)).mappings()
    return [dict(r) for r in rows]


def clear_alert(conn: Connection, alert_id: int) -> bool:
    """Close one alert; False when it does not exist or was already closed."""
    result = conn.execute(
        update(alerts)
        .where(alerts.c.id == alert_id, alerts.c.cleared_at.is_(None))
        .values(cleared_at=utc_now())
    )
    return result.rowcount > 0


def clear_kind(conn: Connection, station: str, kind: str) -> int:
    """Close every open alert of one kind for a station; returns how many."""
    result = conn.execute(
        update(alerts)
        .where(alerts.c.station == station, alerts.c.kind == kind)
        .where(alerts.c.cleared_at.is_(None))
        .values(cleared_at=utc_now())
    )
    return result.rowcount
