"""Alert rules raise once, clear themselves with a recovery notice, and every notice
reaches a real webhook receiver at least once, retried after the receiver failed."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from sqlalchemy import select, update

from cloud import alerts, registry
from cloud.db import read_only, transaction
from cloud.schema import allotments, stations
from cloud.schema_ops import alert_deliveries
from edge.protocol import utc_now

from .conftest import hub_config

LATER = timedelta(minutes=10)


def _open(engine) -> set[tuple[str | None, str]]:
    with read_only(engine) as conn:
        return {(a["station"], a["kind"]) for a in alerts.open_alerts(conn)}


def _telemetry(**fields: Any) -> dict[str, Any]:
    return {
        "printers": {"label": {"online": True, "paper": "ok", "queue": 0}},
        "outbox_depth": 0,
        "print_queue": {},
        **fields,
    }


def _evaluate(engine, config, now=None) -> dict[str, int]:
    with transaction(engine) as conn:
        return alerts.evaluate(conn, config, now)


def test_station_offline_fires_after_n_minutes_and_recovers(engine, tmp_path):
    config = hub_config(tmp_path, alerts={"offline_after_min": 5})
    with transaction(engine) as conn:
        registry.on_presence(conn, "test", "st-01", {"online": True, "session": 1})
        registry.on_presence(conn, "test", "st-01", {"online": False, "session": 1})
    assert _evaluate(engine, config) == {"raised": 0, "cleared": 0}  # not yet 5 minutes
    later = datetime.now(UTC) + LATER
    assert _evaluate(engine, config, later) == {"raised": 1, "cleared": 0}
    assert _evaluate(engine, config, later) == {"raised": 0, "cleared": 0}  # deduplicated
    assert _open(engine) == {("st-01", "station_offline")}
    with transaction(engine) as conn:
        registry.on_presence(conn, "test", "st-01", {"online": True, "session": 2})
    assert _evaluate(engine, config) == {"raised": 0, "cleared": 1}
    assert _open(engine) == set()
    with read_only(engine) as conn:
        notices = conn.execute(
            select(alert_deliveries.c.event, alert_deliveries.c.payload).order_by(
                alert_deliveries.c.id
            )
        ).all()
    assert [e for e, _ in notices] == ["raised", "cleared"]
    assert notices[1][1]["alert"]["cleared_at"] is not None
    assert notices[0][1]["notice_id"] != notices[1][1]["notice_id"]


def test_a_station_silent_too_long_counts_as_offline(engine, tmp_path):
    config = hub_config(tmp_path, alerts={"offline_after_min": 1})
    with transaction(engine) as conn:
        registry.on_presence(conn, "test", "st-01", {"online": True, "session": 1})
    assert _evaluate(engine, config, datetime.now(UTC) + timedelta(seconds=30))["raised"] == 0
    assert _evaluate(engine, config, datetime.now(UTC) + LATER)["raised"] == 1


def test_printer_and_backlog_rules(engine, tmp_path):
    config = hub_config(tmp_path, alerts={"outbox_backlog": 10, "print_queue_backlog": 3})
    with transaction(engine) as conn:
        registry.on_presence(conn, "test", "st-01", {"online": True, "session": 1})
        registry.on_telemetry(conn, "test", "st-01", _telemetry())
    assert _evaluate(engine, config)["raised"] == 0
    with transaction(engine) as conn:
        registry.on_telemetry(
            conn,
            "test",
            "st-01",
            _telemetry(
                printers={"label": {"online": True, "paper": "out"}, "receipt": {"online": False}},
                outbox_depth=11,
                print_queue={"label": 2, "receipt": 2},
            ),
        )
    assert _evaluate(engine, config)["raised"] == 3
    assert _open(engine) == {
        ("st-01", "printer_problem"),
        ("st-01", "outbox_backlog"),
        ("st-01", "print_queue_backlog"),
    }
    with read_only(engine) as conn:
        (printer,) = alerts.open_alerts(conn, kind="printer_problem")
    assert "label out of paper" in printer["message"] and "receipt offline" in printer["message"]
    with transaction(engine) as conn:
        registry.on_telemetry(conn, "test", "st-01", _telemetry())
    assert _evaluate(engine, config) == {"raised": 0, "cleared": 3}


def test_allotment_exhausted_for_a_selling_sku(engine, tmp_path):
    config = hub_config(tmp_path)
    with transaction(engine) as conn:
        registry.on_presence(conn, "test", "st-01", {"online": True, "session": 1})
        now = utc_now()
        conn.execute(
            allotments.insert(),
            [
                {"station": "st-01", "sku": "A", "allotted": 5, "sold": 5, "updated_at": now},
                {"station": "st-01", "sku": "B", "allotted": 5, "sold": 1, "updated_at": now},
                {"station": "st-01", "sku": "C", "allotted": 0, "sold": 0, "updated_at": now},
            ],
        )
    _evaluate(engine, config)
    with read_only(engine) as conn:
        (alert,) = alerts.open_alerts(conn)
    assert alert["kind"] == "allotment_exhausted" and alert["data"] == {"skus": ["A"]}
    with transaction(engine) as conn:
        conn.execute(update(allotments).where(allotments.c.sku == "A").values(allotted=25))
    assert _evaluate(engine, config)["cleared"] == 1


def test_alerts_from_ingest_stay_until_cleared(engine, tmp_path):
    config = hub_config(tmp_path)
    with transaction(engine) as conn:
        registry.on_presence(conn, "test", "st-01", {"online": True, "session": 1})
        alert_id = alerts.raise_alert(conn, "st-01", "chain_break", "the hash chain breaks")
    assert _evaluate(engine, config) == {"raised": 0, "cleared": 0}
    assert _open(engine) == {("st-01", "chain_break")}
    with transaction(engine) as conn:
        assert alert_id is not None and alerts.clear_alert(conn, alert_id)
        assert not alerts.clear_alert(conn, alert_id)
    assert _open(engine) == set()


class Receiver:
    """A local HTTP server that records JSON posts; fails the first ``fail`` of them."""

    def __init__(self, fail: int = 0):
        self.posts: list[dict[str, Any]] = []
        self.fail = fail
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if receiver.fail > 0:
                    receiver.fail -= 1
                    self.send_response(503)
                else:
                    receiver.posts.append(json.loads(body))
                    self.send_response(204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    made = Receiver(fail=1)
    yield made
    made.close()


def test_webhook_gets_every_notice_at_least_once(engine, tmp_path, receiver):
    config = hub_config(tmp_path, alerts={"webhook_url": receiver.url, "offline_after_min": 0})
    with transaction(engine) as conn:
        registry.on_presence(conn, "test", "st-01", {"online": True, "session": 1})
        registry.on_presence(conn, "test", "st-01", {"online": False, "session": 1})
    _evaluate(engine, config)
    with transaction(engine) as conn:
        registry.on_presence(conn, "test", "st-01", {"online": True, "session": 2})
    _evaluate(engine, config)

    first = alerts.deliver_due(engine, config)
    assert first == {"sent": 0, "failed": 1} and receiver.posts == []  # 503: kept, in order
    assert alerts.deliver_due(engine, config) == {"sent": 0, "failed": 0}  # backing off
    with transaction(engine) as conn:
        conn.execute(update(alert_deliveries).values(next_at=utc_now()))
    assert alerts.deliver_due(engine, config) == {"sent": 2, "failed": 0}
    assert [p["event"] for p in receiver.posts] == ["raised", "cleared"]
    assert {p["alert"]["kind"] for p in receiver.posts} == {"station_offline"}
    assert receiver.posts[0]["alert"]["station"] == "st-01"
    assert alerts.deliver_due(engine, config) == {"sent": 0, "failed": 0}
    with read_only(engine) as conn:
        rows = conn.execute(select(alert_deliveries)).mappings().all()
    assert all(r["delivered_at"] for r in rows)
    assert sorted(r["attempts"] for r in rows) == [1, 2]


def test_ops_housekeeping_runs_rules_history_and_delivery(engine, tmp_path, receiver):
    receiver.fail = 0
    config = hub_config(tmp_path, alerts={"webhook_url": receiver.url, "offline_after_min": 0})
    with transaction(engine) as conn:
        registry.on_presence(conn, "test", "st-01", {"online": True, "session": 1})
        registry.on_telemetry(conn, "test", "st-01", _telemetry(scanners={"a": {"scans": 7}}))
        conn.execute(update(stations).values(online=False))
    ops = alerts.OpsHousekeeping(config, engine)
    ops.run_once()
    assert [p["alert"]["kind"] for p in receiver.posts] == ["station_offline"]
    with read_only(engine) as conn:
        (point,) = registry.history(conn, "st-01", "2000-01-01T00:00:00.000Z")
    assert point["online"] is False and point["scans"] == 7 and point["outbox_depth"] == 0
