"""The hub database: engines on both dialects, migrations from empty, transactions."""

from __future__ import annotations

import threading
import time

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, inspect, select, text

from cloud import db
from cloud.schema import metadata, stations

from .conftest import open_engine


def test_database_url_forms(tmp_path):
    assert db.database_url(tmp_path / "hub.db") == f"sqlite:///{tmp_path / 'hub.db'}"
    assert db.database_url("sqlite:///x.db") == "sqlite:///x.db"
    assert db.database_url("postgresql://u@h/d") == "postgresql+psycopg://u@h/d"
    assert db.database_url("postgres://u@h/d") == "postgresql+psycopg://u@h/d"
    with pytest.raises(ValueError, match="unsupported"):
        db.make_engine("mysql://u@h/d")


def test_migrations_from_empty_create_exactly_the_schema(db_url: str):
    engine = open_engine(db_url)
    try:
        assert db.current_revision(engine) is None
        db.migrate(engine)
        db.migrate(engine)  # a second run is a no-op
        assert db.current_revision(engine) == "0005_allocation"
        with db.read_only(engine) as conn:
            names = set(inspect(conn).get_table_names())
            assert {t.name for t in metadata.sorted_tables} <= names
            diff = compare_metadata(MigrationContext.configure(conn), metadata)
        assert diff == []
    finally:
        engine.dispose()


def test_sqlite_connections_are_durable(tmp_path):
    engine = db.make_engine(tmp_path / "hub.db")
    try:
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == db.BUSY_TIMEOUT_MS
    finally:
        engine.dispose()


def test_write_transactions_take_the_lock_up_front(tmp_path):
    """A second writer (another engine: another process) waits at BEGIN, not at its first
    write, so its reads already see the first writer's commit."""
    path = tmp_path / "hub.db"
    first, second = db.make_engine(path), db.make_engine(path)
    db.migrate(first)
    seen: list[int] = []
    started = threading.Event()

    def other_writer() -> None:
        started.wait()
        with db.transaction(second) as conn:
            seen.append(len(conn.execute(select(stations.c.id)).all()))

    thread = threading.Thread(target=other_writer)
    thread.start()
    try:
        with db.transaction(first) as conn:
            started.set()
            time.sleep(0.2)
            conn.execute(
                stations.insert().values(
                    id="st-01", tenant="acme", registered_at="t", updated_at="t"
                )
            )
        thread.join(10)
        assert seen == [1]
    finally:
        first.dispose()
        second.dispose()


def test_transaction_rolls_back_on_error(engine: Engine):
    with pytest.raises(RuntimeError), db.transaction(engine) as conn:
        conn.execute(
            stations.insert().values(id="st-x", tenant="acme", registered_at="t", updated_at="t")
        )
        raise RuntimeError("boom")
    with db.read_only(engine) as conn:
        assert conn.execute(select(stations.c.id)).all() == []


def test_retrying_retries_only_what_it_is_told(engine: Engine):
    from sqlalchemy import exc

    calls = []

    def work(conn):
        calls.append(1)
        conn.execute(text("SELECT * FROM no_such_table"))

    with pytest.raises(exc.DBAPIError):
        db.retrying(engine, work)
    assert len(calls) == 1
