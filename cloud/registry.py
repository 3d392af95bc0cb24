"""The station registry: who exists, which tenant and store, online or not, what it reports.

A station registers itself: its first batch, presence or telemetry creates it under the
tenant of the topic. Its store comes from its presence birth (``{"store": …}``) or from
:func:`register`. Presence carries a session counter that grows with every connection, so
a late Will of an older session never marks a reconnected station offline.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import Connection, func, select, update

from cloud import catalog, streams
from cloud.alerts import raise_alert
from cloud.db import insert_ignore
from cloud.errors import InvalidInput, NotFound, WrongTenant
from cloud.schema import alerts, allotments, stations, stream_state
from cloud.text import clean, is_token
from edge.protocol import printable, utc_now

log = logging.getLogger(__name__)


def ensure_station(conn: Connection, tenant: str, station: str) -> dict[str, Any]:
    """The station's row, registering it under ``tenant`` when it is new (a new station
    gets its streams and the tenant's catalog queued ``dn``).

    Raises WrongTenant when it is registered with another tenant."""
    row = conn.execute(select(stations).where(stations.c.id == station)).mappings().first()
    if row is None:
        now = utc_now()
        if insert_ignore(
            conn,
            stations,
            {
                "id": station,
                "tenant": tenant,
                "online": False,
                "session": 0,
                "registered_at": now,
                "updated_at": now,
            },
        ):
            log.info("station %s registered for tenant %s", station, tenant)
            streams.create(conn, station)
            catalog.push_catalog(conn, station, tenant)
        row = conn.execute(select(stations).where(stations.c.id == station)).mappings().one()
    if row["tenant"] != tenant:
        raise WrongTenant(
            f"station {station} belongs to tenant {row['tenant']}, not {tenant}; "
            "check the station's [station] tenant and its broker credentials"
        )
    return dict(row)


def register(conn: Connection, tenant: str, station: str, store: str) -> dict[str, Any]:
    """Register a station (or confirm it) with its store."""
    ensure_station(conn, tenant, station)
    _set_store(conn, station, store)
    return get_station(conn, station)


def _remaining_allotment(conn: Connection, station: str) -> int:
    total = conn.execute(
        select(func.coalesce(func.sum(allotments.c.allotted - allotments.c.sold), 0)).where(
            allotments.c.station == station
        )
    ).scalar_one()
    return int(total)


def _set_store(conn: Connection, station: str, store: str) -> None:
    if not is_token(store):
        raise InvalidInput("a store id must be a non-empty printable string")
    current = conn.execute(select(stations.c.store).where(stations.c.id == station)).scalar()
    if current == store:
        return
    if current is not None and _remaining_allotment(conn, station):
        raise_alert(
            conn,
            station,
            "store_change_refused",
            f"station {station} reports store {printable(store)} but still holds "
            f"allotments of store {current}; release them first",
            {"from": current, "to": store},
            dedupe=True,
        )
        return
    conn.execute(
        update(stations).where(stations.c.id == station).values(store=store, updated_at=utc_now())
    )
    log.info("station %s is in store %s", station, store)


def on_presence(conn: Connection, tenant: str, station: str, payload: dict[str, Any]) -> bool:
    """Apply a presence message (birth or Will); False when it was stale and ignored.

    ``payload`` is what :func:`edge.wire.parse_presence` returns: ``online`` (bool),
    ``session`` (int, grows with every connection) and, on a birth, optionally ``store``
    and ``version``."""
    session = payload.get("session")
    if not isinstance(session, int) or isinstance(session, bool) or session < 0:
        raise InvalidInput(f"presence of {station} needs a non-negative integer 'session'")
    online = bool(payload.get("online"))
    row = ensure_station(conn, tenant, station)
    if session < row["session"]:
        log.info(
            "station %s: ignored %s of session %d (current session %d)",
            station,
            "birth" if online else "will",
            session,
            row["session"],
        )
        return False
    now = utc_now()
    values: dict[str, Any] = {"online": online, "session": session, "updated_at": now}
    if online:
        values["last_seen"] = now
        if isinstance(payload.get("version"), str):
            values["version"] = clean(payload["version"], 64)
    conn.execute(update(stations).where(stations.c.id == station).values(**values))
    if online and is_token(payload.get("store")):
        _set_store(conn, station, payload["store"])
    if online != row["online"]:
        state = "online" if online else "offline"
        log.info("station %s is %s (session %d)", station, state, session)
    return True


def on_telemetry(conn: Connection, tenant: str, station: str, data: dict[str, Any]) -> None:
    """Keep the station's latest telemetry; it also counts as a sign of life."""
    ensure_station(conn, tenant, station)
    values: dict[str, Any] = {"telemetry": data, "last_seen": utc_now(), "updated_at": utc_now()}
    if isinstance(data.get("version"), str):
        values["version"] = clean(data["version"], 64)
    conn.execute(update(stations).where(stations.c.id == station).values(**values))


def _describe(conn: Connection, row: dict[str, Any]) -> dict[str, Any]:
    station = dict(row)
    states = {
        r["stream"]: r
        for r in conn.execute(
            select(stream_state).where(stream_state.c.station == row["id"])
        ).mappings()
    }
    up, dn = states.get("up"), states.get("dn")
    station["up"] = {
        "applied": int(up["seq"]) if up else 0,
        "gap_from": up["gap_from"] if up else None,
    }
    station["dn"] = {
        "last_seq": int(dn["seq"]) if dn else 0,
        "acked": int(dn["acked"]) if dn else 0,
        "backlog": int(dn["seq"]) - int(dn["acked"]) if dn else 0,
    }
    station["open_alerts"] = int(
        conn.execute(
            select(func.count())
            .select_from(alerts)
            .where(alerts.c.station == row["id"], alerts.c.cleared_at.is_(None))
        ).scalar_one()
    )
    telemetry = row.get("telemetry") or {}
    station["printers"] = telemetry.get("printers", {}) if isinstance(telemetry, dict) else {}
    return station


def get_station(conn: Connection, station: str) -> dict[str, Any]:
    """One station with its stream positions, open alert count and printer status."""
    row = conn.execute(select(stations).where(stations.c.id == station)).mappings().first()
    if row is None:
        raise NotFound(f"no station {station}")
    return _describe(conn, dict(row))


def list_stations(conn: Connection, tenant: str | None = None) -> list[dict[str, Any]]:
    """Every station (of one tenant), by id."""
    query = select(stations).order_by(stations.c.id)
    if tenant is not None:
        query = query.where(stations.c.tenant == tenant)
    return [_describe(conn, dict(r)) for r in conn.execute(query).mappings()]


def station_ids(conn: Connection, tenant: str) -> list[str]:
    """Ids of the tenant's stations, sorted (the order in which dn streams are locked)."""
    return list(
        conn.execute(
            select(stations.c.id).where(stations.c.tenant == tenant).order_by(stations.c.id)
        ).scalars()
    )
