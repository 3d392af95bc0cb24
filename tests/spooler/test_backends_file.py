"""File back end: a temp file, a FIFO standing in for a stalled or vanishing device."""

from __future__ import annotations

import os
import threading
import time

import pytest

from edge.spooler.backends import FileBackend, FilePrinterConfig
from edge.spooler.errors import JobDisconnected, JobTimedOut, PrinterOffline, PrinterTimeout


def file_backend(path, **fields) -> FileBackend:
    return FileBackend(FilePrinterConfig(type="file", role="receipt", path=str(path), **fields))


def test_jobs_are_appended_to_the_device_file(tmp_path):
    device = tmp_path / "lp0"
    device.write_bytes(b"")
    backend = file_backend(device)
    backend.write(b"job one\n")
    backend.write(b"job two\n")
    backend.close()
    assert device.read_bytes() == b"job one\njob two\n"
    status = backend.status()
    assert (status.online, status.paper) == (True, "unknown")


def test_missing_device_is_offline_and_never_created(tmp_path):
    device = tmp_path / "usb" / "lp0"
    backend = file_backend(device)
    with pytest.raises(PrinterOffline, match=r"lp0 not found — check the cable.*udev rule"):
        backend.write(b"job")
    with pytest.raises(PrinterOffline, match="not found"):
        backend.status()
    assert not device.exists()


def test_unwritable_path_is_offline(tmp_path):
    with pytest.raises(PrinterOffline, match="cannot be opened"):
        file_backend(tmp_path).open()


def test_stalled_device_times_out(tmp_path):
    fifo = tmp_path / "stalled"
    os.mkfifo(fifo)
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    try:
        backend = file_backend(fifo, write_timeout_s=0.3)
        started = time.monotonic()
        with pytest.raises(PrinterTimeout, match="stopped accepting data") as caught:
            backend.write(b"\x00" * (4 * 1024 * 1024))
        assert time.monotonic() - started < 2
        assert isinstance(caught.value, JobTimedOut)
        assert caught.value.bytes_sent > 0
    finally:
        os.close(reader)


def test_device_vanishing_mid_job_reports_partial_job(tmp_path):
    fifo = tmp_path / "vanishing"
    os.mkfifo(fifo)
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    backend = file_backend(fifo, write_timeout_s=5)
    backend.open()

    def vanish_later() -> None:
        time.sleep(0.2)
        os.close(reader)

    thread = threading.Thread(target=vanish_later)
    thread.start()
    try:
        with pytest.raises(JobDisconnected, match="may be partly printed") as caught:
            backend.write(b"\x00" * (4 * 1024 * 1024))
    finally:
        thread.join()
    assert caught.value.bytes_sent > 0
    assert isinstance(caught.value, PrinterOffline)


def test_fifo_without_reader_is_offline(tmp_path):
    fifo = tmp_path / "nobody"
    os.mkfifo(fifo)
    with pytest.raises(PrinterOffline, match="cannot be opened"):
        file_backend(fifo).open()
