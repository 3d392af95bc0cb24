"""One TCP connection to the emulated printer: status replies, paper, speed, saved jobs."""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from edge.emulator.output import JobWriter, PrintedPage
from edge.emulator.render import Language
from edge.emulator.status import DOTS_PER_MM, PrinterState, escpos_status, tspl_status
from edge.emulator.stream import Job, JobStream, StatusQuery

log = logging.getLogger(__name__)

RECV_SIZE = 4096


class PrintClock:
    """When the print head will be done with what it was given, at ``speed_mm_s``."""

    def __init__(self, speed_mm_s: float | None = None) -> None:
        self._rate = speed_mm_s * DOTS_PER_MM if speed_mm_s else None
        self._lock = threading.Lock()
        self._busy_until = 0.0

    def advance(self, dots: int) -> None:
        if self._rate is None or dots <= 0:
            return
        with self._lock:
            self._busy_until = max(self._busy_until, time.monotonic()) + dots / self._rate

    def delay(self) -> float:
        """Seconds until the printer has caught up (0 when idle or not speed-limited)."""
        with self._lock:
            return max(self._busy_until - time.monotonic(), 0.0)

    def busy(self) -> bool:
        return self.delay() > 0


@dataclass
class PrinterContext:
    """What every connection of one emulated printer shares."""

    state: PrinterState
    writer: JobWriter
    clock: PrintClock
    width_dots: int = 576
    language: Language | None = None
    stopping: threading.Event = field(default_factory=threading.Event)
    on_job: Callable[[], None] = lambda: None


class Session:
    """Reads one connection's job stream; answers status queries as soon as they arrive."""

    def __init__(self, sock: socket.socket, peer: str, context: PrinterContext) -> None:
        self.sock = sock
        self.peer = peer
        self.context = context
        self._stream = JobStream(context.width_dots, context.language)
        self._job_started = time.time()
        self._chunk_at = self._job_started
        self._accounted = 0
        self._partial: PrintedPage | None = None
        self._discard = ""

    def run(self) -> None:
        """Serve until the peer closes or the emulator stops; never raises."""
        try:
            self._serve()
        except OSError as err:
            log.info("connection %s ended: %s", self.peer, err)
        except Exception:
            log.exception("connection %s failed", self.peer)
        try:
            for event in self._stream.close():
                self._handle(event)
        except Exception:
            log.exception("connection %s: cannot finish its last job", self.peer)
        finally:
            self.sock.close()
        log.debug("connection %s closed", self.peer)

    def _serve(self) -> None:
        stopping = self.context.stopping
        while not stopping.is_set():
            delay = self.context.clock.delay()
            if delay > 0 and stopping.wait(delay):
                return
            chunk = self.sock.recv(RECV_SIZE)
            if not chunk:
                return
            self._chunk_at = time.time()
            if not self._stream.job_open:
                self._job_started = time.time()
            for event in self._stream.feed(chunk):
                self._handle(event)
            self._track_progress()

    def _handle(self, event: StatusQuery | Job) -> None:
        if isinstance(event, StatusQuery):
            self._reply(event)
        else:
            self._finish(event)
            self._job_started = time.time()

    def _reply(self, query: StatusQuery) -> None:
        state = self.context.state
        reply: bytes | None
        if query.language == "tspl":
            reply = tspl_status(state.paper, state.online, self.context.clock.busy())
        else:
            reply = escpos_status(query.command, state.paper, state.online)
        log.debug("status %r → %r", query.command, reply)
        if reply is not None:
            self.sock.sendall(reply)

    def _track_progress(self) -> None:
        """Account the page in progress against the clock and the paper left."""
        printed = self._stream.printing_dots
        if printed <= self._accounted:
            return
        state = self.context.state
        if self._accounted == 0 and not self._discard:
            if not state.online:
                self._discard = "offline"
            elif state.paper == "out":
                self._discard = "paper out"
        if self._discard:
            self._accounted = printed
            return
        remaining = state.remaining()
        if remaining is not None and printed > remaining:
            page = self._stream.partial_page(remaining)
            if page is not None:
                self._partial = PrintedPage(page, partial=True)
            state.run_out()
            self._discard = "paper out"
            printed = remaining
        self.context.clock.advance(printed - self._accounted)
        self._accounted = max(printed, self._accounted)

    def _finish(self, job: Job) -> None:
        state = self.context.state
        reason = self._discard
        pages: list[PrintedPage] = [self._partial] if self._partial else []
        if not reason and not state.online:
            reason = "offline"
        elif not reason and state.paper == "out":
            reason = "paper out"
        elif not reason:
            pages, reason = self._print_pages(job)
        printed = sum(page.image.height for page in pages)
        self.context.clock.advance(printed - self._accounted)
        self.context.writer.write(
            job.language,
            job.raw,
            pages,
            received_at=self._job_started,
            finished_at=time.time(),
            last_byte_at=self._chunk_at,
            paper=state.paper,
            reason=reason or job.note,
            complete=job.complete,
            peer=self.peer,
        )
        self._accounted, self._partial, self._discard = 0, None, ""
        self.context.on_job()

    def _print_pages(self, job: Job) -> tuple[list[PrintedPage], str]:
        """Print the job's pages on the paper left; a page the paper ends in is partial."""
        state = self.context.state
        pages: list[PrintedPage] = []
        for image, length in zip(job.pages, job.page_lengths, strict=True):
            remaining = state.remaining()
            if remaining is not None and length > remaining:
                if remaining > 0:
                    part = image.crop((0, 0, image.width, min(remaining, image.height)))
                    pages.append(PrintedPage(part, partial=True))
                state.run_out()
                return pages, "paper out"
            pages.append(PrintedPage(image))
            state.consume(length)
        return pages, ""
