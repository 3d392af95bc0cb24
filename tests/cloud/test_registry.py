"""The station registry: presence with session ordering, telemetry, stores."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from cloud import alerts, registry, stock
from cloud.db import read_only, transaction
from cloud.errors import InvalidInput, NotFound, WrongTenant
from edge.wire import parse_presence, presence

from .factories import STORE, TENANT, register


def station(engine: Engine, name: str = "st-01") -> dict:
    with read_only(engine) as conn:
        return registry.get_station(conn, name)


def say(engine: Engine, payload: bytes, name: str = "st-01", tenant: str = TENANT) -> bool:
    with transaction(engine) as conn:
        return registry.on_presence(conn, tenant, name, parse_presence(payload))


def test_a_birth_registers_the_station_with_its_store_and_version(engine: Engine):
    assert say(engine, presence(True, 1, store=STORE, version="0.1.0"))
    s = station(engine)
    assert (s["tenant"], s["store"], s["version"], s["online"], s["session"]) == (
        TENANT,
        STORE,
        "0.1.0",
        True,
        1,
    )
    assert s["last_seen"] is not None


def test_a_late_will_of_an_older_session_does_not_mark_a_reconnected_station_offline(
    engine: Engine,
):
    say(engine, presence(True, 1))
    say(engine, presence(True, 2))  # reconnected before the broker sent session 1's Will
    assert not say(engine, presence(False, 1))
    assert station(engine)["online"] is True
    assert say(engine, presence(False, 2))
    assert station(engine)["online"] is False
    assert not say(engine, presence(True, 1))  # a stale birth changes nothing either
    assert station(engine)["online"] is False
    assert say(engine, presence(False, 3))  # a Will of a session whose birth we missed
    assert station(engine)["session"] == 3


def test_presence_needs_a_session(engine: Engine):
    with pytest.raises(InvalidInput), transaction(engine) as conn:
        registry.on_presence(conn, TENANT, "st-01", {"online": True})


def test_telemetry_is_kept_and_listed(engine: Engine):
    say(engine, presence(True, 1))
    tele = {"version": "0.2.0", "printers": {"receipt": {"status": "paper_out"}}, "outbox": 3}
    with transaction(engine) as conn:
        registry.on_telemetry(conn, TENANT, "st-01", tele)
        registry.on_telemetry(conn, TENANT, "st-02", {"uptime_s": 5})
    s = station(engine)
    assert s["telemetry"] == tele and s["version"] == "0.2.0"
    assert s["printers"] == {"receipt": {"status": "paper_out"}}
    with read_only(engine) as conn:
        assert [x["id"] for x in registry.list_stations(conn, TENANT)] == ["st-01", "st-02"]
        assert registry.list_stations(conn, "nobody") == []
        with pytest.raises(NotFound):
            registry.get_station(conn, "st-99")


def test_a_station_cannot_change_tenant(engine: Engine):
    say(engine, presence(True, 1))
    with pytest.raises(WrongTenant):
        say(engine, presence(True, 2), tenant="other")


def test_a_station_holding_allotments_keeps_its_store(engine: Engine):
    register(engine, "st-01")
    with transaction(engine) as conn:
        stock.receive(conn, TENANT, STORE, "SKU-1", 5)
        stock.grant(conn, "st-01", "SKU-1", 2)
    say(engine, presence(True, 1, store="store-99"))
    assert station(engine)["store"] == STORE
    with read_only(engine) as conn:
        assert alerts.open_alerts(conn, kind="store_change_refused")
    with transaction(engine) as conn:
        stock.release(conn, "st-01", "SKU-1", 2)
    say(engine, presence(True, 2, store="store-99"))
    assert station(engine)["store"] == "store-99"
