"""A real Mosquitto broker for tests: its own config on a free loopback port, started and
stopped by the test, never the system broker on 1883.

    broker = Mosquitto(tmp_path, users={"st-a": "pw"}, acl=PRODUCTION_ACL).start()
    ...
    broker.restart()   # same port: broker down, then back
    broker.stop()

``users=None`` allows anonymous clients (simple tests); a ``users`` dict (or a ready
``password_file``) turns anonymous access off, as in production. ``acl`` is either ACL text
(``str``) or the path of an ACL file (``Path``, e.g. :data:`PRODUCTION_ACL`). ``tls=True`` adds
a TLS listener (``tls_port``, ``tls_url``) with certificates made by the production
``make-certs.sh``; ``require_certificate=True`` makes it demand a client certificate whose CN
becomes the username, as the hub's client-certificate mode does. Like the hub's TLS listener,
it uses the username as the client id. ``persistence=True`` keeps sessions and retained
messages across :meth:`Mosquitto.restart` (in ``tmp_dir``); ``extra_config`` adds global
options (written before the listeners); ``debug_log`` logs every packet to ``log()``.

:meth:`Mosquitto.production` runs the production ``hub.conf`` and ``acl`` instead of a
generated config. Fixtures: ``tests/broker/conftest.py``.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path
from types import TracebackType

REPO = Path(__file__).resolve().parents[2]
CONFIG_DIR = REPO / "firmware_config" / "mosquitto"
PRODUCTION_ACL = CONFIG_DIR / "acl"
HUB_CONF = CONFIG_DIR / "hub.conf"
MAKE_CERTS = CONFIG_DIR / "make-certs.sh"
INSTALL_DIR = "/etc/mosquitto/printstation/"
HOST = "127.0.0.1"


class BrokerError(RuntimeError):
    """The test broker could not be set up, started or stopped."""


def free_port() -> int:
    """A TCP port on the loopback interface that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def find_program(name: str) -> str:
    """``mosquitto`` lives in /usr/sbin, which a normal user's PATH may lack."""
    found = shutil.which(name) or shutil.which(name, path="/usr/sbin:/usr/bin:/sbin:/bin")
    if found is None:
        raise BrokerError(f"{name} not found: install the mosquitto package (./install.sh --dev)")
    return found


def make_password_file(path: Path, users: dict[str, str]) -> Path:
    """Write ``users`` as a Mosquitto password file, hashed by ``mosquitto_passwd -U``."""
    for name, password in users.items():
        if not name or ":" in name or "\n" in name + password:
            raise BrokerError(f"user {name!r}: names may not contain ':' or newlines")
    path.write_text("".join(f"{name}:{pw}\n" for name, pw in users.items()), encoding="utf-8")
    path.chmod(0o600)
    _run([find_program("mosquitto_passwd"), "-U", str(path)])
    return path


def _run(argv: list[str]) -> str:
    done = subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False)
    if done.returncode != 0:
        raise BrokerError(f"{' '.join(argv)} failed ({done.returncode}): {done.stderr.strip()}")
    return done.stdout


class Mosquitto:
    """One mosquitto process with a config, password file, ACL, certificates and log in
    ``tmp_dir``. Ports are chosen once, so :meth:`restart` comes back on the same ones."""

    def __init__(
        self,
        tmp_dir: Path | str,
        *,
        users: dict[str, str] | None = None,
        acl: str | Path | None = None,
        tls: bool = False,
        require_certificate: bool = False,
        password_file: Path | None = None,
        persistence: bool = False,
        extra_config: str = "",
        debug_log: bool = False,
    ):
        self.dir = Path(tmp_dir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.host = HOST
        self.port = free_port()
        self.tls = tls or require_certificate
        self.require_certificate = require_certificate
        self.tls_port = free_port() if self.tls else None
        self.config_file = self.dir / "mosquitto.conf"
        self.log_file = self.dir / "mosquitto.log"
        self.persistence = persistence
        self.extra_config = extra_config
        self.debug_log = debug_log
        self._process: subprocess.Popen[bytes] | None = None

        self.password_file = password_file
        if users is not None:
            self.password_file = make_password_file(self.dir / "passwd", users)
        self.acl_file: Path | None
        if isinstance(acl, str):
            self.acl_file = self.dir / "acl"
            self.acl_file.write_text(acl, encoding="utf-8")
        else:
            self.acl_file = acl

        self.cert_dir = self.dir / "certs"
        self.ca_file: Path | None = None
        self.server_cert: Path | None = None
        self.server_key: Path | None = None
        if self.tls:
            self._make_certs("server", "localhost", HOST)
            self.ca_file = self.cert_dir / "ca.crt"
            self.server_cert = self.cert_dir / "server.crt"
            self.server_key = self.cert_dir / "server.key"
        self._write_config()

    @classmethod
    def production(
        cls,
        tmp_dir: Path | str,
        *,
        users: dict[str, str] | None = None,
        password_file: Path | None = None,
        client_certificates: bool = False,
    ) -> Mosquitto:
        """A broker running the production ``hub.conf`` and ``acl`` (not started yet).

        Only what cannot work in a test is changed: the installed paths point into
        ``tmp_dir``, the listeners move to free loopback ports, and ``client_certificates``
        switches on option B (``require_certificate`` + ``use_identity_as_username``).
        """
        if users is None and password_file is None:
            raise BrokerError("the production broker refuses anonymous clients: give users")
        broker = cls(
            tmp_dir,
            users=users,
            password_file=password_file,
            acl=PRODUCTION_ACL,
            tls=True,
            require_certificate=client_certificates,
        )
        assert broker.password_file is not None and broker.tls_port is not None
        text = HUB_CONF.read_text(encoding="utf-8")
        swaps = {
            f"{INSTALL_DIR}passwd": str(broker.password_file),
            f"{INSTALL_DIR}acl": str(PRODUCTION_ACL),
            f"{INSTALL_DIR}ca.crt": str(broker.ca_file),
            f"{INSTALL_DIR}server.crt": str(broker.server_cert),
            f"{INSTALL_DIR}server.key": str(broker.server_key),
            "/var/lib/mosquitto/": f"{broker.dir}/",
            "\nlistener 1883 127.0.0.1\n": f"\nlistener {broker.port} 127.0.0.1\n",
            "\nlistener 8883\n": f"\nlistener {broker.tls_port} 127.0.0.1\n",
        }
        if client_certificates:
            swaps["\n#require_certificate true\n"] = "\nrequire_certificate true\n"
            swaps["\n#use_identity_as_username true\n"] = "\nuse_identity_as_username true\n"
        for old, new in swaps.items():
            if old not in text:
                raise BrokerError(f"{HUB_CONF} no longer contains {old.strip()!r}")
            text = text.replace(old, new)
        settings = [line for line in text.splitlines() if not line.startswith("#")]
        if any(INSTALL_DIR in line for line in settings):
            raise BrokerError(f"{HUB_CONF} names a file this helper does not provide")
        if os.geteuid() == 0:
            text = "user root\n" + text
        broker.use_config(text)
        return broker

    def use_config(self, text: str) -> None:
        """Replace the generated config with ``text`` (taking effect at the next start)."""
        self.config_file.write_text(text, encoding="utf-8")

    # -- addresses ------------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"mqtt://{self.host}:{self.port}"

    @property
    def tls_url(self) -> str:
        if self.tls_port is None:
            raise BrokerError("this broker has no TLS listener: create it with tls=True")
        return f"mqtts://{self.host}:{self.tls_port}"

    def client_cert(self, station_id: str) -> tuple[Path, Path]:
        """(certificate, key) for a station, signed by this broker's CA (CN = station id)."""
        if not self.tls:
            raise BrokerError("client certificates need tls=True")
        self._make_certs("station", station_id)
        return (
            self.cert_dir / "stations" / f"{station_id}.crt",
            self.cert_dir / "stations" / f"{station_id}.key",
        )

    # -- life cycle -----------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    @property
    def pid(self) -> int | None:
        return self._process.pid if self.running and self._process else None

    def start(self, timeout: float = 5.0) -> Mosquitto:
        """Start the broker and return once every listener accepts connections."""
        if self.running:
            raise BrokerError(f"mosquitto on port {self.port} is already running")
        with self.log_file.open("ab") as log:
            self._process = subprocess.Popen(
                [find_program("mosquitto"), "-c", str(self.config_file)],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.dir,
            )
        self.wait_ready(timeout)
        return self

    def wait_ready(self, timeout: float = 5.0) -> None:
        """Poll until a TCP connect works on every listener; fail early if mosquitto died."""
        deadline = time.monotonic() + timeout
        for port in (p for p in (self.port, self.tls_port) if p is not None):
            while True:
                if self._process is None or self._process.poll() is not None:
                    self._reap()
                    raise BrokerError(f"mosquitto exited on start:\n{self.log_tail()}")
                try:
                    with socket.create_connection((self.host, port), timeout=0.2):
                        break
                except OSError as err:
                    if time.monotonic() > deadline:
                        self.stop()
                        raise BrokerError(
                            f"mosquitto not listening on {port} after {timeout} s:\n"
                            f"{self.log_tail()}"
                        ) from err
                    time.sleep(0.02)

    def stop(self, timeout: float = 5.0) -> None:
        """SIGTERM, then wait (SIGKILL after ``timeout``). Safe to call when stopped."""
        process = self._process
        if process is None:
            return
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout)
        self._process = None

    def kill(self) -> None:
        """SIGKILL: a broker crash (unsaved persistence is lost)."""
        if self._process is not None and self._process.poll() is None:
            self._process.kill()
        self._reap()

    def restart(self, timeout: float = 5.0) -> Mosquitto:
        """Stop and start again on the same port(s)."""
        self.stop(timeout)
        return self.start(timeout)

    def __enter__(self) -> Mosquitto:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- logs -----------------------------------------------------------------------------

    def log(self) -> str:
        """Everything mosquitto logged so far (across restarts)."""
        if not self.log_file.exists():
            return ""
        return self.log_file.read_text(encoding="utf-8", errors="replace")

    def log_tail(self, lines: int = 30) -> str:
        return "\n".join(self.log().splitlines()[-lines:])

    # -- internals ------------------------------------------------------------------------

    def _reap(self) -> None:
        if self._process is not None:
            self._process.wait(5)
        self._process = None

    def _make_certs(self, *args: str) -> None:
        _run(["bash", str(MAKE_CERTS), "-d", str(self.cert_dir), *args])

    def _write_config(self) -> None:
        anonymous = self.password_file is None and not self.require_certificate
        lines = [
            "# Written by tests/broker/mosquitto.py for one test.",
            "per_listener_settings false",
            f"allow_anonymous {'true' if anonymous else 'false'}",
            # As the production hub.conf: no Nagle delay on the broker's sockets.
            "set_tcp_nodelay true",
        ]
        if self.password_file is not None:
            lines.append(f"password_file {self.password_file}")
        if self.acl_file is not None:
            lines.append(f"acl_file {self.acl_file}")
        if os.geteuid() == 0:
            # As root, mosquitto would switch to the `mosquitto` user, which cannot read tmp.
            lines.append("user root")
        if self.persistence:
            lines += ["persistence true", f"persistence_location {self.dir}/"]
        else:
            lines.append("persistence false")
        lines += ["log_dest stderr", "log_timestamp_format %H:%M:%S"]
        lines += [f"log_type {kind}" for kind in ("error", "warning", "notice", "information")]
        if self.debug_log:
            lines += ["log_type debug", "log_type subscribe", "log_type unsubscribe"]
        lines += [self.extra_config, f"listener {self.port} {self.host}"]
        if self.tls_port is not None:
            lines += [
                f"listener {self.tls_port} {self.host}",
                f"cafile {self.ca_file}",
                f"certfile {self.server_cert}",
                f"keyfile {self.server_key}",
                "tls_version tlsv1.2",
                "use_username_as_clientid true",
            ]
            if self.require_certificate:
                lines += ["require_certificate true", "use_identity_as_username true"]
        self.config_file.write_text("\n".join(lines) + "\n", encoding="utf-8")
