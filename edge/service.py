"""The one shape every station service runs in.

parse args → logging → config → build → start → notify systemd → run until SIGTERM →
stop in reverse order. A broken config exits 78 so systemd does not crash-loop it.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from edge.config import EX_CONFIG, ConfigError, StationConfig, load_config

log = logging.getLogger(__name__)


class Service(Protocol):
    def start(self) -> None: ...

    def stop(self) -> None: ...

    def is_alive(self) -> bool: ...


def setup_logging(level: str | None = None) -> None:
    level = level or os.environ.get("PRINTSTATION_LOG", "INFO")
    logging.basicConfig(
        level=level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        force=True,  # python-escpos calls basicConfig() when it is imported
    )


def sd_notify(message: str) -> bool:
    """Send a state line to systemd (``READY=1``, ``WATCHDOG=1``, …) when run under it."""
    address = os.environ.get("NOTIFY_SOCKET")
    if not address:
        return False
    if address.startswith("@"):
        address = "\0" + address[1:]
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        try:
            sock.sendto(message.encode(), address)
        except OSError as err:
            log.warning("cannot notify systemd: %s", err)
            return False
    return True


def watchdog_interval() -> float | None:
    """Half the systemd watchdog period, or None when no watchdog is set."""
    usec = os.environ.get("WATCHDOG_USEC")
    if not usec or not usec.isdigit():
        return None
    return int(usec) / 2_000_000


def prepare_dirs(config: StationConfig) -> None:
    config.station.data_dir.mkdir(parents=True, exist_ok=True)
    config.runtime_dir.mkdir(parents=True, exist_ok=True)


def run(
    name: str,
    config_path: str | Path,
    build: Callable[[StationConfig], Service],
    safe_mode: Callable[[ConfigError], Service] | None = None,
) -> int:
    """Run one service until SIGTERM/SIGINT; the return value is the process exit code.

    With a broken config the service exits 78 at once, or, when it has a ``safe_mode``, runs
    that instead (the kiosk's "needs configuration" page) and exits 78 when stopped.
    """
    setup_logging()
    try:
        config = load_config(config_path)
    except ConfigError as err:
        for path, message in err.problems:
            log.error("config %s: %s: %s", err.source, path, message)
        if safe_mode is None:
            return EX_CONFIG
        service, code = safe_mode(err), EX_CONFIG
    else:
        prepare_dirs(config)
        service, code = build(config), 0
    stop = threading.Event()

    def _on_signal(signum: int, _frame: object) -> None:
        log.info("%s: received signal %d, stopping", name, signum)
        stop.set()

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    service.start()
    sd_notify("READY=1")
    log.info("%s ready%s", name, "" if code == 0 else " in safe mode (needs configuration)")
    tick = watchdog_interval() or 5.0
    try:
        while not stop.wait(tick):
            if service.is_alive():
                sd_notify("WATCHDOG=1")
                continue
            restart = getattr(service, "exit_code", None)
            if restart is not None:  # finished on purpose (e.g. just paired): start again
                log.info("%s: exiting with %d so it starts again", name, restart)
                return int(restart)
            log.error("%s: a worker died; exiting so systemd restarts the service", name)
            return 1
    finally:
        sd_notify("STOPPING=1")
        service.stop()
        log.info("%s stopped", name)
    return code
