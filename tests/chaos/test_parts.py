"""The chaos harness's own parts: the proxy's MQTT framing and duplicates, the lying-disk
WAL cut, and the schedule's dependence on the seed alone."""

from __future__ import annotations

import socket
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from tests.chaos.nemesis import KINDS, drop_last_commit, schedule
from tests.chaos.proxy import Proxy, packet_length


def test_packet_length_reads_the_fixed_header() -> None:
    assert packet_length(b"\x30") is None
    assert packet_length(b"\x30\x02ab") == 4
    assert packet_length(b"\x30\x02a") is None
    assert packet_length(b"\x30\xc1\x02" + b"x" * 321) == 3 + 321  # 0x41 + 2 * 128
    with pytest.raises(ValueError):
        packet_length(b"\x30\xff\xff\xff\xff\x01")


def test_the_proxy_duplicates_qos1_publishes_and_a_partition_cuts(broker) -> None:
    proxy = Proxy(broker.host, broker.port, seed=1).start()
    got: list[bytes] = []
    arrived = threading.Condition()

    def on_message(_c: object, _u: object, msg: mqtt.MQTTMessage) -> None:
        with arrived:
            got.append(bytes(msg.payload))
            arrived.notify_all()

    sub = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    sub.on_message = on_message
    sub.connect(broker.host, broker.port)
    sub.subscribe("t/#", qos=1)
    sub.loop_start()
    pub = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    pub.connect("127.0.0.1", proxy.port)
    pub.loop_start()
    try:
        proxy.set_duplicate(1.0)
        pub.publish("t/a", b"once", qos=1).wait_for_publish(5)
        with arrived:
            assert arrived.wait_for(lambda: len(got) >= 2, 5)
        assert got == [b"once", b"once"]
        assert proxy.duplicated == 1
        proxy.partition()
        assert proxy.cut >= 2
        with socket.create_connection(("127.0.0.1", proxy.port), timeout=2) as sock:
            sock.settimeout(2)
            try:
                answer = sock.recv(1)
            except ConnectionResetError:
                answer = b""
        assert answer == b""  # accepted and closed at once: the link is down
    finally:
        pub.loop_stop()
        sub.loop_stop()
        sub.disconnect()
        proxy.stop()


def test_the_lying_disk_drops_exactly_the_last_commit(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    writer = (
        "import os, sqlite3, sys\n"
        "c = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
        "c.execute('PRAGMA journal_mode=WAL'); c.execute('PRAGMA synchronous=FULL')\n"
        "c.execute('PRAGMA wal_autocheckpoint=0')\n"
        "c.execute('CREATE TABLE t (n INTEGER)')\n"
        "for n in range(1, 4):\n"
        "    c.execute('BEGIN IMMEDIATE'); c.execute('INSERT INTO t VALUES (?)', (n,))\n"
        "    c.execute('COMMIT')\n"
        "os._exit(0)  # no close: the WAL stays, as after a power cut\n"
    )
    subprocess.run([sys.executable, "-c", writer, str(db)], check=True)
    dropped = drop_last_commit(db)
    assert dropped["dropped_frames"] >= 1
    with sqlite3.connect(db) as conn:
        assert [r[0] for r in conn.execute("SELECT n FROM t ORDER BY n")] == [1, 2]
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_the_schedule_depends_on_the_seed_alone() -> None:
    one = schedule(7, 60, ["st-01", "st-02"])
    assert one == schedule(7, 60, ["st-01", "st-02"])
    assert one != schedule(8, 60, ["st-01", "st-02"])
    assert all(f.kind != "lying_disk" for f in one)  # only when asked for
    only = schedule(7, 60, ["st-01"], kinds=("lying_disk", "skew"))
    assert {f.kind for f in only} <= {"lying_disk", "skew"}
    with pytest.raises(ValueError):
        schedule(7, 60, ["st-01"], kinds=("meteor",))
    assert "power" in KINDS


def test_a_job_queued_before_the_clock_steps_back_is_due_at_once(
    tmp_path: Path, monkeypatch
) -> None:
    """Found by the ``skew`` fault: a job queued while the clock ran a day ahead must not
    wait for that day once the clock is corrected (a printer prints strictly in order, so
    it would hold every job behind it)."""
    from edge import protocol
    from edge.store import Store, print_jobs

    store = Store(tmp_path / "station.db")
    true_now = protocol.utc_now()
    monkeypatch.setattr(protocol, "utc_now", lambda: "2099-01-01T00:00:00.000Z")
    with store.write() as conn:
        queued = print_jobs.enqueue(conn, "receipt", "raw", {"n": 1})
    monkeypatch.undo()
    with store.write() as conn:
        claimed = print_jobs.claim_next(conn, "receipt", now=true_now)
    store.close()
    assert claimed is not None and claimed["id"] == queued["id"]
