"""Ingest of up batches: exactly once, in order, never blocked by one bad event."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, func, select

from cloud import alerts, orders, registry
from cloud.db import read_only, transaction
from cloud.errors import WrongTenant
from cloud.ingest import alert_stale_gaps, ingest
from cloud.schema import inbox, order_timeline
from cloud.schema import orders as orders_table
from edge import protocol
from edge.protocol import Event, ProtocolError
from edge.wire import Ack, Batch

from .factories import TENANT, Journal, tampered


def inbox_rows(engine: Engine, station: str = "st-01") -> list[dict]:
    with read_only(engine) as conn:
        rows = conn.execute(
            select(inbox).where(inbox.c.station == station).order_by(inbox.c.seq)
        ).mappings()
        return [dict(r) for r in rows]


def count(engine: Engine, table) -> int:
    with read_only(engine) as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def test_a_batch_is_applied_once_and_a_duplicate_changes_nothing(engine: Engine):
    j = Journal()
    created = j.order()
    j.status(created, "packing")
    j.add(protocol.PRINT_JOB_QUEUED, {"job_id": 1, "printer": "receipt", "kind": "ticket"})

    assert ingest(engine, TENANT, j.batch()) == Ack(upto=3)
    assert ingest(engine, TENANT, j.batch()) == Ack(upto=3)

    rows = inbox_rows(engine)
    assert [(r["seq"], r["status"], r["chain_ok"]) for r in rows] == [
        (1, "applied", True),
        (2, "applied", True),
        (3, "applied", True),
    ]
    assert rows[2]["data"] == {"job_id": 1, "printer": "receipt", "kind": "ticket"}
    with read_only(engine) as conn:
        order = orders.get_order(conn, created.data["order"]["id"])
        station = registry.get_station(conn, "st-01")
    assert order["number"] == created.data["order"]["number"]
    assert order["status"] == "packing"
    assert [t["status"] for t in order["timeline"]] == ["open", "packing"]
    assert order["lines"][0]["sku"] == "SKU-1"
    assert count(engine, orders_table) == 1 and count(engine, order_timeline) == 2
    assert station["tenant"] == TENANT and station["up"]["applied"] == 3


def test_out_of_order_delivery_asks_for_a_resend_and_applies_nothing_early(engine: Engine):
    j = Journal()
    for n in range(5):
        j.move("SKU-1", 1, "return", f"r{n}")  # no store yet: rejected, but in order
    later, earlier = j.seqs(3, 5), j.seqs(1, 2)

    assert ingest(engine, TENANT, later) == Ack(upto=0, resend_from=1)
    assert inbox_rows(engine) == []
    with read_only(engine) as conn:
        assert registry.get_station(conn, "st-01")["up"]["gap_from"] == 1

    ack = ingest(engine, TENANT, earlier)
    assert (ack.upto, ack.resend_from) == (2, None)
    ack = ingest(engine, TENANT, later)
    assert (ack.upto, ack.resend_from) == (5, None)
    assert [r["seq"] for r in inbox_rows(engine)] == [1, 2, 3, 4, 5]
    with read_only(engine) as conn:
        assert registry.get_station(conn, "st-01")["up"]["gap_from"] is None


def test_a_batch_overlapping_what_was_applied_applies_only_the_new_events(engine: Engine):
    j = Journal()
    for _ in range(5):
        j.add(protocol.STAFF_LOGIN, {"staff": "li"})
    ingest(engine, TENANT, j.seqs(1, 3))
    assert ingest(engine, TENANT, j.seqs(2, 5)) == Ack(upto=5)
    assert len(inbox_rows(engine)) == 5


def test_a_gap_inside_a_batch_applies_up_to_it(engine: Engine):
    j = Journal()
    for _ in range(4):
        j.add(protocol.STAFF_LOGIN, {"staff": "li"})
    holey = j.batch([j.events[0], j.events[1], j.events[3]])
    assert ingest(engine, TENANT, holey) == Ack(upto=2, resend_from=3)
    assert [r["seq"] for r in inbox_rows(engine)] == [1, 2]


@pytest.mark.parametrize(
    ("kind", "data", "reason"),
    [
        ("order.teleported", {}, "unknown event kind"),
        (protocol.ORDER_STATUS, {"order_id": "nope", "to": "packed"}, "no order"),
        (protocol.ORDER_STATUS, {"order_id": 7}, "'order_id' must be a non-empty"),
        (protocol.ORDER_CREATED, {"order": "not an object"}, "'order' must be an object"),
        (protocol.STOCK_MOVED, {"sku": "A", "qty": 1.5, "reason": "sale"}, "'qty'"),
        (protocol.STOCK_MOVED, {"sku": "A", "qty": 10**30, "reason": "sale"}, "'qty'"),
        (protocol.STOCK_MOVED, {"sku": "A", "qty": 2, "reason": "sale"}, "wrong sign"),
        (protocol.STOCK_MOVED, {"sku": "A", "qty": -1, "reason": "theft"}, "unknown reason"),
        (protocol.COMMAND_RESULT, {"command_id": "c-1", "status": "done"}, "unknown command"),
        (protocol.STOCK_MOVED, {"sku": "A", "qty": -1, "reason": "sale"}, "no store"),
    ],
)
def test_an_event_that_can_never_apply_is_rejected_and_the_stream_goes_on(
    engine: Engine, kind: str, data: dict, reason: str
):
    j = Journal()
    j.add(protocol.STAFF_LOGIN, {"staff": "li"})
    j.add(kind, data)
    created = j.order()

    ack = ingest(engine, TENANT, j.batch())
    assert ack.upto == 3 and ack.resend_from is None
    assert [seq for seq, _ in ack.rejected] == [2]
    assert reason in ack.rejected[0][1]
    rows = inbox_rows(engine)
    assert [r["status"] for r in rows] == ["applied", "rejected", "applied"]
    assert reason in rows[1]["reason"]
    with read_only(engine) as conn:
        assert orders.get_order(conn, created.data["order"]["id"])
        (alert,) = alerts.open_alerts(conn, station="st-01", kind="event_rejected")
    assert alert["data"]["seq"] == 2
    # A redelivery acks the same rejection, whichever delivery applied it.
    assert ingest(engine, TENANT, j.batch()) == ack


def test_a_tampered_event_raises_a_chain_break_alert_and_is_still_applied(engine: Engine):
    j = Journal()
    j.add(protocol.STAFF_LOGIN, {"staff": "li"})
    j.add(protocol.STAFF_LOGIN, {"staff": "wang"})
    j.add(protocol.STAFF_LOGIN, {"staff": "zhao"})
    events = list(j.events)
    events[1] = tampered(events[1], staff="mallory")

    assert ingest(engine, TENANT, j.batch(events)) == Ack(upto=3)
    rows = inbox_rows(engine)
    assert [r["chain_ok"] for r in rows] == [True, False, True]
    assert rows[1]["data"] == {"staff": "mallory"}
    with read_only(engine) as conn:
        (alert,) = alerts.open_alerts(conn, kind="chain_break")
    assert alert["station"] == "st-01" and alert["data"]["seq"] == 2


def test_an_event_chained_to_a_wrong_predecessor_breaks_the_chain(engine: Engine):
    j = Journal()
    j.add(protocol.STAFF_LOGIN, {"staff": "li"})
    ingest(engine, TENANT, j.batch())
    stray = protocol.seal(2, protocol.STAFF_LOGIN, {"staff": "x"}, "f" * 64)
    assert ingest(engine, TENANT, j.batch([stray])) == Ack(upto=2)
    with read_only(engine) as conn:
        assert [a["data"]["seq"] for a in alerts.open_alerts(conn, kind="chain_break")] == [2]


@pytest.mark.parametrize(
    "payload",
    [
        b"not json",
        b"[1, 2]",
        b'{"v": 99, "station": "st-01", "stream": "up", "events": []}',
        b'{"v": 1, "station": "st-02", "stream": "up", "events": []}',
        b'{"v": 1, "station": "st-01", "stream": "up", "events": []}',
        b'{"v": 1, "station": "st-01", "stream": "up", "events": [{"seq": 1}]}',
        b'{"v": 1, "station": "st-01", "stream": "up", "events": "x"}',
        b"{" + b" " * (300 * 1024) + b"}",
    ],
)
def test_malformed_payloads_are_refused_before_ingest(payload: bytes):
    with pytest.raises(ProtocolError):
        Batch.from_bytes(payload, station="st-01", stream="up")


def test_a_wire_batch_round_trips_into_ingest(engine: Engine):
    j = Journal()
    j.order()
    raw = j.batch().to_bytes()
    batch = Batch.from_bytes(raw, station="st-01", stream="up")
    ack = ingest(engine, TENANT, batch)
    assert Ack.from_bytes(ack.to_bytes()) == Ack(upto=1)


def test_an_unknown_station_registers_and_a_wrong_tenant_is_refused(engine: Engine):
    j = Journal("st-09")
    j.add(protocol.STAFF_LOGIN, {"staff": "li"})
    ingest(engine, TENANT, j.batch())
    with pytest.raises(WrongTenant):
        ingest(engine, "other-tenant", j.batch())
    with read_only(engine) as conn:
        assert registry.get_station(conn, "st-09")["tenant"] == TENANT


def test_an_event_id_seen_before_is_not_applied_twice(engine: Engine):
    j = Journal()
    created = j.order()
    again = protocol.seal(2, created.kind, created.data, created.hash, event_id=created.id)
    ack = ingest(engine, TENANT, j.batch([created, again]))
    assert ack == Ack(upto=2)
    assert [r["status"] for r in inbox_rows(engine)] == ["applied", "duplicate-id"]
    assert count(engine, orders_table) == 1
    with read_only(engine) as conn:
        assert alerts.open_alerts(conn, kind="duplicate_event_id")


def test_hostile_strings_are_stored_not_choked_on(engine: Engine):
    """NUL and control characters in data and envelope never fail an insert (PostgreSQL
    refuses NUL in text), and a malformed envelope is rejected, not retried forever."""
    j = Journal()
    j.add(protocol.SCAN_REJECTED, {"code": "ab\x00cd\x1b[2J", "source": "usb"})
    bad = protocol.seal(2, "kind\x00", {"x": 1}, j.last_hash, event_id="id\x00x", at="t\x00")
    j.events.append(bad)
    j.add(protocol.STAFF_LOGIN, {"staff": "li"})
    ack = ingest(engine, TENANT, j.batch())
    assert ack.upto == 3
    assert ack.rejected == ((2, "malformed event id"),)
    rows = inbox_rows(engine)
    assert rows[0]["data"]["code"] == "ab\x00cd\x1b[2J"
    assert rows[1]["event_id"] is None and "\x00" not in rows[1]["kind"]


def test_a_gap_that_stays_open_raises_one_alert(engine: Engine):
    j = Journal()
    for _ in range(3):
        j.add(protocol.STAFF_LOGIN, {"staff": "li"})
    ingest(engine, TENANT, j.seqs(3, 3))
    with transaction(engine) as conn:
        assert alert_stale_gaps(conn, "9999-01-01T00:00:00.000Z") == ["st-01"]
        assert alert_stale_gaps(conn, "9999-01-01T00:00:00.000Z") == ["st-01"]
        assert len(alerts.open_alerts(conn, kind="stream_gap")) == 1
        assert alert_stale_gaps(conn, "2000-01-01T00:00:00.000Z") == []


def test_order_events_keep_the_order_in_step(engine: Engine):
    j = Journal()
    created = j.order()
    order_id = created.data["order"]["id"]
    j.add(
        protocol.ORDER_ITEM_PACKED,
        {"order_id": order_id, "sku": "SKU-1", "line_no": 1, "packed_qty": 1, "qty": 2},
    )
    j.status(created, "exception", "label printer jammed")
    j.add(
        protocol.ORDER_EXCEPTION,
        {"order_id": order_id, "number": "x", "reason": "label printer jammed"},
    )
    j.order(number=created.data["order"]["number"])  # same number, other id: rejected
    j.add(created.kind, created.data)  # same order again (new event id): idempotent

    ack = ingest(engine, TENANT, j.batch())
    assert [seq for seq, _ in ack.rejected] == [5]
    with read_only(engine) as conn:
        order = orders.get_order(conn, order_id)
        assert orders.by_number(conn, order["number"])["id"] == order_id
        assert [o["id"] for o in orders.find_orders(conn, status="exception")] == [order_id]
    assert order["lines"][0]["packed_qty"] == 1
    assert order["status"] == "exception"
    assert order["exception_reason"] == "label printer jammed"
    assert [t["status"] for t in order["timeline"]] == ["open", "exception"]


def test_an_order_from_another_station_is_rejected(engine: Engine):
    a, b = Journal("st-01"), Journal("st-02")
    created = a.order()
    ingest(engine, TENANT, a.batch())
    b.status(created, "packed")
    ack = ingest(engine, TENANT, b.batch())
    assert "belongs to st-01" in ack.rejected[0][1]


def test_ingest_takes_only_up_batches(engine: Engine):
    from cloud.errors import InvalidInput

    event: Event = Journal().add(protocol.STAFF_LOGIN, {})
    with pytest.raises(InvalidInput):
        ingest(engine, TENANT, Batch("st-01", "dn", (event,)))


def test_check_streams_finds_an_inbox_out_of_step(engine: Engine):
    from cloud.ingest import check_streams
    from cloud.schema import stream_state

    j = Journal()
    j.add(protocol.STAFF_LOGIN, {"staff": "li"})
    ingest(engine, TENANT, j.batch())
    with transaction(engine) as conn:
        assert check_streams(conn) == []
        conn.execute(stream_state.update().where(stream_state.c.stream == "up").values(seq=2))
        assert check_streams(conn) == [
            "st-01: applied up to 2 but the inbox holds 1 event(s) up to seq 1"
        ]


def test_hub_orders_keep_their_idempotency_key(engine: Engine):
    order = {
        "id": "o-1",
        "number": "WEB-1",
        "channel": "web",
        "status": "open",
        "total": "5.00",
        "lines": [{"sku": "A", "qty": 1}],
    }
    with transaction(engine) as conn:
        orders.insert(conn, TENANT, order, "2024-05-01T08:00:00.000Z", idempotency_key="k-1")
        orders.add_timeline(conn, "o-1", "2024-05-01T08:00:00.000Z", "open", "via web", "api")
    with read_only(engine) as conn:
        found = orders.by_idempotency_key(conn, "k-1")
        assert orders.by_idempotency_key(conn, "k-2") is None
    assert found is not None and found["number"] == "WEB-1" and found["station"] is None
    assert found["timeline"] == [
        {"at": "2024-05-01T08:00:00.000Z", "status": "open", "note": "via web", "source": "api"}
    ]


def test_hostile_strings_inside_event_data_reject_or_clean_never_block(engine: Engine):
    """Every field that reaches a text column or a query parameter either is cleaned or
    rejects its event; the batch always commits."""
    from .factories import register

    register(engine, "st-01")
    j = Journal()
    created = j.order()
    order_id = created.data["order"]["id"]
    j.order(number="N\x00-1")  # a NUL in an identifier: rejected
    j.add(protocol.ORDER_STATUS, {"order_id": order_id, "to": "packing", "note": "a\x00b"})
    j.add(protocol.ORDER_STATUS, {"order_id": "x\x00", "to": "packing"})
    j.add(protocol.ORDER_EXCEPTION, {"order_id": order_id, "reason": "bad\x00 label"})
    j.move("SKU-1", 3, "receipt", "ref\x00")
    j.add(protocol.DN_REJECTED, {"seq": 10**30, "reason": "x"})
    j.add(protocol.COMMAND_RESULT, {"command_id": "c\x00", "status": "done"})
    j.add(protocol.STOCK_TOPUP_REQUEST, {"sku": "S\x00"})
    ack = ingest(engine, TENANT, j.batch())
    assert ack.upto == 9
    assert [seq for seq, _ in ack.rejected] == [2, 4, 7, 8, 9]
    with read_only(engine) as conn:
        order = orders.get_order(conn, order_id)
    assert [t["note"] for t in order["timeline"]] == ["created via kiosk", "ab", "bad label"]
    with transaction(engine) as conn:
        registry.on_presence(
            conn,
            TENANT,
            "st-01",
            {"online": True, "session": 1, "store": "s\x00", "version": "1\x00"},
        )
        assert registry.get_station(conn, "st-01")["version"] == "1"
