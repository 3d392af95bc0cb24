"""The durable print queue.

States: ``queued`` → ``printing`` → ``done`` | ``failed`` | ``uncertain``; a failure that may
clear goes back to ``queued`` with a later ``next_attempt_at``. A job found in ``printing``
after a crash becomes ``uncertain``: it may or may not have printed, so an operator decides
(reprint or mark done) — it is never silently printed twice or dropped.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime, timedelta
from typing import Any

from edge import protocol
from edge.store import journal, kv
from edge.store.db import Conflict, NotFound

STATUSES = ("queued", "printing", "done", "failed", "uncertain", "cancelled")
KINDS = frozenset({"ticket", "picklist", "label", "raw", "test"})


def _job(row: sqlite3.Row) -> dict[str, Any]:
    job = dict(row)
    job["payload"] = json.loads(job["payload"])
    return job


def _state_event(
    conn: sqlite3.Connection, job_id: int, status: str, error: str | None = None
) -> None:
    journal.append(
        conn, protocol.PRINT_JOB_STATE, {"job_id": job_id, "status": status, "error": error}
    )


def enqueue(
    conn: sqlite3.Connection,
    printer: str,
    kind: str,
    payload: dict[str, Any],
    *,
    order_id: str | None = None,
    reprint_of: int | None = None,
) -> dict[str, Any]:
    if kind not in KINDS:
        raise Conflict(f"unknown print job kind {kind!r}")
    now = protocol.utc_now()
    row = conn.execute(
        "INSERT INTO print_jobs (printer, kind, payload, status, order_id, reprint_of, "
        "next_attempt_at, created_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?) RETURNING *",
        (
            printer,
            kind,
            json.dumps(payload, ensure_ascii=False),
            "queued",
            order_id,
            reprint_of,
            None,  # due at once: a wall-clock "now" would hold it if the clock steps back
            now,
            now,
        ),
    ).fetchone()
    job = {**row, "payload": payload}
    job_id = int(job["id"])
    journal.append(
        conn,
        protocol.PRINT_JOB_QUEUED,
        {
            "job_id": job_id,
            "printer": printer,
            "kind": kind,
            "order_id": order_id,
            "reprint_of": reprint_of,
        },
    )
    return job


def get(conn: sqlite3.Connection, job_id: int) -> dict[str, Any]:
    row = conn.execute("SELECT * FROM print_jobs WHERE id = ?", (job_id,)).fetchone()
    if row is None:
        raise NotFound(f"no print job {job_id}")
    return _job(row)


def find(
    conn: sqlite3.Connection,
    *,
    status: str | None = None,
    order_id: str | None = None,
    limit: int = 100,
) -> list[dict[str, Any]]:
    clauses, args = [], []
    if status:
        clauses.append("status = ?")
        args.append(status)
    if order_id:
        clauses.append("order_id = ?")
        args.append(order_id)
    where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
    rows = conn.execute(
        f"SELECT * FROM print_jobs {where} ORDER BY id DESC LIMIT ?",  # noqa: S608
        (*args, limit),
    ).fetchall()
    return [_job(r) for r in rows]


def claim_next(
    conn: sqlite3.Connection, printer: str, now: str | None = None
) -> dict[str, Any] | None:
    """Take the printer's oldest due job and mark it ``printing`` (strict per-printer order).

    The head of the queue blocks the jobs behind it while it waits for a retry, so a
    printer never prints jobs out of order. An ``uncertain`` job does not block: the
    operator's decision re-queues it or closes it.
    """
    now = now or protocol.utc_now()
    if conn.execute(
        "SELECT 1 FROM print_jobs WHERE printer = ? AND status = 'printing' LIMIT 1",
        (printer,),
    ).fetchone():
        return None
    row = conn.execute(
        "SELECT * FROM print_jobs WHERE printer = ? AND status = 'queued' ORDER BY id LIMIT 1",
        (printer,),
    ).fetchone()
    if row is None or (row["next_attempt_at"] or "") > now:
        return None
    conn.execute(
        "UPDATE print_jobs SET status = 'printing', attempts = attempts + 1, started_at = ?, "
        "updated_at = ? WHERE id = ?",
        (now, now, row["id"]),
    )
    _state_event(conn, row["id"], "printing")
    return get(conn, row["id"])


def next_due(conn: sqlite3.Connection, printer: str) -> str | None:
    row = conn.execute(
        "SELECT next_attempt_at FROM print_jobs WHERE printer = ? AND status = 'queued' "
        "ORDER BY id LIMIT 1",
        (printer,),
    ).fetchone()
    return row["next_attempt_at"] if row else None


def _finish(
    conn: sqlite3.Connection, job_id: int, status: str, error: str | None
) -> dict[str, Any]:
    job = get(conn, job_id)
    if job["status"] != "printing":
        raise Conflict(f"print job {job_id} is {job['status']}, not printing")
    now = protocol.utc_now()
    conn.execute(
        "UPDATE print_jobs SET status = ?, last_error = ?, finished_at = ?, updated_at = ? "
        "WHERE id = ?",
        (status, error, now, now, job_id),
    )
    _state_event(conn, job_id, status, error)
    return get(conn, job_id)


def mark_done(conn: sqlite3.Connection, job_id: int) -> dict[str, Any]:
    return _finish(conn, job_id, "done", None)


def mark_failed(conn: sqlite3.Connection, job_id: int, error: str) -> dict[str, Any]:
    return _finish(conn, job_id, "failed", error)


def mark_uncertain(conn: sqlite3.Connection, job_id: int, error: str) -> dict[str, Any]:
    return _finish(conn, job_id, "uncertain", error)


def retry_later(
    conn: sqlite3.Connection, job_id: int, error: str, delay_s: float
) -> dict[str, Any]:
    """Nothing of the job reached the printer: queue it again after ``delay_s``."""
    job = get(conn, job_id)
    if job["status"] != "printing":
        raise Conflict(f"print job {job_id} is {job['status']}, not printing")
    due = protocol.format_time(datetime.now(UTC) + timedelta(seconds=delay_s))
    conn.execute(
        "UPDATE print_jobs SET status = 'queued', last_error = ?, next_attempt_at = ?, "
        "updated_at = ? WHERE id = ?",
        (error, due, protocol.utc_now(), job_id),
    )
    _state_event(conn, job_id, "queued", error)
    return get(conn, job_id)


def recover(conn: sqlite3.Connection) -> list[int]:
    """After a crash: every job left ``printing`` becomes ``uncertain``; returns their ids."""
    ids = [r["id"] for r in conn.execute("SELECT id FROM print_jobs WHERE status = 'printing'")]
    for job_id in ids:
        _finish(conn, job_id, "uncertain", "the spooler stopped while sending this job")
    return ids


def resolve_uncertain(conn: sqlite3.Connection, job_id: int, printed: bool) -> dict[str, Any]:
    """The operator's decision: it printed (done) or it did not (queued again, at the head)."""
    job = get(conn, job_id)
    if job["status"] != "uncertain":
        raise Conflict(f"print job {job_id} is {job['status']}, not uncertain")
    status = "done" if printed else "queued"
    now = protocol.utc_now()
    conn.execute(
        "UPDATE print_jobs SET status = ?, next_attempt_at = ?, updated_at = ? WHERE id = ?",
        (status, now, now, job_id),
    )
    _state_event(conn, job_id, status, "operator: printed" if printed else "operator: reprint")
    return get(conn, job_id)


def reprint(conn: sqlite3.Connection, job_id: int) -> dict[str, Any]:
    """A new job with the same content, on the same printer."""
    job = get(conn, job_id)
    return enqueue(
        conn,
        job["printer"],
        job["kind"],
        job["payload"],
        order_id=job["order_id"],
        reprint_of=job_id,
    )


def cancel(conn: sqlite3.Connection, job_id: int) -> dict[str, Any]:
    job = get(conn, job_id)
    if job["status"] not in ("queued", "uncertain", "failed"):
        raise Conflict(f"print job {job_id} is {job['status']}; it cannot be cancelled")
    conn.execute(
        "UPDATE print_jobs SET status = 'cancelled', updated_at = ? WHERE id = ?",
        (protocol.utc_now(), job_id),
    )
    _state_event(conn, job_id, "cancelled")
    return get(conn, job_id)


def depth(conn: sqlite3.Connection) -> dict[str, int]:
    """Jobs waiting per printer (queued, printing or uncertain)."""
    return {
        r["printer"]: r["n"]
        for r in conn.execute(
            "SELECT printer, COUNT(*) AS n FROM print_jobs "
            "WHERE status IN ('queued', 'printing', 'uncertain') GROUP BY printer"
        )
    }


PAUSED = "printer.paused"


def paused_printers(conn: sqlite3.Connection) -> set[str]:
    """Printers an operator paused (remote command): their jobs wait until resumed."""
    return set(kv.get(conn, PAUSED, []))


def set_paused(conn: sqlite3.Connection, printer: str, paused: bool) -> set[str]:
    printers = paused_printers(conn)
    (printers.add if paused else printers.discard)(printer)
    kv.put(conn, PAUSED, sorted(printers))
    return printers
