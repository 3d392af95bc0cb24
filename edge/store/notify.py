"""Wake-ups between the station's processes after a commit.

The database is the only shared state; these datagrams only say "look again" so a waiting
process reacts at once instead of at its next poll. A lost datagram costs latency, never
correctness, because every listener also polls.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import socket
from pathlib import Path

log = logging.getLogger(__name__)


def _path(runtime_dir: Path, channel: str) -> Path:
    return runtime_dir / f"notify-{channel}.sock"


_sender = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
_sender.setblocking(False)
atexit.register(_sender.close)


def poke(runtime_dir: Path, channel: str) -> None:
    """Wake the listener of ``channel`` if one is running; never blocks, never raises."""
    with contextlib.suppress(OSError):
        _sender.sendto(b"!", str(_path(runtime_dir, channel)))


class Listener:
    """Receives pokes for one channel; :meth:`wait` returns early when poked."""

    def __init__(self, runtime_dir: Path, channel: str):
        runtime_dir.mkdir(parents=True, exist_ok=True)
        self.path = _path(runtime_dir, channel)
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self._sock.bind(str(self.path))
        os.chmod(self.path, 0o660)

    def wait(self, timeout: float) -> bool:
        """Block until poked or ``timeout``; drains queued pokes. True when poked."""
        self._sock.settimeout(max(timeout, 0.0001))
        try:
            self._sock.recv(16)
        except TimeoutError:
            return False
        except OSError:
            return False
        self._sock.setblocking(False)
        with contextlib.suppress(BlockingIOError, OSError):
            while self._sock.recv(16):
                pass
        return True

    def close(self) -> None:
        self._sock.close()
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()
