"""Online backup and restore of a SQLite database (a station's, or a SQLite hub's).

``backup`` copies the live database with SQLite's online backup API while the services keep
writing: the copy is one consistent snapshot (taken in a single step under a read
transaction, so a write committed meanwhile is either wholly in it or not at all). It is
written beside the target as ``*.partial``, checked with ``PRAGMA integrity_check``, synced
and only then renamed into place, so a failed backup never leaves a file that looks good.

``restore`` refuses while any process has the database open (the station's services must be
stopped first: ``systemctl stop printstation.target``). It checks the backup, copies it in,
and keeps the replaced database aside as ``NAME.before-restore-TIMESTAMP``.
A PostgreSQL hub is backed up with ``pg_dump`` instead (docs/appliance.md).
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any


class BackupError(Exception):
    """The backup or restore cannot be done; nothing was changed."""


@dataclass(frozen=True)
class BackupInfo:
    path: Path
    bytes: int
    schema_version: int


def _check(path: Path) -> int:
    """Integrity-check the database at ``path``; returns its ``user_version``."""
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            rows = conn.execute("PRAGMA integrity_check").fetchall()
            version = int(conn.execute("PRAGMA user_version").fetchone()[0])
        finally:
            conn.close()
    except sqlite3.Error as err:
        raise BackupError(f"{path} is not a usable SQLite database: {err}") from err
    problems = [r[0] for r in rows if r[0] != "ok"]
    if problems:
        raise BackupError(f"{path} failed its integrity check: {problems[0]}")
    return version


def _copy(source: Path, target: Path) -> None:
    """Copy ``source`` to ``target`` with the online backup API, in one consistent step."""
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True, timeout=30)
    try:
        dst = sqlite3.connect(target)
        try:
            src.backup(dst, pages=-1)
            dst.execute("PRAGMA journal_mode=DELETE")  # a self-contained single file
        finally:
            dst.close()
    finally:
        src.close()
    with open(target, "rb") as fh:
        os.fsync(fh.fileno())


def backup(database: Path, destination: Path) -> BackupInfo:
    """Back ``database`` up to ``destination`` (a file, or a directory to put a dated file in)."""
    if not database.is_file():
        raise BackupError(f"no database at {database}")
    if destination.is_dir():
        destination = destination / f"{database.stem}-{time.strftime('%Y%m%d-%H%M%S')}.db"
    partial = destination.with_name(destination.name + ".partial")
    partial.unlink(missing_ok=True)
    try:
        _copy(database, partial)
        version = _check(partial)
    except (sqlite3.Error, OSError) as err:
        partial.unlink(missing_ok=True)
        raise BackupError(f"backup of {database} failed: {err}") from err
    except BackupError:
        partial.unlink(missing_ok=True)
        raise
    os.replace(partial, destination)
    return BackupInfo(destination, destination.stat().st_size, version)


def holders(database: Path) -> list[int]:
    """Ids of the other processes that have ``database`` (or its WAL) open, from /proc."""
    names = {str(database.resolve()), f"{database.resolve()}-wal"}
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            fds = list((entry / "fd").iterdir())
        except OSError:
            continue
        for fd in fds:
            try:
                if os.readlink(fd) in names:
                    found.append(int(entry.name))
                    break
            except OSError:
                continue
    return found


def restore(backup_file: Path, database: Path) -> Path | None:
    """Put ``backup_file`` in place of ``database``; returns where the old one was kept."""
    if not backup_file.is_file():
        raise BackupError(f"no backup at {backup_file}")
    _check(backup_file)
    busy = holders(database) if database.exists() else []
    if busy:
        raise BackupError(
            f"{database} is in use by process {', '.join(map(str, busy))}; stop the services "
            "first (systemctl stop printstation.target)"
        )
    database.parent.mkdir(parents=True, exist_ok=True)
    incoming = database.with_name(database.name + ".restoring")
    incoming.unlink(missing_ok=True)
    try:
        _copy(backup_file, incoming)
        _check(incoming)
    except (sqlite3.Error, OSError, BackupError) as err:
        incoming.unlink(missing_ok=True)
        raise BackupError(f"restore from {backup_file} failed: {err}") from err
    kept = None
    if database.exists():
        stat = database.stat()
        if os.geteuid() == 0:
            os.chown(incoming, stat.st_uid, stat.st_gid)
        os.chmod(incoming, stat.st_mode & 0o777)
        kept = database.with_name(
            f"{database.name}.before-restore-{time.strftime('%Y%m%d-%H%M%S')}"
        )
        os.replace(database, kept)
    for suffix in ("-wal", "-shm"):
        side = database.with_name(database.name + suffix)
        if side.exists():
            if kept:
                os.replace(side, Path(f"{kept}{suffix}"))
            else:  # left over from a database that is gone: it belongs to no file now
                side.unlink()
    os.replace(incoming, database)
    return kept


def database_of(config_path: str) -> Path:
    """The SQLite file a station or hub config names; BackupError for PostgreSQL hubs."""
    import tomllib

    from cloud.config import HubConfigError
    from edge.config import ConfigError, load_config

    try:
        is_hub = "hub" in tomllib.loads(Path(config_path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        is_hub = False
    try:
        if not is_hub:
            return load_config(config_path).db_path
        from cloud.config import load_hub_config

        url = load_hub_config(config_path).hub.database
    except (ConfigError, HubConfigError) as err:
        raise BackupError(str(err)) from err
    if "://" in url and not url.startswith("sqlite"):
        raise BackupError(
            "the hub database is not SQLite: back it up with pg_dump (docs/appliance.md)"
        )
    return Path(url.split("://", 1)[-1].removeprefix("/") if url.startswith("sqlite") else url)


def _backup_command(args: argparse.Namespace) -> int:
    try:
        info = backup(database_of(args.config), Path(args.destination))
    except BackupError as err:
        print(f"backup: {err}", file=sys.stderr)
        return 1
    print(f"{info.path}: {info.bytes} bytes, schema {info.schema_version}, integrity ok")
    return 0


def _restore_command(args: argparse.Namespace) -> int:
    try:
        database = database_of(args.config)
        kept = restore(Path(args.backup), database)
    except BackupError as err:
        print(f"restore: {err}", file=sys.stderr)
        return 1
    print(f"{database} restored from {args.backup}" + (f"; the old one is {kept}" if kept else ""))
    return 0


def add_commands(sub: Any) -> None:
    """Add ``backup`` and ``restore`` to the ``printstation`` command."""
    cmd = sub.add_parser("backup", help="back up a station's (or SQLite hub's) database, online")
    cmd.add_argument("destination", help="backup file, or a directory for a dated file")
    cmd.add_argument("--config", required=True, help="the station's or hub's config file")
    cmd.set_defaults(func=_backup_command)
    cmd = sub.add_parser("restore", help="restore a database backup (services stopped)")
    cmd.add_argument("backup", help="the backup file")
    cmd.add_argument("--config", required=True, help="the station's or hub's config file")
    cmd.set_defaults(func=_restore_command)
