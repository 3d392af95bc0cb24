"""Alerts for central operations: raised by ingest (chain breaks, rejected events, oversold
stock, stale gaps) and by the periodic rule evaluator (station offline, printer out of paper
or offline, outbox / print queue / dn backlog, allotment exhausted, waybill pool low).

An alert is one row of ``alerts``; ``dedupe`` keeps one open alert per station and kind.
Alerts raised by ingest stay open until staff clear them; alerts of the rule evaluator
(:data:`RULE_KINDS`) clear themselves when their condition is gone. Every raise and clear
queues a notice in ``alert_deliveries`` in the same transaction; :func:`deliver_due` posts
the notices to the configured webhook later, outside any ingest transaction, retrying with
back-off until one succeeds (at least once: a receiver de-duplicates on ``notice_id``).
"""

from __future__ import annotations

import json
import logging
import urllib.error
import urllib.request
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, and_, delete, select, update

from cloud.config import HubConfig
from cloud.db import transaction
from cloud.schema import alerts, allotments, stations, stream_state
from cloud.schema_ops import alert_deliveries
from edge.protocol import format_time, printable, utc_now

log = logging.getLogger(__name__)

RULE_KINDS = (
    "station_offline",
    "printer_problem",
    "outbox_backlog",
    "print_queue_backlog",
    "dn_backlog",
    "allotment_exhausted",
    "waybill_pool_low",
)
MAX_BACKOFF_S = 600.0


def _notice(conn: Connection, alert_id: int, event: str) -> None:
    row = conn.execute(select(alerts).where(alerts.c.id == alert_id)).mappings().one()
    now = utc_now()
    payload = {
        "notice_id": f"{alert_id}-{event}",
        "event": event,
        "alert": {
            "id": alert_id,
            "station": row["station"],
            "kind": row["kind"],
            "message": row["message"],
            "data": row["data"],
            "at": row["at"],
            "cleared_at": row["cleared_at"],
        },
    }
    conn.execute(
        alert_deliveries.insert().values(
            alert_id=alert_id, event=event, payload=payload, next_at=now, created_at=now
        )
    )


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
    if not key:
        return None
    _notice(conn, int(key[0]), "raised")
    return int(key[0])


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


def recent_alerts(
    conn: Connection, *, station: str | None = None, limit: int = 50
) -> list[dict[str, Any]]:
    """Alerts open or cleared, newest first."""
    query = select(alerts)
    if station is not None:
        query = query.where(alerts.c.station == station)
    rows = conn.execute(query.order_by(alerts.c.id.desc()).limit(limit)).mappings()
    return [dict(r) for r in rows]


def _clear_ids(conn: Connection, ids: Iterable[int]) -> int:
    cleared = 0
    for alert_id in ids:
        result = conn.execute(
            update(alerts)
            .where(alerts.c.id == alert_id, alerts.c.cleared_at.is_(None))
            .values(cleared_at=utc_now())
        )
        if result.rowcount:
            cleared += 1
            _notice(conn, alert_id, "cleared")
    return cleared


def clear_alert(conn: Connection, alert_id: int) -> bool:
    """Close one alert; False when it does not exist or was already closed."""
    return _clear_ids(conn, [alert_id]) > 0


def clear_kind(conn: Connection, station: str, kind: str) -> int:
    """Close every open alert of one kind for a station; returns how many."""
    ids = conn.execute(
        select(alerts.c.id)
        .where(alerts.c.station == station, alerts.c.kind == kind)
        .where(alerts.c.cleared_at.is_(None))
    ).scalars()
    return _clear_ids(conn, list(ids))


# -- the rule evaluator ---------------------------------------------------------------------

Firing = dict[tuple[str | None, str], tuple[str, dict[str, Any]]]


def _ago(now: datetime, seconds: float) -> str:
    return format_time(now - timedelta(seconds=seconds))


def _station_rules(conn: Connection, config: HubConfig, now: datetime, firing: Firing) -> None:
    rules = config.alerts
    offline_since = _ago(now, rules.offline_after_min * 60)
    stale = _ago(now, config.hub.offline_after_s)
    rows = conn.execute(
        select(
            stations.c.id,
            stations.c.online,
            stations.c.last_seen,
            stations.c.updated_at,
            stations.c.telemetry,
        )
    ).all()
    for station, online, last_seen, updated_at, telemetry in rows:
        seen = last_seen or updated_at
        down_since = updated_at if not online else seen
        if (not online or seen < stale) and down_since <= offline_since:
            firing[(station, "station_offline")] = (
                f"station {station} has been offline since {down_since}",
                {"since": down_since, "last_seen": last_seen},
            )
        tele = telemetry if isinstance(telemetry, dict) else {}
        printers = tele.get("printers")
        bad = {}
        for name, state in printers.items() if isinstance(printers, dict) else ():
            if not isinstance(state, dict):
                continue
            if state.get("paper") == "out" or state.get("online") is False:
                bad[str(name)] = {
                    "online": state.get("online"),
                    "paper": state.get("paper"),
                    "reason": printable(str(state.get("reason") or ""), 200),
                }
        if bad:
            what = ", ".join(
                f"{n} {'out of paper' if s['paper'] == 'out' else 'offline'}"
                for n, s in sorted(bad.items())
            )
            firing[(station, "printer_problem")] = (f"station {station}: {what}", bad)
        outbox = tele.get("outbox_depth")
        if isinstance(outbox, int) and outbox > rules.outbox_backlog:
            firing[(station, "outbox_backlog")] = (
                f"station {station}: {outbox} events wait in its outbox",
                {"depth": outbox, "threshold": rules.outbox_backlog},
            )
        queue = tele.get("print_queue")
        waiting = (
            sum(v for v in queue.values() if isinstance(v, int)) if isinstance(queue, dict) else 0
        )
        if waiting > rules.print_queue_backlog:
            firing[(station, "print_queue_backlog")] = (
                f"station {station}: {waiting} print jobs wait",
                {"depth": waiting, "threshold": rules.print_queue_backlog},
            )


def _stream_rules(conn: Connection, config: HubConfig, firing: Firing) -> None:
    rows = conn.execute(
        select(stream_state.c.station, stream_state.c.seq - stream_state.c.acked).where(
            stream_state.c.stream == "dn",
            stream_state.c.seq - stream_state.c.acked > config.alerts.dn_backlog,
        )
    ).all()
    for station, backlog in rows:
        firing[(station, "dn_backlog")] = (
            f"station {station} has not taken {backlog} hub events",
            {"backlog": int(backlog), "threshold": config.alerts.dn_backlog},
        )


def _allotment_rules(conn: Connection, firing: Firing) -> None:
    rows = conn.execute(
        select(allotments.c.station, allotments.c.sku)
        .where(and_(allotments.c.sold > 0, allotments.c.allotted - allotments.c.sold <= 0))
        .order_by(allotments.c.station, allotments.c.sku)
    ).all()
    exhausted: dict[str, list[str]] = {}
    for station, sku in rows:
        exhausted.setdefault(station, []).append(sku)
    for station, skus in exhausted.items():
        firing[(station, "allotment_exhausted")] = (
            f"station {station} has sold all it was allotted of {', '.join(skus[:10])}"
            + (f" and {len(skus) - 10} more" if len(skus) > 10 else ""),
            {"skus": skus},
        )


def _waybill_rules(conn: Connection, config: HubConfig, firing: Firing) -> None:
    """Carriers' waybill ranges with fewer than ``[alerts] waybill_pool_low`` numbers left
    to hand to stations: one hub-wide alert naming them."""
    from cloud.schema_allocation import waybill_ranges

    left = waybill_ranges.c.last - waybill_ranges.c.next + 1
    rows = conn.execute(
        select(waybill_ranges.c.tenant, waybill_ranges.c.carrier, left)
        .where(left < config.alerts.waybill_pool_low)
        .order_by(waybill_ranges.c.tenant, waybill_ranges.c.carrier)
    ).all()
    if rows:
        pools = [{"tenant": t, "carrier": c, "left": max(0, int(n))} for t, c, n in rows]
        firing[(None, "waybill_pool_low")] = (
            "waybill pool low: "
            + ", ".join(f"{p['carrier']} ({p['tenant']}) {p['left']} left" for p in pools),
            {"pools": pools, "threshold": config.alerts.waybill_pool_low},
        )


def evaluate(conn: Connection, config: HubConfig, now: datetime | None = None) -> dict[str, int]:
    """Run every rule once: raise what fires and is not open yet, clear what no longer
    fires. Returns ``{"raised": n, "cleared": n}``."""
    moment = now or datetime.now(UTC)
    firing: Firing = {}
    _station_rules(conn, config, moment, firing)
    _stream_rules(conn, config, firing)
    _allotment_rules(conn, firing)
    _waybill_rules(conn, config, firing)
    open_rows = conn.execute(
        select(alerts.c.id, alerts.c.station, alerts.c.kind, alerts.c.data).where(
            alerts.c.cleared_at.is_(None), alerts.c.kind.in_(RULE_KINDS)
        )
    ).all()
    open_keys = {(s, k): i for i, s, k, _ in open_rows}
    open_data = {i: d for i, _, _, d in open_rows}
    raised = 0
    for (station, kind), (message, data) in sorted(firing.items(), key=str):
        alert_id = open_keys.get((station, kind))
        if alert_id is None:
            raise_alert(conn, station, kind, message, data)
            raised += 1
        elif open_data[alert_id] != data:  # still firing, with other figures: keep it current
            conn.execute(
                update(alerts).where(alerts.c.id == alert_id).values(message=message, data=data)
            )
    gone = [i for key, i in open_keys.items() if key not in firing]
    cleared = _clear_ids(conn, gone)
    for key in (k for k in open_keys if k not in firing):
        log.info("alert %s for station %s recovered", key[1], key[0])
    return {"raised": raised, "cleared": cleared}


# -- webhook delivery -----------------------------------------------------------------------


def _post(url: str, payload: dict[str, Any], timeout: float) -> None:
    body = json.dumps(payload, ensure_ascii=False).encode()
    req = urllib.request.Request(  # noqa: S310 - the operator's configured http(s) URL
        url,
        data=body,
        method="POST",
        headers={"Content-Type": "application/json", "User-Agent": "printstation-hub"},
    )
    with urllib.request.urlopen(req, timeout=timeout) as resp:  # noqa: S310
        resp.read()


def deliver_due(engine: Engine, config: HubConfig, limit: int = 50) -> dict[str, int]:
    """Post due notices to the webhook in the order they were made; returns ``{"sent",
    "failed"}``.

    The HTTP posts run outside any transaction; a failed post is tried again after
    2, 4, 8… seconds (at most ten minutes) until ``[alerts] webhook_attempts``, and the
    notices after it wait for it, so a receiver sees a raise before its recovery."""
    url = config.alerts.webhook_url
    if not url:
        return {"sent": 0, "failed": 0}
    now = utc_now()
    with transaction(engine) as conn:
        due = conn.execute(
            select(
                alert_deliveries.c.id,
                alert_deliveries.c.payload,
                alert_deliveries.c.attempts,
                alert_deliveries.c.next_at,
            )
            .where(
                alert_deliveries.c.delivered_at.is_(None),
                alert_deliveries.c.attempts < config.alerts.webhook_attempts,
            )
            .order_by(alert_deliveries.c.id)
            .limit(limit)
        ).all()
    sent = failed = 0
    for delivery_id, payload, attempts, next_at in due:
        if next_at > now:
            break  # the oldest notice is waiting to be retried: later ones keep their turn
        try:
            _post(url, payload, config.alerts.webhook_timeout_s)
        except (OSError, urllib.error.URLError, ValueError) as err:
            failed += 1
            wait = min(MAX_BACKOFF_S, 2.0 ** (attempts + 1))
            retry_at = format_time(datetime.now(UTC) + timedelta(seconds=wait))
            with transaction(engine) as conn:
                conn.execute(
                    update(alert_deliveries)
                    .where(alert_deliveries.c.id == delivery_id)
                    .values(attempts=attempts + 1, next_at=retry_at, last_error=str(err)[:500])
                )
            log.warning("alert webhook post failed (try %d): %s", attempts + 1, err)
            break  # the receiver is down: keep the order, try the rest later
        sent += 1
        with transaction(engine) as conn:
            conn.execute(
                update(alert_deliveries)
                .where(alert_deliveries.c.id == delivery_id)
                .values(attempts=attempts + 1, delivered_at=utc_now(), last_error=None)
            )
    return {"sent": sent, "failed": failed}


def prune_deliveries(conn: Connection, older_than: str) -> int:
    """Delete notices created before ``older_than`` (delivered or given up)."""
    result = conn.execute(
        delete(alert_deliveries).where(alert_deliveries.c.created_at < older_than)
    )
    return result.rowcount


class OpsHousekeeping:
    """The hub's periodic ops work, on its own thread beside the dn dispatcher so a slow
    webhook never delays dn traffic: evaluate the alert rules, keep a telemetry sample per
    station, post due webhook notices, and delete old history and notices."""

    def __init__(self, config: HubConfig, engine: Engine, every_s: float = 5.0):
        import threading

        self.config, self.engine, self.every_s = config, engine, every_s
        self._halt = threading.Event()
        self._thread = threading.Thread(target=self._run, name="ops", daemon=True)
        self._last_sample = 0.0
        self._last_prune = 0.0

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._halt.set()
        if self._thread.is_alive():
            self._thread.join(timeout=self.config.alerts.webhook_timeout_s + 5)

    def is_alive(self) -> bool:
        return self._thread.is_alive()

    def run_once(self) -> None:
        import time

        from cloud import registry

        with transaction(self.engine) as conn:
            evaluate(conn, self.config)
        now = time.monotonic()
        if now - self._last_sample >= self.config.dashboard.history_every_s:
            self._last_sample = now
            with transaction(self.engine) as conn:
                registry.sample_history(conn)
        if now - self._last_prune >= 3600:
            self._last_prune = now
            older = _ago(datetime.now(UTC), self.config.dashboard.history_days * 86400)
            with transaction(self.engine) as conn:
                registry.prune_history(conn, older)
                prune_deliveries(conn, older)
        deliver_due(self.engine, self.config)

    def _run(self) -> None:
        while not self._halt.wait(self.every_s):
            try:
                self.run_once()
            except Exception:
                log.exception("ops housekeeping failed; trying again")
