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
