"""The sync agent against a real mosquitto and a scripted hub peer."""

from __future__ import annotations

import time

import pytest

from edge import protocol
from edge.protocol import verify_chain
from edge.store import catalog, inbox, journal, outbox, print_jobs, stock


def append(agent, n):
    with agent.store.write() as conn:
        for i in range(n):
            journal.append(conn, "x.test", {"i": i})


def test_journal_goes_up_in_order_and_acks_move_the_outbox(agent_for):
    agent, peer = agent_for()
    append(agent, 450)
    last = journal.last_seq(agent.store.conn())
    peer.wait(lambda: peer.applied == last, what="every event at the peer")
    events = [peer.events[s] for s in range(1, last + 1)]
    assert verify_chain(events, protocol.GENESIS_HASH) is None
    peer.wait(lambda: outbox.acked(agent.store.conn()) == last, what="acks recorded")
    assert outbox.depth(agent.store.conn()) == 0


def test_presence_birth_and_telemetry(agent_for):
    _agent, peer = agent_for()
    peer.wait(lambda: any(p["online"] for p in peer.presence), what="birth")
    birth = [p for p in peer.presence if p["online"]][-1]
    assert birth["session"] >= 1 and birth["version"]
    peer.wait(lambda: peer.telemetry, what="telemetry")
    tele = peer.telemetry[-1]
    assert {
        "outbox_depth",
        "printers",
        "scanners",
        "print_queue",
        "disk_free_mb",
        "uptime_s",
        "version",
    } <= set(tele)


def test_unacked_events_are_sent_again_after_the_ack_timeout(agent_for):
    agent, peer = agent_for()
    peer.wait(lambda: peer.applied == journal.last_seq(agent.store.conn()), what="initial")
    peer.acking = False
    append(agent, 5)
    before = peer.deliveries
    peer.wait(lambda: peer.deliveries >= before + 2, timeout=5, what="a resend")
    peer.acking = True
    peer.ack_now()
    last = journal.last_seq(agent.store.conn())
    peer.wait(lambda: outbox.acked(agent.store.conn()) == last, what="acked after resend")


def test_broker_down_then_back_loses_nothing(agent_for, broker):
    agent, peer = agent_for()
    peer.wait(lambda: peer.applied == journal.last_seq(agent.store.conn()), what="initial")
    broker.stop()
    append(agent, 300)  # the station keeps working offline
    time.sleep(0.5)
    broker.restart()
    last = journal.last_seq(agent.store.conn())
    peer.wait(lambda: peer.applied == last, timeout=20, what="backlog after the broker is back")
    peer.wait(lambda: outbox.acked(agent.store.conn()) == last, what="acked")
    assert agent.connected.is_set()
    sessions = [p["session"] for p in peer.presence if p["online"]]
    assert sessions == sorted(sessions) and len(set(sessions)) >= 2


def test_dn_events_apply_once_in_order(agent_for):
    agent, peer = agent_for()
    product = {
        "sku": "NEW-1",
        "name": "新品",
        "name_en": "New",
        "price": "9.90",
        "barcodes": ["6901234567892"],
        "category": "饮料 Drinks",
        "bin": "A-09-9",
    }
    e1 = peer.seal(protocol.CATALOG_UPSERT, {"products": [product]})
    e2 = peer.seal(protocol.STOCK_ALLOTMENT, {"sku": "NEW-1", "qty": 12, "allotted": 12})
    peer.send_dn(e1, e2)
    peer.wait(lambda: peer.dn_acks and peer.dn_acks[-1].upto == 2, what="dn ack")
    conn = agent.store.conn()
    product_row = catalog.get(conn, "NEW-1")
    assert product_row is not None and product_row["name"] == "新品"
    assert stock.sellable(conn, "NEW-1") == 12
    peer.send_dn(e1, e2)  # delivered twice: nothing applies again
    peer.wait(lambda: len(peer.dn_acks) >= 2, what="second ack")
    assert stock.sellable(conn, "NEW-1") == 12
    assert inbox.position(conn)[0] == 2


def test_dn_gap_asks_for_a_resend_and_applies_nothing_out_of_order(agent_for):
    agent, peer = agent_for()
    e1 = peer.seal(protocol.STOCK_ALLOTMENT, {"sku": "DRK-001", "qty": 1, "allotted": 1})
    e2 = peer.seal(protocol.STOCK_ALLOTMENT, {"sku": "DRK-001", "qty": 2, "allotted": 3})
    before = stock.sellable(agent.store.conn(), "DRK-001")
    peer.send_dn(e2)
    peer.wait(lambda: peer.dn_acks, what="gap ack")
    assert peer.dn_acks[-1].upto == 0 and peer.dn_acks[-1].resend_from == 1
    assert stock.sellable(agent.store.conn(), "DRK-001") == before
    peer.send_dn(e1, e2)
    peer.wait(lambda: peer.dn_acks[-1].upto == 2, what="applied after resend")
    assert stock.sellable(agent.store.conn(), "DRK-001") == before + 3


@pytest.mark.allow_errors
def test_an_event_that_can_never_apply_is_rejected_and_the_stream_goes_on(agent_for):
    agent, peer = agent_for()
    bad = peer.seal("no.such.kind", {})
    worse = peer.seal(protocol.STOCK_ALLOTMENT, {"sku": "NOPE", "qty": 1, "allotted": 1})
    good = peer.seal(protocol.STOCK_ALLOTMENT, {"sku": "DRK-002", "qty": 4, "allotted": 4})
    before = stock.sellable(agent.store.conn(), "DRK-002")
    peer.send_dn(bad, worse, good)
    peer.wait(lambda: peer.dn_acks and peer.dn_acks[-1].upto == 3, what="ack past rejects")
    assert [s for s, _ in peer.dn_acks[-1].rejected] == [1, 2]
    assert stock.sellable(agent.store.conn(), "DRK-002") == before + 4
    kinds = [e.kind for e in journal.since(agent.store.conn(), 0, 10_000)]
    assert kinds.count(protocol.DN_REJECTED) == 2


def test_commands_run_and_report_back(agent_for):
    agent, peer = agent_for("""
[printers.receipt]
type = "simulated"
role = "receipt"
""")
    with agent.store.write() as conn:
        job = print_jobs.enqueue(conn, "receipt", "raw", {"data_b64": "SGk="})
    cmds = [
        peer.seal(
            protocol.COMMAND, {"command_id": "c1", "name": "reprint", "args": {"job_id": job["id"]}}
        ),
        peer.seal(
            protocol.COMMAND,
            {"command_id": "c2", "name": "pause_printer", "args": {"printer": "receipt"}},
        ),
        peer.seal(
            protocol.COMMAND,
            {
                "command_id": "c3",
                "name": "reprint",
                "args": {"job_id": job["id"]},
                "expires_at": "2000-01-01T00:00:00.000Z",
            },
        ),
    ]
    peer.send_dn(*cmds)
    peer.wait(lambda: peer.dn_acks and peer.dn_acks[-1].upto == 3, what="commands applied")
    conn = agent.store.conn()
    assert print_jobs.paused_printers(conn) == {"receipt"}
    results = {
        e.data["command_id"]: e.data
        for e in journal.since(conn, 0, 10_000)
        if e.kind == protocol.COMMAND_RESULT
    }
    assert results["c1"]["ok"] and results["c2"]["ok"]
    assert not results["c3"]["ok"] and "expired" in results["c3"]["result"]["error"]
    assert len(print_jobs.find(conn, status="queued")) == 2  # the job and one reprint
    last = journal.last_seq(conn)
    peer.wait(lambda: peer.applied >= last, what="results went up")


def test_resync_command_sends_the_journal_again(agent_for):
    agent, peer = agent_for()
    last = journal.last_seq(agent.store.conn())
    peer.wait(lambda: peer.applied == last, what="initial")
    before = peer.deliveries
    peer.events.clear()
    peer.send_dn(
        peer.seal(protocol.COMMAND, {"command_id": "r1", "name": "resync", "args": {"from_seq": 1}})
    )
    peer.wait(lambda: peer.applied >= last, what="resent from seq 1")
    assert peer.deliveries > before


def test_set_config_is_validated_kept_and_used_at_the_next_start(agent_for):
    agent, peer = agent_for()
    peer.send_dn(
        peer.seal(
            protocol.COMMAND,
            {
                "command_id": "s1",
                "name": "set_config",
                "args": {"key": "kiosk.idle_timeout_s", "value": 45},
            },
        ),
        peer.seal(
            protocol.COMMAND,
            {
                "command_id": "s2",
                "name": "set_config",
                "args": {"key": "kiosk.idle_timeout_s", "value": -1},
            },
        ),
        peer.seal(
            protocol.COMMAND,
            {
                "command_id": "s3",
                "name": "set_config",
                "args": {"key": "station.id", "value": "evil"},
            },
        ),
    )
    peer.wait(lambda: peer.dn_acks and peer.dn_acks[-1].upto == 3, what="applied")
    results = {
        e.data["command_id"]: e.data
        for e in journal.since(agent.store.conn(), 0, 10_000)
        if e.kind == protocol.COMMAND_RESULT
    }
    assert results["s1"]["ok"] and not results["s2"]["ok"] and not results["s3"]["ok"]
    from edge.config import load_config

    reloaded = load_config(agent.config.station.data_dir / "station.toml")
    assert reloaded.kiosk.idle_timeout_s == 45
    assert reloaded.station.id == agent.config.station.id


def test_the_station_client_socket_has_tcp_nodelay(agent_for):
    """A dn/ack published right after a PUBACK leaves at once, not after a delayed ACK."""
    import socket

    agent, _peer = agent_for()
    sock = agent.client.socket()
    assert isinstance(sock, socket.socket)
    assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
