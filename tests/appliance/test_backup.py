"""`printstation backup` / `restore`: an online, consistent copy taken while a writer keeps
committing; restore refuses while a process holds the database, keeps the old file aside,
and rejects a damaged backup; a SQLite hub works the same; a PostgreSQL hub is refused."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import threading

import pytest

from edge.backup import BackupError, backup, database_of, holders, restore
from tests.conftest import REPO, write_config


def make_db(path):
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("CREATE TABLE moves (id INTEGER PRIMARY KEY, pair INTEGER, qty INTEGER)")
    conn.commit()
    return conn


def cli(*args):
    return subprocess.run(
        [sys.executable, "-m", "edge.cli", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


def test_backup_under_concurrent_writes_is_consistent(tmp_path):
    db = tmp_path / "station.db"
    make_db(db).close()
    stop = threading.Event()
    written = []

    def writer():
        conn = sqlite3.connect(db, timeout=30)
        n = 0
        while not stop.is_set():
            n += 1
            with conn:  # one transaction: two rows that must appear together, or not at all
                conn.execute("INSERT INTO moves (pair, qty) VALUES (?, 1)", (n,))
                conn.execute("INSERT INTO moves (pair, qty) VALUES (?, -1)", (n,))
            written.append(n)
        conn.close()

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        while len(written) < 200:
            stop.wait(0.01)
        copies = [backup(db, tmp_path / f"copy{i}.db") for i in range(5)]
    finally:
        stop.set()
        thread.join()
    counts = []
    for info in copies:
        assert not info.path.with_name(info.path.name + ".partial").exists()
        conn = sqlite3.connect(info.path)
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("delete",)
        rows = conn.execute("SELECT pair, SUM(qty), COUNT(*) FROM moves GROUP BY pair").fetchall()
        conn.close()
        assert all(total == 0 and count == 2 for _, total, count in rows)  # no half transaction
        pairs = [p for p, _, _ in rows]
        assert pairs == list(range(1, len(pairs) + 1))  # a prefix of the commits
        counts.append(len(pairs))
    assert counts == sorted(counts) and counts[0] >= 200
    assert len(written) >= counts[-1]


def test_backup_into_a_directory_names_a_dated_file(tmp_path):
    db = tmp_path / "station.db"
    make_db(db).close()
    out = tmp_path / "backups"
    out.mkdir()
    info = backup(db, out)
    assert info.path.parent == out and info.path.name.startswith("station-")


def test_backup_of_a_damaged_database_leaves_nothing(tmp_path):
    db = tmp_path / "station.db"
    db.write_bytes(b"garbage" * 1000)
    with pytest.raises(BackupError):
        backup(db, tmp_path / "copy.db")
    assert not list(tmp_path.glob("copy.db*"))


def test_restore_refuses_while_a_process_holds_the_database(tmp_path):
    db = tmp_path / "station.db"
    conn = make_db(db)
    conn.execute("INSERT INTO moves (pair, qty) VALUES (1, 5)")
    conn.commit()
    conn.close()
    saved = backup(db, tmp_path / "saved.db").path
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); "
            "c.execute('SELECT 1 FROM moves').fetchall(); print('open', flush=True); "
            "sys.stdin.read()",
            str(db),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "open"
        assert holder.pid in holders(db)
        with pytest.raises(BackupError, match="in use by process"):
            restore(saved, db)
    finally:
        holder.communicate("")
    assert holders(db) == []


def test_restore_replaces_and_keeps_the_old_file(tmp_path):
    db = tmp_path / "station.db"
    conn = make_db(db)
    conn.execute("INSERT INTO moves (pair, qty) VALUES (1, 5)")
    conn.commit()
    conn.close()
    saved = backup(db, tmp_path / "saved.db").path
    conn = sqlite3.connect(db)
    conn.execute("INSERT INTO moves (pair, qty) VALUES (2, 7)")
    conn.commit()
    conn.close()
    kept = restore(saved, db)
    assert kept is not None and kept.name.startswith("station.db.before-restore-")
    conn = sqlite3.connect(db)
    assert conn.execute("SELECT pair FROM moves").fetchall() == [(1,)]
    conn.close()
    conn = sqlite3.connect(kept)
    assert conn.execute("SELECT pair FROM moves ORDER BY pair").fetchall() == [(1,), (2,)]
    conn.close()


def test_restore_rejects_a_damaged_backup_and_changes_nothing(tmp_path):
    db = tmp_path / "station.db"
    make_db(db).close()
    before = db.read_bytes()
    bad = tmp_path / "bad.db"
    bad.write_bytes(b"not a database" * 100)
    with pytest.raises(BackupError):
        restore(bad, db)
    assert db.read_bytes() == before
    assert not list(tmp_path.glob("*.restoring")) and not list(tmp_path.glob("*before-restore*"))


def test_station_commands(tmp_path):
    config = write_config(tmp_path / "station")
    conn = make_db(tmp_path / "station" / "station.db")
    conn.execute("INSERT INTO moves (pair, qty) VALUES (1, 5)")
    conn.commit()
    conn.close()
    out = cli("backup", str(tmp_path / "b.db"), "--config", str(config))
    assert out.returncode == 0, out.stderr
    assert "integrity ok" in out.stdout
    out = cli("restore", str(tmp_path / "b.db"), "--config", str(config))
    assert out.returncode == 0, out.stderr
    assert "restored" in out.stdout and "before-restore" in out.stdout
    out = cli("restore", str(tmp_path / "missing.db"), "--config", str(config))
    assert out.returncode == 1 and "no backup" in out.stderr


def test_hub_sqlite_and_postgresql(tmp_path):
    hub_db = tmp_path / "hub.db"
    make_db(hub_db).close()
    sqlite_hub = tmp_path / "hub.toml"
    sqlite_hub.write_text(f'[hub]\ndatabase = "{hub_db}"\n')
    assert database_of(str(sqlite_hub)) == hub_db
    out = cli("backup", str(tmp_path / "hub-copy.db"), "--config", str(sqlite_hub))
    assert out.returncode == 0, out.stderr
    pg_hub = tmp_path / "pg.toml"
    pg_hub.write_text('[hub]\ndatabase = "postgresql://u@127.0.0.1/db"\n')
    out = cli("backup", str(tmp_path / "x.db"), "--config", str(pg_hub))
    assert out.returncode == 1 and "pg_dump" in out.stderr
