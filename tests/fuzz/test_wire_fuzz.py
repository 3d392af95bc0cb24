"""Property-based tests of the protocol decoder: whatever arrives on a topic, decoding either
gives a well-formed value or raises :class:`ProtocolError` — never another exception, so a
malformed payload is rejected and logged instead of killing a worker."""

from __future__ import annotations

import contextlib
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from edge import protocol, wire
from edge.protocol import Event, ProtocolError

FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False),
    st.text(max_size=20),
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
#: A JSON document that may or may not look like an event: the keys a decoder reads, with
#: values of any JSON type (or missing).
eventish = st.fixed_dictionaries(
    {},
    optional={
        "seq": json_values,
        "id": json_values,
        "kind": json_values,
        "at": json_values,
        "data": json_values,
        "prev_hash": json_values,
        "hash": json_values,
    },
)
kinds = st.sampled_from(sorted(protocol.STATION_EVENT_KINDS))
payload_data = st.dictionaries(st.text(max_size=10), json_scalars, max_size=5)


def _dump(document: object) -> bytes:
    return json.dumps(document, ensure_ascii=False).encode("utf-8")


@FUZZ
@given(st.binary(max_size=2048))
def test_arbitrary_bytes_are_refused_cleanly(raw: bytes) -> None:
    for decode in (
        lambda: wire.Batch.from_bytes(raw, station="st-01", stream="up"),
        lambda: wire.Ack.from_bytes(raw),
        lambda: wire.parse_presence(raw),
        lambda: wire.parse_telemetry(raw),
    ):
        with contextlib.suppress(ProtocolError):
            decode()


@FUZZ
@given(st.lists(st.one_of(eventish, json_values), max_size=5), json_values)
def test_batch_documents_decode_to_well_formed_events_or_protocol_error(
    events: list[object], station: object
) -> None:
    raw = _dump({"v": wire.SCHEMA_VERSION, "station": "st-01", "stream": "up", "events": events})
    try:
        batch = wire.Batch.from_bytes(raw, station="st-01", stream="up")
    except ProtocolError:
        return
    seqs = [e.seq for e in batch.events]
    assert seqs == sorted(set(seqs))
    for event in batch.events:
        assert type(event.seq) is int and event.seq >= 1
        assert isinstance(event.data, dict)
        assert all(isinstance(v, str) for v in (event.id, event.kind, event.at, event.hash))


@FUZZ
@given(eventish)
def test_event_fields_must_have_their_json_types(document: dict[str, object]) -> None:
    """A float, a bool or a numeric string is not a seq, and a list of pairs is not data:
    accepting them would hash a different body from the one the sender sealed."""
    try:
        event = Event.from_wire(document)
    except ProtocolError:
        return
    assert type(document["seq"]) is int
    assert isinstance(document["data"], dict)
    for key in ("id", "kind", "at", "prev_hash", "hash"):
        assert isinstance(document[key], str)
    assert event.to_wire() == document | {"seq": event.seq}


@FUZZ
@given(json_values, json_values, json_values)
def test_acks_decode_or_raise_protocol_error(
    upto: object, rejected: object, resend: object
) -> None:
    raw = _dump(
        {"v": wire.SCHEMA_VERSION, "upto": upto, "rejected": rejected, "resend_from": resend}
    )
    try:
        ack = wire.Ack.from_bytes(raw)
    except ProtocolError:
        return
    assert type(ack.upto) is int
    assert ack.resend_from is None or type(ack.resend_from) is int


@pytest.mark.parametrize("number", ["1e999", "-1e999", "1.5", "true"])
def test_non_integer_numbers_are_not_seqs(number: str) -> None:
    event = '{"seq":SEQ,"id":"e","kind":"k","at":"t","data":{},"prev_hash":"p","hash":"h"}'
    raw = (
        f'{{"v":{wire.SCHEMA_VERSION},"station":"st-01","stream":"up",'
        f'"events":[{event.replace("SEQ", number)}]}}'
    ).encode()
    with pytest.raises(ProtocolError):
        wire.Batch.from_bytes(raw, station="st-01", stream="up")
    with pytest.raises(ProtocolError):
        wire.Ack.from_bytes(f'{{"v":{wire.SCHEMA_VERSION},"upto":{number}}}'.encode())


@FUZZ
@given(st.lists(st.tuples(kinds, payload_data), min_size=1, max_size=20))
def test_sealed_batches_round_trip_and_verify(items: list[tuple[str, dict[str, object]]]) -> None:
    previous, events = "0" * 64, []
    for seq, (kind, data) in enumerate(items, start=1):
        event = protocol.seal(seq, kind, data, previous)
        events.append(event)
        previous = event.hash
    batch = wire.Batch("st-01", "up", tuple(events))
    decoded = wire.Batch.from_bytes(batch.to_bytes(), station="st-01", stream="up")
    assert decoded == batch
    assert protocol.verify_chain(list(decoded.events), "0" * 64) is None


@FUZZ
@given(st.lists(st.tuples(kinds, payload_data), min_size=2, max_size=10), st.data())
def test_any_change_to_a_sealed_event_breaks_the_chain(
    items: list[tuple[str, dict[str, object]]], data: st.DataObject
) -> None:
    previous, events = "0" * 64, []
    for seq, (kind, body) in enumerate(items, start=1):
        events.append(protocol.seal(seq, kind, body, previous))
        previous = events[-1].hash
    victim = data.draw(st.integers(0, len(events) - 1))
    field = data.draw(st.sampled_from(["kind", "at", "id", "data"]))
    original = events[victim]
    changed = {
        "kind": original.kind + "x",
        "at": original.at + "0",
        "id": original.id + "0",
        "data": {**original.data, "tampered": True},
    }[field]
    events[victim] = Event(**{**original.__dict__, field: changed})
    assert protocol.verify_chain(events, "0" * 64) == original.seq
