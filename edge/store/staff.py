"""Staff who may use the packing and admin screens: a PIN and optionally a badge code."""

from __future__ import annotations

import sqlite3
from typing import Any

from werkzeug.security import check_password_hash, generate_password_hash

from edge.store.db import Conflict

ROLES = frozenset({"packer", "manager"})
# Checked against every active hash on login, so kept cheap; logins are rate-limited.
PIN_HASH = "pbkdf2:sha256:20000"


def add(
    conn: sqlite3.Connection, name: str, pin: str, *, role: str = "packer", badge: str | None = None
) -> int:
    if role not in ROLES:
        raise Conflict(f"unknown staff role {role!r}")
    if not pin.isdigit() or not 4 <= len(pin) <= 12:
        raise Conflict("a PIN is 4 to 12 digits")
    try:
        cur = conn.execute(
            "INSERT INTO staff (name, pin_hash, badge, role) VALUES (?,?,?,?)",
            (name, generate_password_hash(pin, method=PIN_HASH), badge, role),
        )
    except sqlite3.IntegrityError as err:
        raise Conflict(f"staff {name!r} or badge already exists") from err
    return int(cur.lastrowid or 0)


def _public(row: sqlite3.Row) -> dict[str, Any]:
    return {"id": row["id"], "name": row["name"], "role": row["role"]}


def by_pin(conn: sqlite3.Connection, pin: str) -> dict[str, Any] | None:
    """The active staff member with this PIN (PINs are checked against every hash)."""
    for row in conn.execute("SELECT * FROM staff WHERE active = 1"):
        if check_password_hash(row["pin_hash"], pin):
            return _public(row)
    return None


def by_badge(conn: sqlite3.Connection, badge: str) -> dict[str, Any] | None:
    row = conn.execute("SELECT * FROM staff WHERE active = 1 AND badge = ?", (badge,)).fetchone()
    return _public(row) if row else None


def count(conn: sqlite3.Connection) -> int:
    return int(conn.execute("SELECT COUNT(*) AS n FROM staff").fetchone()["n"])
