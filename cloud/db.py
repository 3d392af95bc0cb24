"""The hub's database: one code path over SQLite (single box) and PostgreSQL (production).

SQLite connections run in WAL mode with ``synchronous=FULL``, foreign keys on and a busy
timeout. pysqlite's own transaction handling is switched off and every transaction starts
with ``BEGIN IMMEDIATE`` (SQLAlchemy's documented recipe), so a read-then-write takes the
write lock up front and can never deadlock; :func:`read_only` starts a plain ``BEGIN``.

On PostgreSQL (psycopg 3) transactions run at READ COMMITTED and writers serialise on the
rows they lock with ``SELECT … FOR UPDATE`` (a station's stream state, a store's stock
item), always in the same order: up stream → stock items (sorted) → dn stream.
"""

from __future__ import annotations

import logging
import threading
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, Table, create_engine, event, exc
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url

log = logging.getLogger(__name__)

BUSY_TIMEOUT_MS = 10_000
MIGRATIONS = Path(__file__).with_name("migrations")
# Any constant works; it only has to be the same in every hub process.
_MIGRATION_LOCK_KEY = 0x70726E74
_TRANSIENT_SQLSTATES = frozenset({"40001", "40P01"})  # serialization failure, deadlock

# Writers of one process queue on this lock instead of in SQLite's busy handler, whose
# back-off sleeps make some writers wait seconds while others pass.
_sqlite_write_locks: weakref.WeakKeyDictionary[Engine, threading.Lock] = weakref.WeakKeyDictionary()
_locks_guard = threading.Lock()

T = TypeVar("T")


def database_url(url_or_path: str | Path) -> str:
    """A SQLAlchemy URL for a filesystem path, ``sqlite:///…`` or ``postgresql://…``."""
    text = str(url_or_path)
    if "://" not in text:
        return f"sqlite:///{Path(text).expanduser()}"
    scheme, rest = text.split("://", 1)
    if scheme in {"postgresql", "postgres"}:
        return f"postgresql+psycopg://{rest}"
    return text


def make_engine(url_or_path: str | Path, **kwargs: Any) -> Engine:
    """An engine for the hub database; extra keyword arguments go to ``create_engine``."""
    url = make_url(database_url(url_or_path))
    if url.get_backend_name() == "sqlite":
        if url.database and url.database != ":memory:":
            Path(url.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, **kwargs)
        event.listen(engine, "connect", _sqlite_connect)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    if url.get_backend_name() == "postgresql":
        kwargs.setdefault("pool_pre_ping", True)
        return create_engine(url, **kwargs)
    raise ValueError(
        f"unsupported hub database {url.render_as_string()!r}: use a path or postgresql://"
    )


def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
    finally:
        cursor.close()


def _sqlite_begin(conn: Connection) -> None:
    mode = conn.get_execution_options().get("sqlite_begin", "IMMEDIATE")
    conn.exec_driver_sql(f"BEGIN {mode}")


def _write_lock(engine: Engine) -> threading.Lock | None:
    if engine.dialect.name != "sqlite":
        return None
    with _locks_guard:
        return _sqlite_write_locks.setdefault(engine, threading.Lock())


@contextmanager
def transaction(engine: Engine) -> Iterator[Connection]:
    """One atomic write: committed at the end of the block, rolled back on any exception."""
    lock = _write_lock(engine)
    if lock is None:
        with engine.begin() as conn:
            yield conn
        return
    with lock, engine.begin() as conn:
        yield conn


@contextmanager
def read_only(engine: Engine) -> Iterator[Connection]:
    """A read transaction (one consistent snapshot on SQLite; statement-level on PostgreSQL)."""
    with engine.connect() as plain:
        conn = plain.execution_options(sqlite_begin="DEFERRED")
        with conn.begin():
            yield conn


def is_transient(err: exc.DBAPIError) -> bool:
    """A deadlock or serialization failure that a retry of the whole transaction resolves."""
    return getattr(err.orig, "sqlstate", None) in _TRANSIENT_SQLSTATES


def retrying(
    engine: Engine,
    work: Callable[[Connection], T],
    *,
    attempts: int = 3,
    retry_on: tuple[type[Exception], ...] = (),
) -> T:
    """Run ``work`` in a transaction; retry it when the database reports a transient
    conflict (or one of ``retry_on``), at most ``attempts`` times in all."""
    for attempt in range(1, attempts):
        try:
            with transaction(engine) as conn:
                return work(conn)
        except exc.DBAPIError as err:
            if not (is_transient(err) or isinstance(err, retry_on)):
                raise
            log.info("transaction conflict (%s), retrying (%d/%d)", err.orig, attempt, attempts)
    with transaction(engine) as conn:
        return work(conn)


def insert_ignore(
    conn: Connection, table: Table, rows: dict[str, Any] | list[dict[str, Any]]
) -> int:
    """``INSERT … ON CONFLICT DO NOTHING``; returns how many rows were inserted."""
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    stmt = (
        dialect.insert(table)
        .on_conflict_do_nothing()
        .returning(*table.primary_key.columns)  # rowcount is not reliable across drivers
    )
    return len(conn.execute(stmt, rows).all())


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest revision (forward only; a no-op when current).

    Several processes may call this at once: PostgreSQL serialises them on an advisory
    lock, SQLite on its write lock."""
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with transaction(engine) as conn:
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_MIGRATION_LOCK_KEY})")
        config.attributes["connection"] = conn
        command.upgrade(config, "head")


def current_revision(engine: Engine) -> str | None:
    """The schema revision the database is at, or None before the first migration."""
    from alembic.migration import MigrationContext

    with read_only(engine) as conn:
        return MigrationContext.configure(conn).get_current_revision()
