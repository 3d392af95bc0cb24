"""Hub users: hashed passwords, roles in order, bad input refused, the CLI."""

from __future__ import annotations

import subprocess
import sys

import pytest
from sqlalchemy import select

from cloud import users
from cloud.db import read_only, transaction
from cloud.errors import InvalidInput
from cloud.schema_ops import hub_users
from tests.conftest import REPO

from .conftest import hub_config


def test_add_and_authenticate(engine):
    with transaction(engine) as conn:
        assert users.add_user(conn, "mei", "long enough 1", "operator") == {
            "name": "mei",
            "role": "operator",
        }
        assert users.authenticate(conn, "mei", "long enough 1") == {
            "name": "mei",
            "role": "operator",
        }
        assert users.authenticate(conn, "mei", "long enough 2") is None
        assert users.authenticate(conn, "nobody", "long enough 1") is None
        stored = conn.execute(select(hub_users.c.password_hash)).scalar_one()
    assert "long enough" not in stored and stored.startswith("scrypt:")
    with read_only(engine) as conn:
        (row,) = users.list_users(conn)
    assert row["name"] == "mei" and row["last_login"] is not None


def test_bad_input_and_duplicates(engine):
    with transaction(engine) as conn:
        users.add_user(conn, "mei", "long enough 1", "viewer")
    for name, password, role in [
        ("", "long enough", "viewer"),
        ("a\nb", "long enough", "viewer"),
        ("bo", "short", "viewer"),
        ("bo", "long enough", "root"),
    ]:
        with pytest.raises(InvalidInput), transaction(engine) as conn:
            users.add_user(conn, name, password, role)
    with pytest.raises(users.UserExists), transaction(engine) as conn:
        users.add_user(conn, "mei", "another password", "admin")
    with read_only(engine) as conn:
        assert [u["name"] for u in users.list_users(conn)] == ["mei"]
        assert users.get_role(conn, "mei") == "viewer"


def test_roles_are_ordered():
    assert users.role_at_least("admin", "operator")
    assert users.role_at_least("operator", "operator")
    assert not users.role_at_least("viewer", "operator")
    assert not users.role_at_least("root", "viewer")


def test_hub_user_add_cli(tmp_path):
    config = hub_config(tmp_path)
    path = tmp_path / "hub.toml"
    path.write_text(
        f'[hub]\ndatabase = "{config.hub.database}"\n[http]\ntoken_file = "{tmp_path / "tok"}"\n',
        encoding="utf-8",
    )
    argv = [sys.executable, "-m", "edge.cli", "hub-user-add", "lin", "--role", "admin"]
    argv += ["--config", str(path), "--password-stdin"]
    done = subprocess.run(
        argv, check=False, input="s3cret-pass\n", text=True, capture_output=True, cwd=REPO
    )
    assert done.returncode == 0, done.stderr
    again = subprocess.run(
        argv, check=False, input="s3cret-pass\n", text=True, capture_output=True, cwd=REPO
    )
    assert again.returncode == 1 and "already exists" in again.stderr
    short = subprocess.run(
        [*argv[:4], "kim", "--config", str(path), "--password-stdin"],
        check=False,
        input="x\n",
        text=True,
        capture_output=True,
        cwd=REPO,
    )
    assert short.returncode == 1 and "at least" in short.stderr
    from cloud.db import make_engine

    engine = make_engine(config.hub.database)
    try:
        with transaction(engine) as conn:
            assert users.authenticate(conn, "lin", "s3cret-pass") == {
                "name": "lin",
                "role": "admin",
            }
    finally:
        engine.dispose()


def test_demo_creates_its_dashboard_login_once(tmp_path):
    from edge.demo.backend import dashboard_login

    config = hub_config(tmp_path)
    path = tmp_path / "hub.toml"
    path.write_text(
        f'[hub]\ndatabase = "{config.hub.database}"\n[http]\ntoken_file = "{tmp_path / "tok"}"\n',
        encoding="utf-8",
    )
    login = dashboard_login(tmp_path, path)
    assert login["user"] == "ops" and login["role"] == "operator" and len(login["password"]) >= 8
    assert dashboard_login(tmp_path, path) == login  # a resumed demo keeps the same login
    from cloud.db import make_engine

    engine = make_engine(config.hub.database)
    try:
        with transaction(engine) as conn:
            assert users.authenticate(conn, "ops", login["password"]) == {
                "name": "ops",
                "role": "operator",
            }
    finally:
        engine.dispose()
