"""Group commit: one COMMIT for many callers, each caller's error its own."""

from __future__ import annotations

import threading

import pytest

from edge.store import Conflict, Store, journal, kv
from edge.store.group import GroupCommitter


@pytest.fixture
def group(tmp_path):
    store = Store(tmp_path / "g.db")
    committer = GroupCommitter(store)
    yield store, committer
    committer.close()
    store.close()


def test_results_come_back_and_a_failing_call_rolls_back_alone(group):
    store, committer = group
    errors, results = [], []

    def call(n: int) -> None:
        def work(conn):
            kv.put(conn, f"k{n}", n)
            journal.append(conn, "x.test", {"n": n})
            if n % 5 == 0:
                raise Conflict(f"call {n} refused")
            return n

        try:
            results.append(committer.run(work))
        except Conflict as err:
            errors.append(str(err))

    threads = [threading.Thread(target=call, args=(n,)) for n in range(1, 41)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    conn = store.conn()
    assert sorted(results) == [n for n in range(1, 41) if n % 5]
    assert len(errors) == 8
    assert all(kv.get(conn, f"k{n}") is None for n in range(5, 41, 5))
    assert journal.last_seq(conn) == 32 and journal.verify(conn) is None


def test_one_batch_chains_its_callers_events_past_a_failed_call(group):
    store, committer = group
    gate, started = threading.Event(), threading.Event()

    def hold(conn):  # keeps the writer busy until the next calls have queued up
        started.set()
        gate.wait(10)
        journal.append(conn, "x.test", {"n": 0})
        return 0

    def call(n):
        def work(conn):
            for part in ("a", "b"):
                journal.append(conn, "x.test", {"n": n, "part": part})
            if n == 3:
                raise Conflict("call 3 refused")
            return n

        return work

    outcomes: dict[int, object] = {}  # the calls queued behind ``hold`` form one batch

    def run(n, fn):
        try:
            outcomes[n] = committer.run(fn)
        except Conflict as err:
            outcomes[n] = err

    first = threading.Thread(target=run, args=(0, hold))
    first.start()
    assert started.wait(10)
    others = [threading.Thread(target=run, args=(n, call(n))) for n in range(1, 7)]
    for t in others:
        t.start()
    while committer._queue.qsize() < 6:
        threading.Event().wait(0.01)
    gate.set()
    for t in [first, *others]:
        t.join(10)
    assert isinstance(outcomes.pop(3), Conflict)
    assert outcomes == {0: 0, 1: 1, 2: 2, 4: 4, 5: 5, 6: 6}
    events = journal.since(store.conn(), 0)
    assert [e.seq for e in events] == list(range(1, 12))
    assert sorted({e.data["n"] for e in events}) == [0, 1, 2, 4, 5, 6]
    assert journal.verify(store.conn()) is None
