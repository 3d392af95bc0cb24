"""What a station reports about itself every few seconds (``tele`` topic)."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path
from typing import Any

from edge import __version__, protocol
from edge.config import StationConfig
from edge.store import Store, inbox, journal, outbox, print_jobs


def _status(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def gather(
    config: StationConfig, store: Store, started: float, hub_online: bool | None
) -> dict[str, Any]:
    conn = store.conn()
    disk = shutil.disk_usage(config.station.data_dir)
    return {
        "at": protocol.utc_now(),
        "version": __version__,
        "uptime_s": round(time.monotonic() - started, 1),
        "printers": _status(config.runtime_dir / "spooler-status.json").get("printers", {}),
        "scanners": _status(config.runtime_dir / "scanner-status.json").get("scanners", {}),
        "outbox_depth": outbox.depth(conn),
        "journal_seq": journal.last_seq(conn),
        "dn_applied": inbox.position(conn)[0],
        "print_queue": print_jobs.depth(conn),
        "disk_free_mb": disk.free // 2**20,
        "disk_used_pct": round(100 * disk.used / disk.total, 1) if disk.total else None,
        "hub_online": hub_online,
    }
