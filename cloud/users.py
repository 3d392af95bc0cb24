"""Hub staff users for the ops dashboard: a name, a hashed password and a role.

Roles are ordered: a ``viewer`` sees everything, an ``operator`` may also act (send
commands, clear alerts, release or cancel orders, pair stations), an ``admin`` may also add
and remove users (on the dashboard's Users page, or ``printstation hub-user-add``).
Passwords are hashed with scrypt (werkzeug), never stored or logged in clear.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import Connection, select, update
from werkzeug.security import check_password_hash, generate_password_hash

from cloud.db import insert_ignore
from cloud.errors import HubError, InvalidInput
from cloud.schema_ops import ROLES, hub_users
from cloud.text import is_token
from edge.protocol import utc_now

log = logging.getLogger(__name__)
MIN_PASSWORD = 8
# Checked against when the user does not exist, so a wrong name costs as long as a wrong
# password and the login time does not tell which names exist.
_DUMMY_HASH = generate_password_hash("not-a-real-password", method="scrypt")


class UserExists(HubError):
    """A hub user with that name already exists."""


def role_at_least(role: str, needed: str) -> bool:
    """``role`` grants everything ``needed`` does (viewer < operator < admin)."""
    return role in ROLES and ROLES.index(role) >= ROLES.index(needed)


def add_user(conn: Connection, name: str, password: str, role: str) -> dict[str, Any]:
    """Create a user; raises InvalidInput for a bad name, role or short password and
    UserExists when the name is taken."""
    if not is_token(name) or len(name) > 64:
        raise InvalidInput("a user name must be a printable string of at most 64 characters")
    if role not in ROLES:
        raise InvalidInput(f"role must be one of: {', '.join(ROLES)}")
    if len(password) < MIN_PASSWORD:
        raise InvalidInput(f"a password needs at least {MIN_PASSWORD} characters")
    row = {
        "name": name,
        "password_hash": generate_password_hash(password, method="scrypt"),
        "role": role,
        "created_at": utc_now(),
    }
    if not insert_ignore(conn, hub_users, row):
        raise UserExists(f"hub user {name} already exists")
    log.info("hub user %s added with role %s", name, role)
    return {"name": name, "role": role}


def set_password(conn: Connection, name: str, password: str) -> bool:
    if len(password) < MIN_PASSWORD:
        raise InvalidInput(f"a password needs at least {MIN_PASSWORD} characters")
    result = conn.execute(
        update(hub_users)
        .where(hub_users.c.name == name)
        .values(password_hash=generate_password_hash(password, method="scrypt"))
    )
    return result.rowcount > 0


def authenticate(conn: Connection, name: str, password: str) -> dict[str, Any] | None:
    """The user ``{"name", "role"}`` when the password matches, else None."""
    row = conn.execute(select(hub_users).where(hub_users.c.name == name)).mappings().first()
    if row is None:
        check_password_hash(_DUMMY_HASH, password)
        return None
    if not check_password_hash(row["password_hash"], password):
        return None
    conn.execute(update(hub_users).where(hub_users.c.name == name).values(last_login=utc_now()))
    return {"name": row["name"], "role": row["role"]}


def list_users(conn: Connection) -> list[dict[str, Any]]:
    rows = conn.execute(
        select(
            hub_users.c.name, hub_users.c.role, hub_users.c.created_at, hub_users.c.last_login
        ).order_by(hub_users.c.name)
    ).mappings()
    return [dict(r) for r in rows]


def get_role(conn: Connection, name: str) -> str | None:
    """The user's current role (None when deleted): sessions re-check it on every request."""
    return conn.execute(select(hub_users.c.role).where(hub_users.c.name == name)).scalar()


def delete_user(conn: Connection, name: str) -> bool:
    """Remove a user; their open sessions end at their next request."""
    result = conn.execute(hub_users.delete().where(hub_users.c.name == name))
    if result.rowcount:
        log.info("hub user %s removed", name)
    return result.rowcount > 0
