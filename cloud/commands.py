"""Remote commands to a station: reprint a job, pause or resume a printer, resync from a
seq, set a config value. Each travels ``dn`` with an id and an expiry; its result comes
back ``up`` as ``command.result``.

Status: ``pending`` (queued, not yet acked by the station) → ``sent`` (the station acked the
``dn`` event) → ``done`` | ``failed`` (its result); ``expired`` when the station had not
taken it before its expiry (a station skips a command past ``expires_at``).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, select, update

from cloud.errors import InvalidInput, NeverApplies, NotFound
from cloud.outbox import enqueue_dn
from cloud.schema import commands, stations
from cloud.text import is_token
from edge.protocol import COMMAND, format_time, new_event_id, printable, utc_now

log = logging.getLogger(__name__)

COMMAND_NAMES = frozenset({"reprint", "pause_printer", "resume_printer", "resync", "set_config"})
MAX_TTL_S = 7 * 24 * 3600


def add_command(
    conn: Connection, station: str, name: str, args: dict[str, Any], ttl_s: float = 300
) -> dict[str, Any]:
    """Queue a command for the station; returns the command row."""
    if name not in COMMAND_NAMES:
        raise InvalidInput(f"unknown command {name!r}; known: {', '.join(sorted(COMMAND_NAMES))}")
    if not isinstance(args, dict):
        raise InvalidInput("command args must be a JSON object")
    if not 0 < ttl_s <= MAX_TTL_S:
        raise InvalidInput(f"a command's ttl must be between 0 and {MAX_TTL_S} seconds")
    if conn.execute(select(stations.c.id).where(stations.c.id == station)).first() is None:
        raise NotFound(f"no station {station}")
    now = datetime.now(UTC)
    command_id, created, expires = (
        new_event_id(),
        format_time(now),
        format_time(now + timedelta(seconds=ttl_s)),
    )
    event = enqueue_dn(
        conn,
        station,
        COMMAND,
        {"command_id": command_id, "name": name, "args": args, "expires_at": expires},
        expires_at=expires,
    )
    conn.execute(
        commands.insert().values(
            id=command_id,
            station=station,
            name=name,
            args=args,
            status="pending",
            dn_seq=event.seq,
            created_at=created,
            expires_at=expires,
            updated_at=created,
        )
    )
    log.info("command %s %s for %s (dn seq %d)", command_id, name, station, event.seq)
    return get_command(conn, command_id)


def get_command(conn: Connection, command_id: str) -> dict[str, Any]:
    row = conn.execute(select(commands).where(commands.c.id == command_id)).mappings().first()
    if row is None:
        raise NotFound(f"no command {command_id}")
    return dict(row)


def list_commands(
    conn: Connection, station: str, *, status: str | None = None, limit: int = 100
) -> list[dict[str, Any]]:
    """The station's commands, newest first."""
    query = select(commands).where(commands.c.station == station)
    if status is not None:
        query = query.where(commands.c.status == status)
    rows = conn.execute(query.order_by(commands.c.dn_seq.desc()).limit(limit)).mappings()
    return [dict(r) for r in rows]


def expire_commands(conn: Connection, now: str | None = None) -> int:
    """Mark commands that no station took before their expiry; returns how many."""
    moment = now or utc_now()
    result = conn.execute(
        update(commands)
        .where(commands.c.status == "pending", commands.c.expires_at <= moment)
        .values(status="expired", updated_at=moment)
    )
    if result.rowcount:
        log.info("%d command(s) expired", result.rowcount)
    return result.rowcount


def record_result(conn: Connection, station: str, data: dict[str, Any]) -> None:
    """A ``command.result`` from the station: ``{"command_id", "status": "done"|"failed",
    "result"?}`` (or ``"ok": bool`` instead of ``status``)."""
    command_id = data.get("command_id")
    if not is_token(command_id):
        raise NeverApplies("command.result needs a 'command_id' string")
    status = data.get("status")
    if status not in {"done", "failed"}:
        ok = data.get("ok")
        if not isinstance(ok, bool):
            raise NeverApplies("command.result needs 'status' done|failed (or 'ok': bool)")
        status = "done" if ok else "failed"
    row = conn.execute(select(commands.c.station).where(commands.c.id == command_id)).first()
    if row is None or row.station != station:
        raise NeverApplies(f"command.result for unknown command {printable(command_id)}")
    conn.execute(
        update(commands)
        .where(commands.c.id == command_id)
        .values(status=status, result=data.get("result"), updated_at=utc_now())
    )
