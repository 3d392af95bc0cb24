import pytest

from edge import protocol
from edge.store import Store, journal


def _fill(store, n):
    with store.write() as conn:
        for i in range(n):
            journal.append(conn, "x.test", {"i": i, "名": "可乐"})


def test_seq_has_no_gaps_and_chain_verifies(tmp_path):
    store = Store(tmp_path / "s.db")
    _fill(store, 30)
    events = journal.since(store.conn(), 0, 100)
    assert [e.seq for e in events] == list(range(1, 31))
    assert events[0].prev_hash == protocol.GENESIS_HASH
    assert len({e.id for e in events}) == 30
    assert journal.verify(store.conn()) is None
    assert protocol.verify_chain(events, protocol.GENESIS_HASH) is None


def test_tampering_is_detected(tmp_path):
    store = Store(tmp_path / "s.db")
    _fill(store, 10)
    with store.write() as conn:
        conn.execute("UPDATE journal SET data = '{\"i\":99}' WHERE seq = 5")
    assert journal.verify(store.conn()) == 5


def test_deleted_event_is_a_gap(tmp_path):
    store = Store(tmp_path / "s.db")
    _fill(store, 10)
    with store.write() as conn:
        conn.execute("DELETE FROM journal WHERE seq = 4")
    assert journal.verify(store.conn()) == 4


def test_wire_round_trip():
    event = protocol.seal(1, "order.created", {"a": [1, 2]}, protocol.GENESIS_HASH)
    again = protocol.Event.from_wire(event.to_wire())
    assert again == event
    assert protocol.verify_chain([again], protocol.GENESIS_HASH) is None


def test_an_appended_event_hashes_as_the_protocol_seals_it(tmp_path):
    store = Store(tmp_path / "s.db")
    data = {"名": '可乐\n"330ml"', "n": [1, 2.5, None, True], "z": {"b": 1, "a": "\u2028é"}}
    with store.write() as conn:
        made = journal.append(conn, "order.created", data)
    stored = journal.since(store.conn(), 0)[0]
    assert stored == made
    again = protocol.seal(
        1, "order.created", data, protocol.GENESIS_HASH, at=made.at, event_id=made.id
    )
    assert made.hash == again.hash


def test_a_batch_writes_its_events_as_it_ends_and_they_chain_on(tmp_path):
    store = Store(tmp_path / "s.db")
    _fill(store, 3)
    with store.write() as conn:
        with journal.batch(conn) as held:
            made = [journal.append(conn, "x.test", {"i": i}) for i in range(250)]
            assert journal.last_seq(conn) == 3  # held, not written yet
            assert held.head == journal.Head(253, made[-1].hash)
        assert journal.last_seq(conn) == 253
    events = journal.since(store.conn(), 3, 1000)
    assert events == made
    assert [e.seq for e in events] == list(range(4, 254))
    assert journal.verify(store.conn()) is None


def test_a_batch_that_raises_writes_nothing(tmp_path):
    store = Store(tmp_path / "s.db")
    _fill(store, 2)
    with store.write() as conn:
        with pytest.raises(RuntimeError), journal.batch(conn):
            journal.append(conn, "x.test", {"i": "lost"})
            raise RuntimeError("refused")
        journal.append(conn, "x.test", {"i": "kept"})  # not held any more
    events = journal.since(store.conn(), 0)
    assert [e.data["i"] for e in events] == [0, 1, "kept"]
    assert journal.verify(store.conn()) is None


def test_a_batch_inside_a_batch_joins_it(tmp_path):
    store = Store(tmp_path / "s.db")
    with store.write() as conn, journal.batch(conn) as outer:
        with journal.batch(conn) as inner:
            journal.append(conn, "x.test", {"i": 1})
        assert inner is outer and journal.last_seq(conn) == 0
    assert journal.last_seq(store.conn()) == 1


def test_a_batch_given_the_head_does_not_read_it(tmp_path):
    store = Store(tmp_path / "s.db")
    _fill(store, 2)
    conn = store.conn()
    start = journal.head(conn)
    with store.write() as conn, journal.batch(conn, start):
        statements: list[str] = []
        conn.set_trace_callback(statements.append)
        journal.append(conn, "x.test", {"i": 2})
        conn.set_trace_callback(None)
    assert statements == []
    assert journal.verify(store.conn()) is None
