"""What the dashboard pages show, read from the hub database in few, set-based queries
(the overview of 1,000 stations is three queries, not three per station)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, func, select

from cloud import registry
from cloud.config import HubConfig
from cloud.metrics import parse_time
from cloud.schema import alerts, inbox, order_timeline, orders, stations, stream_state
from cloud.schema_ops import telemetry_history
from edge.protocol import PRINT_JOB_QUEUED, PRINT_JOB_STATE, format_time

RATE_WINDOW_S = 60


def _printers(tele: dict[str, Any]) -> dict[str, dict[str, Any]]:
    printers = tele.get("printers")
    if not isinstance(printers, dict):
        return {}
    return {
        str(name): {
            "online": s.get("online"),
            "paper": s.get("paper", "unknown"),
            "paused": bool(s.get("paused")),
            "queue": s.get("queue", 0),
            "reason": s.get("reason") or "",
        }
        for name, s in printers.items()
        if isinstance(s, dict)
    }


def _scanners(tele: dict[str, Any]) -> dict[str, dict[str, Any]]:
    scanners = tele.get("scanners")
    if not isinstance(scanners, dict):
        return {}
    return {
        str(name): {"connected": s.get("connected"), "last_error": s.get("last_error") or ""}
        for name, s in scanners.items()
        if isinstance(s, dict)
    }


def _paper(printers: dict[str, dict[str, Any]]) -> str:
    papers = {p["paper"] for p in printers.values()}
    for state in ("out", "low", "ok"):
        if state in papers:
            return state
    return "unknown"


def _scan_baseline(conn: Connection, now: datetime) -> tuple[datetime | None, dict[str, int]]:
    """The newest telemetry sample batch at least a minute old: station → scan total."""
    cutoff = format_time(now - timedelta(seconds=RATE_WINDOW_S))
    at = conn.execute(
        select(func.max(telemetry_history.c.at)).where(telemetry_history.c.at <= cutoff)
    ).scalar()
    if at is None:
        return None, {}
    rows = conn.execute(
        select(telemetry_history.c.station, telemetry_history.c.data).where(
            telemetry_history.c.at == at
        )
    ).all()
    return parse_time(at), {s: int(d.get("scans") or 0) for s, d in rows}


def is_online(online: bool, last_seen: str | None, stale: str) -> bool:
    """Presence says online and the station was heard from recently."""
    return bool(online) and last_seen is not None and last_seen >= stale


def overview(
    conn: Connection, config: HubConfig, now: datetime | None = None, only: str | None = None
) -> dict[str, Any]:
    """Every station's state (or only station ``only``), a summary and the open alerts."""
    moment = now or datetime.now(UTC)
    stale = format_time(moment - timedelta(seconds=config.hub.offline_after_s))
    dn = dict(
        conn.execute(
            select(stream_state.c.station, stream_state.c.seq - stream_state.c.acked).where(
                stream_state.c.stream == "dn"
            )
        ).all()
    )
    open_by_station: dict[str | None, int] = dict(
        conn.execute(
            select(alerts.c.station, func.count())
            .where(alerts.c.cleared_at.is_(None))
            .group_by(alerts.c.station)
        ).all()
    )
    base_at, base_scans = _scan_baseline(conn, moment)
    out = []
    query = select(stations).order_by(stations.c.id)
    if only is not None:
        query = query.where(stations.c.id == only)
    for row in conn.execute(query).mappings():
        tele = row["telemetry"] if isinstance(row["telemetry"], dict) else {}
        printers = _printers(tele)
        queue = tele.get("print_queue")
        scans = registry.scan_total(tele)
        rate = None
        if base_at is not None and row["id"] in base_scans:
            minutes = max((moment - base_at).total_seconds() / 60, 1e-6)
            rate = round(max(0, scans - base_scans[row["id"]]) / minutes, 1)
        out.append(
            {
                "id": row["id"],
                "tenant": row["tenant"],
                "store": row["store"],
                "online": is_online(row["online"], row["last_seen"], stale),
                "last_seen": row["last_seen"],
                "version": row["version"],
                "printers": printers,
                "scanners": _scanners(tele),
                "paper": _paper(printers),
                "outbox_depth": tele.get("outbox_depth"),
                "print_queue": sum(v for v in queue.values() if isinstance(v, int))
                if isinstance(queue, dict)
                else None,
                "scans_per_min": rate,
                "dn_backlog": int(dn.get(row["id"], 0)),
                "open_alerts": int(open_by_station.get(row["id"], 0)),
            }
        )
    online = sum(1 for s in out if s["online"])
    recent = conn.execute(
        select(alerts).where(alerts.c.cleared_at.is_(None)).order_by(alerts.c.id.desc()).limit(20)
    ).mappings()
    return {
        "generated_at": format_time(moment),
        "summary": {
            "stations": len(out),
            "online": online,
            "offline": len(out) - online,
            "open_alerts": sum(open_by_station.values()),
        },
        "stations": out,
        "alerts": [dict(a) for a in recent],
    }


def print_jobs(conn: Connection, station: str, limit: int = 30) -> list[dict[str, Any]]:
    """The station's recent print jobs, from the events it synced (newest first)."""
    rows = conn.execute(
        select(inbox.c.kind, inbox.c.at, inbox.c.data)
        .where(inbox.c.station == station, inbox.c.kind.in_([PRINT_JOB_QUEUED, PRINT_JOB_STATE]))
        .order_by(inbox.c.seq.desc())
        .limit(limit * 4)
    ).all()
    jobs: dict[Any, dict[str, Any]] = {}
    for kind, at, data in reversed(rows):
        job_id = data.get("job_id") if isinstance(data, dict) else None
        if job_id is None:
            continue
        job = jobs.setdefault(job_id, {"job_id": job_id, "status": "queued", "at": at})
        if kind == PRINT_JOB_QUEUED:
            job.update(
                printer=data.get("printer"),
                kind=data.get("kind"),
                order_id=data.get("order_id"),
                reprint_of=data.get("reprint_of"),
                at=at,
            )
        else:
            job.update(status=data.get("status"), error=data.get("error"), updated_at=at)
    return sorted(jobs.values(), key=lambda j: str(j["at"]), reverse=True)[:limit]


def station_orders(conn: Connection, station: str, limit: int = 20) -> list[dict[str, Any]]:
    rows = conn.execute(
        select(
            orders.c.id,
            orders.c.number,
            orders.c.channel,
            orders.c.status,
            orders.c.total,
            orders.c.created_at,
        )
        .where(orders.c.station == station)
        .order_by(orders.c.created_at.desc())
        .limit(limit)
    ).mappings()
    return [dict(r) for r in rows]


def percentile(values: list[float], q: float) -> float | None:
    """Nearest-rank percentile (q in 0..100) of ``values``; None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * q // 100))
    return ordered[int(rank) - 1]


def order_flow(conn: Connection, now: datetime | None = None, days: int = 7) -> dict[str, Any]:
    """Orders per hour by channel and by station (last 48 hours), received-to-packed times
    (p50/p90/p99) per station and per day, and exception and error rates (last ``days``)."""
    moment = now or datetime.now(UTC)
    since_48h = format_time(moment - timedelta(hours=48))
    since = format_time(moment - timedelta(days=days))
    hour = func.substr(orders.c.created_at, 1, 13)
    per_hour = conn.execute(
        select(hour, orders.c.channel, orders.c.station, func.count())
        .where(orders.c.created_at >= since_48h)
        .group_by(hour, orders.c.channel, orders.c.station)
        .order_by(hour)
    ).all()
    by_channel: dict[str, dict[str, int]] = {}
    by_station: dict[str, dict[str, int]] = {}
    for h, channel, station, n in per_hour:
        key = f"{h}:00:00Z"
        by_channel.setdefault(channel, {}).setdefault(key, 0)
        by_channel[channel][key] += int(n)
        by_station.setdefault(station or "(none)", {}).setdefault(key, 0)
        by_station[station or "(none)"][key] += int(n)

    packed = (
        select(order_timeline.c.order_id, func.min(order_timeline.c.at).label("packed_at"))
        .where(order_timeline.c.status == "packed", order_timeline.c.at >= since)
        .group_by(order_timeline.c.order_id)
        .subquery()
    )
    rows = conn.execute(
        select(orders.c.station, orders.c.created_at, packed.c.packed_at).join(
            packed, packed.c.order_id == orders.c.id
        )
    ).all()
    per_station: dict[str, list[float]] = {}
    per_day: dict[str, list[float]] = {}
    for station, created, done in rows:
        try:
            seconds = max(0.0, (parse_time(done) - parse_time(created)).total_seconds())
        except ValueError:
            continue
        per_station.setdefault(station or "(none)", []).append(seconds)
        per_day.setdefault(done[:10], []).append(seconds)

    def summary(groups: dict[str, list[float]]) -> list[dict[str, Any]]:
        return [
            {
                "key": key,
                "count": len(values),
                "p50": percentile(values, 50),
                "p90": percentile(values, 90),
                "p99": percentile(values, 99),
            }
            for key, values in sorted(groups.items())
        ]

    created = conn.execute(
        select(func.count()).select_from(orders).where(orders.c.created_at >= since)
    ).scalar_one()
    excepted = conn.execute(
        select(func.count(func.distinct(order_timeline.c.order_id))).where(
            order_timeline.c.status == "exception", order_timeline.c.at >= since
        )
    ).scalar_one()
    jobs: dict[str, int] = dict(
        conn.execute(
            select(inbox.c.kind, func.count())
            .where(
                inbox.c.kind.in_([PRINT_JOB_QUEUED, PRINT_JOB_STATE]),
                inbox.c.at >= since,
                (inbox.c.kind != PRINT_JOB_STATE) | inbox.c.data.like('%"status":"failed"%'),
            )
            .group_by(inbox.c.kind)
        ).all()
    )
    queued, failed = int(jobs.get(PRINT_JOB_QUEUED, 0)), int(jobs.get(PRINT_JOB_STATE, 0))
    return {
        "since": since,
        "orders_per_hour": {"by_channel": by_channel, "by_station": by_station},
        "processing": {"by_station": summary(per_station), "by_day": summary(per_day)},
        "rates": {
            "orders": int(created),
            "exceptions": int(excepted),
            "exception_rate": round(excepted / created, 4) if created else None,
            "print_jobs": queued,
            "print_failures": failed,
            "print_error_rate": round(failed / queued, 4) if queued else None,
        },
    }
