import sqlite3
import threading

import pytest

from edge.store import Store, connect, journal, transaction
from edge.store.migrations import as_sqlite_utils, station


def test_every_connection_is_wal_and_synchronous_full(tmp_path):
    store = Store(tmp_path / "s.db")
    conns = [store.conn()]
    t = threading.Thread(target=lambda: conns.append(store.conn()))
    t.start()
    t.join()
    assert conns[0] is not conns[1]
    for conn in conns:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
        assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    store.close()


def test_migrations_from_empty_db_and_idempotent(tmp_path):
    store = Store(tmp_path / "s.db")
    applied = [r[0] for r in store.conn().execute("SELECT name FROM _sqlite_migrations")]
    assert applied == [name for name, _ in station.migrations]
    store.close()
    again = Store(tmp_path / "s.db")  # re-open: nothing applied twice
    assert again.conn().execute("SELECT COUNT(*) FROM _sqlite_migrations").fetchone()[0] == len(
        applied
    )
    again.close()


def test_concurrent_first_open_migrates_once(tmp_path):
    errors = []

    def open_store():
        try:
            Store(tmp_path / "race.db").close()
        except Exception as err:  # collected and asserted below
            errors.append(err)

    threads = [threading.Thread(target=open_store) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []


def test_transaction_rolls_back_everything_on_error(tmp_path):
    store = Store(tmp_path / "s.db")
    with pytest.raises(RuntimeError), store.write() as conn:
        journal.append(conn, "x.test", {"n": 1})
        raise RuntimeError("boom")
    assert journal.last_seq(store.conn()) == 0
    store.close()


def test_journal_append_outside_transaction_is_refused(tmp_path):
    conn = connect(tmp_path / "s.db")
    Store(tmp_path / "s.db").close()
    with pytest.raises(RuntimeError):
        journal.append(conn, "x.test", {})


def test_transaction_helper_commits(tmp_path):
    Store(tmp_path / "s.db").close()
    conn = connect(tmp_path / "s.db")
    with transaction(conn):
        conn.execute("INSERT INTO kv (key, value) VALUES ('a', '1')")
    other = sqlite3.connect(tmp_path / "s.db")
    assert other.execute("SELECT value FROM kv WHERE key='a'").fetchone()[0] == "1"


def test_migrates_a_database_of_the_previous_release(tmp_path):
    from sqlite_utils import Database

    conn = connect(tmp_path / "old.db")
    db = Database(conn)
    as_sqlite_utils().apply(db, stop_before="0002_scan_event_id")  # as the first release left it
    conn.execute(
        "INSERT INTO scans (code, source, at, outcome) VALUES ('X', 'bench', '2026-01-01', 'badge')"
    )
    conn.close()
    store = Store(tmp_path / "old.db")
    columns = {r["name"] for r in store.conn().execute("PRAGMA table_info(scans)")}
    assert "event_id" in columns
    assert store.conn().execute("SELECT code FROM scans").fetchone()["code"] == "X"
    store.close()
