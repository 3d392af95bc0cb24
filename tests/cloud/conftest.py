"""Hub fixtures: an ``engine`` on a fresh SQLite file and on a fresh PostgreSQL schema.

PostgreSQL comes from ``PRINTSTATION_TEST_PG`` (a ``postgresql://`` URL). Unset: the
PostgreSQL variants skip. Set but unreachable: they skip, or fail when ``CI`` is set.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlalchemy.engine import make_url

from cloud import db

PG_ENV = "PRINTSTATION_TEST_PG"


def _pg_admin() -> str:
    url = os.environ.get(PG_ENV)
    if not url:
        pytest.skip(f"PostgreSQL tests need {PG_ENV}=postgresql://…")
    import psycopg

    try:
        psycopg.connect(url, connect_timeout=5).close()
    except psycopg.Error as err:
        message = f"PostgreSQL at {PG_ENV}={url} is unreachable: {err}"
        if os.environ.get("CI"):
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    return url


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database URL (or path) with nothing in it yet."""
    if request.param == "sqlite":
        yield str(tmp_path / "hub.db")
        return
    import psycopg

    admin = _pg_admin()
    schema = f"t_{uuid.uuid4().hex[:16]}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    url = make_url(db.database_url(admin)).update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")


def open_engine(url: str) -> Engine:
    return db.make_engine(url)


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    """A migrated hub database."""
    eng = open_engine(db_url)
    db.migrate(eng)
    yield eng
    eng.dispose()


@pytest.fixture
def second_engine(db_url: str, engine: Engine) -> Iterator[Engine]:
    """Another engine (own pool, own connections) on the same database, as a second
    hub process would have."""
    eng = open_engine(db_url)
    yield eng
    eng.dispose()
