"""The station registry: who exists, which tenant and store, online or not, what it reports.

A station registers itself: its first batch, presence or telemetry creates it under the
tenant of the topic. Its store comes from its presence birth (``{"store": …}``) or from
:func:`register`. Presence carries a session counter that grows with every connection, so
a late Will of an older session never marks a reconnected station offline.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, func, or_, select, update

from cloud import catalog, streams
from cloud.alerts import raise_alert
from cloud.db import insert_ignore
from cloud.errors import InvalidInput, NotFound, WrongTenant
from cloud.schema import alerts, allotments, stations, stream_state
from cloud.schema_ops import telemetry_history
from cloud.text import clean, is_token
from edge.protocol import format_time, printable, utc_now

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


def scan_total(telemetry: Any) -> int:
    """Scans counted by all of a station's scanners since their service started."""
    scanners = telemetry.get("scanners") if isinstance(telemetry, dict) else None
    if not isinstance(scanners, dict):
        return 0
    return sum(
        int(s["scans"])
        for s in scanners.values()
        if isinstance(s, dict) and isinstance(s.get("scans"), int)
    )


def _history_point(station: str, at: str, online: bool, data: Any) -> dict[str, Any]:
    tele: dict[str, Any] = data if isinstance(data, dict) else {}
    printers = tele.get("printers")
    printers = printers if isinstance(printers, dict) else {}
    queue = tele.get("print_queue")
    queue = queue if isinstance(queue, dict) else {}
    point: dict[str, Any] = {
        "online": bool(online),
        "outbox_depth": tele.get("outbox_depth"),
        "print_queue": sum(v for v in queue.values() if isinstance(v, int)),
        "disk_free_mb": tele.get("disk_free_mb"),
        "scans": scan_total(tele),
        "printers": {
            str(name): {"online": s.get("online"), "paper": s.get("paper")}
            for name, s in printers.items()
            if isinstance(s, dict)
        },
    }
    return {"station": station, "at": at, "data": point}


def sample_history(conn: Connection) -> int:
    """Keep one telemetry sample of every station online or heard from in the last day (the
    dashboard's charts); returns how many. Run every ``[dashboard] history_every_s`` by the
    ops housekeeping, so ingest does no extra work per telemetry message."""
    now = utc_now()
    day_ago = format_time(datetime.now(UTC) - timedelta(days=1))
    rows = [
        _history_point(sid, now, online, tele)
        for sid, online, tele in conn.execute(
            select(stations.c.id, stations.c.online, stations.c.telemetry).where(
                or_(stations.c.online.is_(True), stations.c.updated_at >= day_ago)
            )
        ).all()
    ]
    if rows:
        conn.execute(telemetry_history.insert(), rows)
    return len(rows)


def prune_history(conn: Connection, older_than: str) -> int:
    """Delete telemetry samples taken before ``older_than``."""
    result = conn.execute(telemetry_history.delete().where(telemetry_history.c.at < older_than))
    return result.rowcount


def history(conn: Connection, station: str, since: str) -> list[dict[str, Any]]:
    """The station's telemetry samples since ``since``, oldest first."""
    rows = conn.execute(
        select(telemetry_history.c.at, telemetry_history.c.data)
        .where(telemetry_history.c.station == station, telemetry_history.c.at >= since)
        .order_by(telemetry_history.c.at)
    ).all()
    return [{"at": at, **data} for at, data in rows]
