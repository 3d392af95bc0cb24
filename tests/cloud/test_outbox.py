"""The dn stream, commands and catalog fan-out."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import Engine

from cloud import alerts, catalog, commands, outbox, registry
from cloud.db import read_only, transaction
from cloud.errors import InvalidInput, NotFound
from cloud.ingest import ingest
from edge import protocol
from edge.protocol import GENESIS_HASH, verify_chain
from edge.wire import Ack, Batch, plan

from .factories import TENANT, Journal, register


def products(n: int, *, blob: int = 0) -> list[dict]:
    return [
        {
            "sku": f"SKU-{i:04d}",
            "name": f"商品{i}",
            "name_en": f"Product {i}",
            "price": "12.5",
            "category": "饮料",
            "barcodes": [f"6901234{i:06d}"],
            "note": "x" * blob,
        }
        for i in range(n)
    ]


def test_dn_events_are_numbered_and_chained_per_station(engine: Engine):
    register(engine, "st-01", "st-02")
    with transaction(engine) as conn:
        for n in range(3):
            outbox.enqueue_dn(conn, "st-01", protocol.ORDER_ASSIGNED, {"order_id": f"o{n}"})
        outbox.enqueue_dn(conn, "st-02", protocol.ORDER_ASSIGNED, {"order_id": "x"})
    events = outbox.pending_dn(engine, "st-01", 0)
    assert [e.seq for e in events] == [1, 2, 3]
    assert verify_chain(events, GENESIS_HASH) is None
    assert [e.seq for e in outbox.pending_dn(engine, "st-01", 1, limit=1)] == [2]
    assert [e.seq for e in outbox.pending_dn(engine, "st-02", 0)] == [1]
    # What a station would do with them: the shared plan applies all three in order.
    batch = Batch.from_bytes(
        Batch("st-01", "dn", tuple(events)).to_bytes(), station="st-01", stream="dn"
    )
    assert [e.seq for e in plan(batch.events, 0, GENESIS_HASH).apply] == [1, 2, 3]
    with pytest.raises(ValueError, match="not a hub event kind"), transaction(engine) as conn:
        outbox.enqueue_dn(conn, "st-01", protocol.ORDER_CREATED, {})


def test_dn_acks_are_cumulative_and_rejections_are_kept(engine: Engine):
    register(engine, "st-01")
    with transaction(engine) as conn:
        for n in range(4):
            outbox.enqueue_dn(conn, "st-01", protocol.ORDER_ASSIGNED, {"order_id": f"o{n}"})
    assert outbox.record_dn_ack(engine, "st-01", Ack(upto=2)) == 2
    assert outbox.record_dn_ack(engine, "st-01", Ack(upto=1)) == 2  # an old ack arriving late
    assert outbox.dn_position(engine, "st-01") == (4, 2)
    assert outbox.record_dn_ack(engine, "st-01", Ack(upto=9)) == 4  # never past what was sent
    outbox.record_dn_ack(engine, "st-01", Ack(upto=4, rejected=((3, "unknown order o2"),)))
    outbox.record_dn_ack(engine, "st-01", Ack(upto=4, rejected=((3, "unknown order o2"),)))
    with read_only(engine) as conn:
        (alert,) = alerts.open_alerts(conn, kind="dn_rejected")
        assert registry.get_station(conn, "st-01")["dn"] == {
            "last_seq": 4,
            "acked": 4,
            "backlog": 0,
        }
    assert alert["data"] == {
        "seq": 3,
        "kind": protocol.ORDER_ASSIGNED,
        "reason": "unknown order o2",
    }


def test_a_command_travels_dn_and_its_result_comes_back_up(engine: Engine):
    register(engine, "st-01")
    with transaction(engine) as conn:
        command = commands.add_command(conn, "st-01", "reprint", {"job_id": 7}, ttl_s=60)
    assert command["status"] == "pending"
    (event,) = outbox.pending_dn(engine, "st-01", 0)
    assert event.kind == protocol.COMMAND
    assert event.data == {
        "command_id": command["id"],
        "name": "reprint",
        "args": {"job_id": 7},
        "expires_at": command["expires_at"],
    }
    outbox.record_dn_ack(engine, "st-01", Ack(upto=event.seq))
    with read_only(engine) as conn:
        assert commands.get_command(conn, command["id"])["status"] == "sent"

    j = Journal("st-01")
    j.add(
        protocol.COMMAND_RESULT,
        {"command_id": command["id"], "status": "done", "result": {"job": 8}},
    )
    assert ingest(engine, TENANT, j.batch()) == Ack(upto=1)
    with read_only(engine) as conn:
        done = commands.get_command(conn, command["id"])
        assert [c["id"] for c in commands.list_commands(conn, "st-01", status="done")] == [
            done["id"]
        ]
    assert (done["status"], done["result"]) == ("done", {"job": 8})


def test_commands_expire_when_no_station_took_them(engine: Engine):
    register(engine, "st-01")
    with transaction(engine) as conn:
        taken = commands.add_command(conn, "st-01", "pause_printer", {"printer": "label"}, ttl_s=1)
        missed = commands.add_command(
            conn, "st-01", "resume_printer", {"printer": "label"}, ttl_s=1
        )
        fresh = commands.add_command(conn, "st-01", "resync", {"from_seq": 1}, ttl_s=3600)
    outbox.record_dn_ack(engine, "st-01", Ack(upto=taken["dn_seq"]))
    missed_event = outbox.pending_dn(engine, "st-01", taken["dn_seq"])[0]
    assert missed_event.data["expires_at"] == missed["expires_at"]
    later = max(taken["expires_at"], missed["expires_at"])
    with transaction(engine) as conn:
        assert commands.expire_commands(conn, now=missed["created_at"]) == 0
        assert commands.expire_commands(conn, now=later) == 1
        assert commands.expire_commands(conn, now=later) == 0
        statuses = {c["id"]: c["status"] for c in commands.list_commands(conn, "st-01")}
    assert statuses == {taken["id"]: "sent", missed["id"]: "expired", fresh["id"]: "pending"}


def test_a_rejected_command_fails(engine: Engine):
    register(engine, "st-01")
    with transaction(engine) as conn:
        command = commands.add_command(conn, "st-01", "set_config", {"key": "x", "value": 1})
    j = Journal("st-01")
    j.add(protocol.DN_REJECTED, {"seq": command["dn_seq"], "reason": "expired"})
    ingest(engine, TENANT, j.batch())
    with read_only(engine) as conn:
        failed = commands.get_command(conn, command["id"])
    assert (failed["status"], failed["result"]) == ("failed", {"error": "expired"})


def test_bad_commands_are_refused(engine: Engine):
    register(engine, "st-01")
    with transaction(engine) as conn:
        with pytest.raises(InvalidInput, match="unknown command"):
            commands.add_command(conn, "st-01", "format_disk", {})
        with pytest.raises(InvalidInput):
            commands.add_command(conn, "st-01", "reprint", {}, ttl_s=0)
        with pytest.raises(NotFound):
            commands.add_command(conn, "st-77", "reprint", {})


def test_a_catalog_goes_to_every_station_of_the_tenant_in_small_events(engine: Engine):
    register(engine, "st-01", "st-02")
    register(engine, "other-01", tenant="other")
    with transaction(engine) as conn:
        result = catalog.put_catalog(conn, TENANT, products(120, blob=600))
    assert result["products"] == 120 and result["stations"] == ["st-01", "st-02"]
    for station in ("st-01", "st-02"):
        events = outbox.pending_dn(engine, station, 0)
        assert all(e.kind == protocol.CATALOG_UPSERT for e in events)
        assert len(events) == result["events"] // 2 > 1
        sizes = [len(json.dumps(e.to_wire(), ensure_ascii=False).encode()) for e in events]
        assert max(sizes) < 48 * 1024
        skus = [p["sku"] for e in events for p in e.data["products"]]
        assert skus == sorted(f"SKU-{i:04d}" for i in range(120))
        assert events[0].data["products"][0]["price"] == "12.50"
    assert outbox.pending_dn(engine, "other-01", 0) == []
    with read_only(engine) as conn:
        assert len(catalog.get_catalog(conn, TENANT)) == 120


def test_a_catalog_update_replaces_products_and_a_new_station_gets_the_catalog(engine: Engine):
    register(engine, "st-01")
    with transaction(engine) as conn:
        catalog.put_catalog(conn, TENANT, products(2))
        catalog.put_catalog(conn, TENANT, [{**products(1)[0], "price": "9.90"}])
        assert [p["price"] for p in catalog.get_catalog(conn, TENANT)] == ["9.90", "12.50"]
    register(engine, "st-02")
    (event,) = outbox.pending_dn(engine, "st-02", 0)
    assert [p["sku"] for p in event.data["products"]] == ["SKU-0000", "SKU-0001"]


@pytest.mark.parametrize(
    "bad",
    [
        {"name": "no sku", "price": "1"},
        {"sku": "A", "name": "", "price": "1"},
        {"sku": "A", "name": "x", "price": "abc"},
        {"sku": "A", "name": "x", "price": "-1"},
        {"sku": "A", "name": "x", "price": "1", "barcodes": "123"},
        {"sku": "A", "name": "x", "price": "1", "note": "y" * 60_000},
    ],
)
def test_bad_products_are_refused(engine: Engine, bad: dict):
    with pytest.raises(InvalidInput), transaction(engine) as conn:
        catalog.put_catalog(conn, TENANT, [bad])
