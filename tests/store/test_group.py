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
