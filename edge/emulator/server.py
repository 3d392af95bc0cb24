"""The network printer emulator: a raw TCP print port (like port 9100 on a real printer).

Each connection is served in its own thread by a :class:`~edge.emulator.session.Session`;
printed pages land in the output folder as PNGs. ``main`` is the ``printstation
printer-emulator`` command.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import socket
import sys
import threading
import time
from types import FrameType
from typing import Any

from edge.emulator.control import ControlServer
from edge.emulator.errors import EmulatorError, JobTimeoutError, RenderError, ServerError
from edge.emulator.output import JobWriter
from edge.emulator.receipt import MAX_WIDTH, MIN_WIDTH
from edge.emulator.render import Language
from edge.emulator.session import PrintClock, PrinterContext, Session
from edge.emulator.status import PAPER_STATES, PrinterState, check_paper

log = logging.getLogger(__name__)

SPEED_RCVBUF = 4096
ACCEPT_POLL = 0.2


class PrinterEmulator:
    """An emulated ESC/POS or TSPL network printer; ``port=0`` picks a free port at start."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 9100,
        out_dir: str | os.PathLike[str] = "printer-out",
        *,
        speed_mm_s: float | None = None,
        paper_length_mm: float | None = None,
        width_dots: int = 576,
        online: bool = True,
        paper: str = "ok",
        language: Language | None = None,
        control_port: int | None = None,
    ) -> None:
        self.host = host
        self._requested_port = port
        self._port = port
        self.speed_mm_s = speed_mm_s
        if not MIN_WIDTH <= width_dots <= MAX_WIDTH:
            raise RenderError(f"width_dots must be {MIN_WIDTH}..{MAX_WIDTH}, got {width_dots}")
        self.state = PrinterState(check_paper(paper), online, paper_length_mm)
        self.writer = JobWriter(out_dir)
        self._jobs_changed = threading.Condition()
        self.context = PrinterContext(
            self.state,
            self.writer,
            PrintClock(speed_mm_s),
            width_dots,
            language,
            on_job=self._notify_job,
        )
        self._listener: socket.socket | None = None
        self._accept_thread: threading.Thread | None = None
        self._sessions: dict[threading.Thread, Session] = {}
        self._lock = threading.Lock()
        self._control = None if control_port is None else ControlServer(self, host, control_port)

    # Lifecycle --------------------------------------------------------------------------

    @property
    def out_dir(self) -> str:
        return str(self.writer.out_dir)

    @property
    def port(self) -> int:
        """The print port; the one chosen by the system once started with port 0."""
        return self._port

    @property
    def control_port(self) -> int | None:
        return self._control.port if self._control is not None else None

    def start(self) -> None:
        """Listen on the print port (and the control port); returns once both accept."""
        listener = socket.socket(socket.AF_INET6 if ":" in self.host else socket.AF_INET)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if self.speed_mm_s:
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, SPEED_RCVBUF)
        try:
            listener.bind((self.host, self._requested_port))
            listener.listen(16)
        except OSError as err:
            listener.close()
            address = f"{self.host}:{self._requested_port}"
            raise ServerError(f"cannot listen on {address}: {err}") from err
        listener.settimeout(ACCEPT_POLL)
        self._listener = listener
        self._port = int(listener.getsockname()[1])
        self.context.stopping.clear()
        self._accept_thread = threading.Thread(
            target=self._accept_loop, name=f"printer-emulator-{self.port}", daemon=True
        )
        self._accept_thread.start()
        if self._control is not None:
            try:
                self._control.start()
            except ServerError:
                self.stop()
                raise
        log.info("printer emulator listening on %s:%d, out=%s", self.host, self.port, self.out_dir)

    def stop(self) -> None:
        """Stop accepting, end open connections (finishing their jobs), stop the control port."""
        self.context.stopping.set()
        if self._control is not None:
            self._control.stop()
        if self._listener is not None:
            try:
                self._listener.shutdown(socket.SHUT_RDWR)
            except OSError:
                log.debug("listening socket already shut down")
        if self._accept_thread is not None:
            self._accept_thread.join(timeout=5)
            self._accept_thread = None
        if self._listener is not None:
            self._listener.close()
        with self._lock:
            sessions = dict(self._sessions)
        for session in sessions.values():
            try:
                session.sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                log.debug("connection %s already closed", session.peer)
        for thread in sessions:
            thread.join(timeout=5)
        log.info("printer emulator on port %d stopped", self.port)

    def __enter__(self) -> PrinterEmulator:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _accept_loop(self) -> None:
        listener = self._listener
        while listener is not None and not self.context.stopping.is_set():
            try:
                conn, address = listener.accept()
            except TimeoutError:
                continue
            except OSError as err:
                if self.context.stopping.is_set():
                    return
                log.warning("accept failed: %s", err)
                time.sleep(ACCEPT_POLL)
                continue
            peer = f"{address[0]}:{address[1]}"
            if not self.state.online:
                log.info("offline: refusing connection from %s", peer)
                conn.close()
                continue
            conn.settimeout(None)
            session = Session(conn, peer, self.context)
            thread = threading.Thread(
                target=self._run_session,
                args=(session,),
                name=f"printer-emulator-{peer}",
                daemon=True,
            )
            with self._lock:
                self._sessions[thread] = session
            thread.start()

    def _run_session(self, session: Session) -> None:
        log.debug("connection from %s", session.peer)
        try:
            session.run()
        finally:
            with self._lock:
                self._sessions.pop(threading.current_thread(), None)

    # State and jobs ---------------------------------------------------------------------

    def _notify_job(self) -> None:
        with self._jobs_changed:
            self._jobs_changed.notify_all()

    def set_paper(self, state: str) -> None:
        """``ok``, ``low`` or ``out``; loading paper restarts the paper-length counter."""
        self.state.set_paper(state)

    def set_online(self, online: bool) -> None:
        """Offline closes new connections at once and reports offline status."""
        self.state.set_online(online)

    def jobs(self) -> list[dict[str, Any]]:
        """One record per saved page, and per job that printed nothing, in order."""
        return self.writer.records

    def status(self) -> dict[str, Any]:
        with self._lock:
            connections = len(self._sessions)
        return {
            **self.state.as_dict(),
            "jobs": len(self.writer.records),
            "printed": sum(1 for r in self.writer.records if r["printed"]),
            "connections": connections,
            "busy": self.context.clock.busy(),
            "port": self.port,
            "out_dir": self.out_dir,
        }

    def wait_for_jobs(self, count: int, timeout: float = 10.0) -> list[dict[str, Any]]:
        """Wait until at least ``count`` job records exist; raises JobTimeoutError."""
        deadline = time.monotonic() + timeout
        with self._jobs_changed:
            while len(self.writer.records) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    have = len(self.writer.records)
                    raise JobTimeoutError(f"{have} of {count} job records after {timeout:g} s")
                self._jobs_changed.wait(left)
        return self.writer.records


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="printstation printer-emulator",
        description="An ESC/POS and TSPL network printer that renders each job to PNG files.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=9100, help="print port (0 = any free port)")
    parser.add_argument("--out", required=True, help="folder for page PNGs, raw jobs, jobs.jsonl")
    parser.add_argument(
        "--width-dots",
        type=int,
        default=576,
        help="receipt printable width in dots (576 = 80 mm, 384 = 58 mm)",
    )
    parser.add_argument(
        "--speed-mm-s",
        type=float,
        default=None,
        help="print speed; data is read no faster than it prints",
    )
    parser.add_argument(
        "--paper-length-mm",
        type=float,
        default=None,
        help="paper runs out after printing this many mm",
    )
    parser.add_argument("--paper", choices=PAPER_STATES, default="ok", help="paper state at start")
    parser.add_argument("--offline", action="store_true", help="start offline")
    parser.add_argument(
        "--language",
        choices=("auto", "escpos", "tspl"),
        default="auto",
        help="printer language (auto detects it per connection)",
    )
    parser.add_argument(
        "--control-port",
        type=int,
        default=None,
        help="HTTP control port (0 = any free port; default: no control)",
    )
    parser.add_argument("--log-level", default=os.environ.get("PRINTSTATION_LOG", "INFO"))
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the emulator until SIGTERM or SIGINT; returns the exit code."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(),
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    language: Language | None = None if args.language == "auto" else args.language
    try:
        emulator = PrinterEmulator(
            args.host,
            args.port,
            args.out,
            speed_mm_s=args.speed_mm_s,
            paper_length_mm=args.paper_length_mm,
            width_dots=args.width_dots,
            online=not args.offline,
            paper=args.paper,
            language=language,
            control_port=args.control_port,
        )
        emulator.start()
    except (EmulatorError, OSError) as err:
        log.error("printer emulator cannot start: %s", err)
        return 1
    stop = threading.Event()

    def _on_signal(signum: int, _frame: FrameType | None) -> None:
        log.info("signal %d: stopping", signum)
        stop.set()

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _on_signal)
        signal.signal(signal.SIGINT, _on_signal)
    control = emulator.control_port
    control_text = f"control {args.host}:{control}" if control is not None else "no control"
    print(
        f"printer-emulator listening on {args.host}:{emulator.port} ({control_text}), "
        f"out={emulator.out_dir}",
        flush=True,
    )
    try:
        while not stop.wait(1.0):
            pass
    finally:
        emulator.stop()
    return 0
