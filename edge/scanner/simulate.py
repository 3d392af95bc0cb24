"""Client side of the simulated scanner: send a scan (or a hot-plug command) to its socket.

Backs ``printstation simulate-scan CODE --config FILE``: the code is delivered to a running
scanner service exactly as a real scanner would send it.
"""

from __future__ import annotations

import socket
from pathlib import Path

from edge.scanner.errors import ScannerError, SimulatorNotRunning
from edge.scanner.sources.simulated import CONTROL_PREFIX, REPLUG, UNPLUG, socket_path

SOCKET_GLOB = "scanner-*.sock"


def simulate_scan(code: str, runtime_dir: Path, scanner: str | None = None) -> None:
    """Send `code` to the simulated scanner `scanner` (default: the first one listening)."""
    _send(_find(Path(runtime_dir), scanner), code.encode("utf-8"))


def set_plugged(runtime_dir: Path, scanner: str, plugged: bool) -> None:
    """Unplug or replug a running simulated scanner (its service sees a hot-plug)."""
    command = REPLUG if plugged else UNPLUG
    _send(_find(Path(runtime_dir), scanner), CONTROL_PREFIX + command)


def listening_scanners(runtime_dir: Path) -> list[str]:
    """Names of the simulated scanners with a socket in `runtime_dir`, sorted."""
    prefix, suffix = "scanner-", ".sock"
    return sorted(
        path.name[len(prefix) : -len(suffix)]
        for path in Path(runtime_dir).glob(SOCKET_GLOB)
        if path.is_socket()
    )


def _find(runtime_dir: Path, scanner: str | None) -> Path:
    if scanner is not None:
        return socket_path(runtime_dir, scanner)
    names = listening_scanners(runtime_dir)
    if not names:
        raise SimulatorNotRunning(_not_running(runtime_dir, "any simulated scanner"))
    return socket_path(runtime_dir, names[0])


def _send(path: Path, payload: bytes) -> None:
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        try:
            sock.sendto(payload, str(path))
        except (FileNotFoundError, ConnectionRefusedError) as err:
            raise SimulatorNotRunning(_not_running(path.parent, f"socket {path.name}")) from err
        except OSError as err:
            raise ScannerError(f"cannot send to simulated scanner at {path}: {err}") from err


def _not_running(runtime_dir: Path, what: str) -> str:
    return (
        f"no {what} is listening in {runtime_dir}; start the scanner service "
        "(printstation scanner --config FILE) with a [scanners.NAME] table of "
        'type = "simulated"'
    )
