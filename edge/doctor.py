"""``printstation doctor``: is this station able to work? A short report with fixes.

Each check returns ok, warn or fail with one line of detail and, unless ok, one line saying
what to do. The checks: the config, the database's integrity, free disk space, the clock,
every printer and scanner, the broker's reachability and this station's credentials.
``doctor`` exits 1 when any check fails, 0 otherwise (warnings included).
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import sqlite3
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, Literal

import edge
from edge.config import ConfigError, StationConfig, load_config
from edge.secrets import SecretError, credential_path

Status = Literal["ok", "warn", "fail"]
MB = 1024 * 1024
DISK_FAIL_MB = 50
DISK_WARN_MB = 500
TIMESYNC_FLAG = Path("/run/systemd/timesync/synchronized")


@dataclass(frozen=True)
class Result:
    """The outcome of one check: ``fix`` says what to do when it is not ok."""

    check: str
    status: Status
    detail: str
    fix: str = ""


def check_config(path: str | Path) -> tuple[Result, StationConfig | None]:
    try:
        config = load_config(path)
    except ConfigError as err:
        first = "; ".join(f"{p}: {m}" for p, m in err.problems[:3])
        more = f" (+{len(err.problems) - 3} more)" if len(err.problems) > 3 else ""
        return Result(
            "config", "fail", f"{err.source}: {first}{more}", f"printstation check-config {path}"
        ), None
    return Result(
        "config",
        "ok",
        f"{path}: station {config.station.id}, {len(config.printers)} printers, "
        f"{len(config.scanners)} scanners",
    ), config


def check_database(config: StationConfig) -> Result:
    db = config.db_path
    if not db.exists():
        return Result("database", "warn", f"{db} does not exist yet", "start the kiosk once")
    try:
        conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
        try:
            rows = conn.execute("PRAGMA integrity_check").fetchall()
            version = conn.execute("PRAGMA user_version").fetchone()[0]
        finally:
            conn.close()
    except sqlite3.Error as err:
        return Result(
            "database",
            "fail",
            f"{db}: {err}",
            "stop the station and restore a backup: printstation restore FILE --config …",
        )
    problems = [r[0] for r in rows if r[0] != "ok"]
    if problems:
        return Result(
            "database",
            "fail",
            f"{db}: {len(problems)} integrity problems, e.g. {problems[0]}",
            "stop the station and restore a backup: printstation restore FILE --config …",
        )
    size = db.stat().st_size / MB
    return Result("database", "ok", f"{db}: intact, schema {version}, {size:.1f} MB")


def check_disk(config: StationConfig) -> Result:
    where = config.station.data_dir
    while not where.exists() and where != where.parent:
        where = where.parent
    usage = shutil.disk_usage(where)
    free = usage.free / MB
    detail = f"{free:.0f} MB free of {usage.total / MB:.0f} MB on {where}"
    if free < DISK_FAIL_MB:
        return Result("disk", "fail", detail, "free space: journalctl --vacuum-size=32M, old files")
    if free < DISK_WARN_MB or usage.free < usage.total * 0.05:
        return Result("disk", "warn", detail, "free some space before the database fills it")
    return Result("disk", "ok", detail)


def check_clock(now: float | None = None) -> Result:
    """The clock cannot be earlier than the installed software; NTP should be in sync."""
    now = time.time() if now is None else now
    floor = Path(edge.__file__).stat().st_mtime
    stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(now))
    if now < floor:
        return Result(
            "clock",
            "fail",
            f"{stamp} is before this software was installed",
            "set the time (timedatectl set-ntp true, check the network)",
        )
    if TIMESYNC_FLAG.parent.exists() and not TIMESYNC_FLAG.exists():
        return Result(
            "clock", "warn", f"{stamp}, not synchronised with NTP", "timedatectl set-ntp true"
        )
    return Result("clock", "ok", stamp)


def check_printer(name: str, cfg: Any) -> Result:
    from edge.spooler.backends import open_backend
    from edge.spooler.errors import SpoolerError

    label = f"printer {name}"
    try:
        backend = open_backend(cfg)
        with backend:
            status = backend.status()
    except (SpoolerError, OSError) as err:
        return Result(label, "fail", str(err), "check power, cable or network, and the udev rule")
    where = backend.description
    if not status.online:
        return Result(label, "fail", f"{where}: offline {status.detail}".strip(), "check it")
    if status.paper in ("low", "out"):
        return Result(
            label,
            "fail" if status.paper == "out" else "warn",
            f"{where}: paper {status.paper}",
            "load a new roll",
        )
    return Result(label, "ok", f"{where}: online, paper {status.paper}")


def check_scanner(name: str, cfg: Any) -> Result:
    label = f"scanner {name}"
    kind = cfg.type
    if kind == "simulated":
        return Result(label, "ok", "simulated")
    if kind == "evdev":
        from edge.scanner.errors import ScannerError
        from edge.scanner.sources.evdev import open_input_device

        try:
            device = open_input_device(cfg)
        except ScannerError as err:
            return Result(label, "fail", str(err), "plug it in; the user needs the input group")
        try:
            return Result(label, "ok", str(getattr(device, "name", "") or cfg.device or "found"))
        finally:
            device.close()
    path = cfg.port if kind == "serial" else cfg.device
    if isinstance(path, int):
        path = f"/dev/video{path}"
    if not str(path).startswith("/"):
        return Result(label, "ok", f"{path} (not a device file; not checked)")
    if not os.path.exists(path):
        return Result(label, "fail", f"{path} not found", "plug it in and check the udev rule")
    if not os.access(path, os.R_OK | os.W_OK):
        return Result(label, "fail", f"no access to {path}", "add the user to dialout/video")
    return Result(label, "ok", str(path))


def check_credentials(config: StationConfig) -> Result:
    mqtt = config.mqtt
    files = [("password_file", mqtt.password_file), ("ca_file", mqtt.ca_file)]
    files += [("cert_file", mqtt.cert_file), ("key_file", mqtt.key_file)]
    for key, path in files:
        if path is None:
            continue
        resolved = credential_path(path)
        try:
            if not resolved.read_bytes().strip():
                raise SecretError(f"{resolved} is empty")
        except (OSError, SecretError) as err:
            return Result(
                "credentials", "fail", f"[mqtt] {key}: {err}", f"put the file at {resolved}"
            )
    if mqtt.password_file is None and mqtt.cert_file is None:
        return Result(
            "credentials",
            "warn",
            "no MQTT password or certificate: the station is not paired",
            "pair it with the hub (docs/appliance.md) or set [mqtt] password_file",
        )
    return Result("credentials", "ok", "MQTT " + ("password" if mqtt.password_file else "cert"))


def _tls_handshake(config: StationConfig, host: str, port: int, timeout: float) -> None:
    context = ssl.create_default_context(
        cafile=str(credential_path(config.mqtt.ca_file)) if config.mqtt.ca_file else None
    )
    with (
        socket.create_connection((host, port), timeout=timeout) as raw,
        context.wrap_socket(raw, server_hostname=host),
    ):
        pass


def check_broker(config: StationConfig, timeout: float = 5.0, login: bool = False) -> Result:
    """Reach the broker over TCP (and TLS, verifying its certificate); with ``login``, also
    log in with this station's credentials.

    The login uses the station's own MQTT session (the broker names sessions after the
    username), so it briefly displaces a running sync agent, which reconnects by itself; it
    resumes the session (clean start off) so nothing queued for the station is dropped.
    """
    from edge.sync.client import SyncConfigError, endpoint, make_client

    try:
        where = endpoint(config.mqtt.url)
    except SyncConfigError as err:
        return Result("broker", "fail", str(err), "fix [mqtt] url")
    address = f"{where.host}:{where.port}"
    try:
        socket.create_connection((where.host, where.port), timeout=timeout).close()
    except OSError as err:
        return Result(
            "broker",
            "fail",
            f"{address} unreachable: {err}",
            "check the network, the hub's address and its firewall",
        )
    if where.tls:
        try:
            _tls_handshake(config, where.host, where.port, timeout)
        except (OSError, ssl.SSLError) as err:
            return Result(
                "broker", "fail", f"{address}: TLS: {err}", "check [mqtt] ca_file and the host name"
            )
    if not login:
        return Result("broker", "ok", f"{address} reachable" + (" (TLS verified)" * where.tls))
    try:
        client, _ = make_client(config)
    except (SyncConfigError, SecretError) as err:
        return Result("broker", "fail", str(err), "fix the [mqtt] files")
    outcome: dict[str, Any] = {}
    done = threading.Event()

    def on_connect(_c: Any, _u: Any, _f: Any, reason: Any, _p: Any = None) -> None:
        outcome["reason"] = reason
        done.set()

    client.on_connect = on_connect
    try:
        client.connect(where.host, where.port, keepalive=10, clean_start=False)
        deadline = time.monotonic() + timeout
        while not done.is_set() and time.monotonic() < deadline:
            client.loop(timeout=0.1)
        client.disconnect()
    except (OSError, ssl.SSLError) as err:
        return Result("broker", "fail", f"{address}: {err}", "check the CA file and the host name")
    reason = outcome.get("reason")
    if reason is None:
        return Result("broker", "fail", f"{address}: no answer to CONNECT", "check the broker")
    if reason.is_failure:
        return Result(
            "broker",
            "fail",
            f"{address} refused the login: {reason}",
            "pair the station again, or add-station.sh on the hub and copy the password",
        )
    return Result(
        "broker", "ok", f"logged in at {address} as {config.mqtt.username or config.station.id}"
    )


def systemd_credentials(config_path: str | Path, workdir: Path) -> Path | None:
    """Outside systemd, lay out ``/etc/printstation/credentials/`` as the sync unit's
    ``LoadCredential=station:…`` would (``station_NAME``), so bare names resolve the same."""
    source = Path(config_path).resolve().parent / "credentials"
    if os.environ.get("CREDENTIALS_DIRECTORY") or not source.is_dir():
        return None
    try:
        names = sorted(p.name for p in source.iterdir() if p.is_file())
    except OSError:
        return None
    for name in names:
        (workdir / f"station_{name}").symlink_to(source / name)
    return workdir


def run_checks(
    config_path: str | Path,
    *,
    now: float | None = None,
    timeout: float = 5.0,
    login: bool = False,
) -> list[Result]:
    """Every check, in order; only the config check runs when the config is broken."""
    result, config = check_config(config_path)
    if config is None:
        return [result]
    checks: list[Callable[[], Result]] = [
        lambda: check_database(config),
        lambda: check_disk(config),
        lambda: check_clock(now),
    ]
    checks += [partial(check_printer, n, c) for n, c in config.printers.items()]
    checks += [partial(check_scanner, n, c) for n, c in config.scanners.items()]
    checks.append(lambda: check_credentials(config))
    checks.append(lambda: check_broker(config, timeout, login))
    return [result, *(check() for check in checks)]


def report(results: list[Result]) -> str:
    marks = {"ok": "ok  ", "warn": "WARN", "fail": "FAIL"}
    width = max(len(r.check) for r in results)
    lines = []
    for r in results:
        lines.append(f"{marks[r.status]}  {r.check:<{width}}  {r.detail}")
        if r.fix:
            lines.append(f"      {'':<{width}}  fix: {r.fix}")
    failed = sum(r.status == "fail" for r in results)
    warned = sum(r.status == "warn" for r in results)
    lines.append(f"{failed} failed, {warned} warnings, {len(results) - failed - warned} ok")
    return "\n".join(lines) + "\n"


def main(config_path: str | Path, timeout: float = 5.0, login: bool = False) -> int:
    import tempfile

    with tempfile.TemporaryDirectory(prefix="printstation-doctor-") as tmp:
        creds = systemd_credentials(config_path, Path(tmp))
        if creds is not None:
            os.environ["CREDENTIALS_DIRECTORY"] = str(creds)
        try:
            results = run_checks(config_path, timeout=timeout, login=login)
        finally:
            if creds is not None:
                del os.environ["CREDENTIALS_DIRECTORY"]
    print(report(results), end="")
    return 1 if any(r.status == "fail" for r in results) else 0


def _doctor_command(args: argparse.Namespace) -> int:
    return main(args.config, timeout=args.timeout, login=args.login)


def add_commands(sub: Any) -> None:
    """Add ``doctor`` to the ``printstation`` command."""
    cmd = sub.add_parser("doctor", help="check a station and print a short report with fixes")
    cmd.add_argument("--config", required=True)
    cmd.add_argument("--timeout", type=float, default=5.0, help="seconds per network check")
    cmd.add_argument(
        "--login",
        action="store_true",
        help="also log in to the broker with the station's credentials (briefly displaces "
        "the running sync agent's connection)",
    )
    cmd.set_defaults(func=_doctor_command)
