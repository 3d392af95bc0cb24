"""Simulated printer: jobs in memory and on disk, scripted and run-time faults."""

from __future__ import annotations

import threading
import time

import pytest

from edge.spooler.backends import SimulatedBackend, SimulatedPrinterConfig
from edge.spooler.errors import JobDisconnected, JobTimedOut, PaperOut, PrinterOffline


def simulated(**fields) -> SimulatedBackend:
    return SimulatedBackend(SimulatedPrinterConfig(type="simulated", role="receipt", **fields))


def test_jobs_are_kept_and_saved_with_continuing_numbers(tmp_path):
    out = tmp_path / "jobs"
    printer = simulated(out_dir=str(out))
    printer.write(b"one")
    printer.write(b"two")
    assert printer.jobs == [b"one", b"two"]
    assert sorted(p.name for p in out.iterdir()) == ["000001.bin", "000002.bin"]
    assert (out / "000002.bin").read_bytes() == b"two"
    again = simulated(out_dir=str(out))
    again.write(b"three")
    assert (out / "000003.bin").read_bytes() == b"three"
    assert again.status().online and again.status().paper == "ok"


def test_paper_runs_out_after_the_configured_jobs_and_can_be_refilled():
    printer = simulated(paper_after_jobs=2)
    printer.write(b"1")
    printer.write(b"2")
    status = printer.status()
    assert (status.online, status.paper, status.detail) == (True, "out", "out of paper")
    with pytest.raises(PaperOut, match="load a new roll"):
        printer.write(b"3")
    printer.set_paper("ok")
    printer.write(b"3")
    assert printer.jobs == [b"1", b"2", b"3"]


def test_paper_out_from_the_start():
    printer = simulated(fail="paper_out")
    assert printer.status().paper == "out"
    with pytest.raises(PaperOut):
        printer.write(b"job")
    printer.set_paper("low")
    printer.write(b"job")
    assert printer.status().paper == "low"


def test_offline_printer_is_unreachable_until_plugged_in():
    printer = simulated(fail="offline")
    for call in (printer.open, printer.status, lambda: printer.write(b"job")):
        with pytest.raises(PrinterOffline, match="unplugged"):
            call()
    printer.plug()
    printer.write(b"job")
    assert printer.jobs == [b"job"]


def test_printer_reporting_offline_answers_status_but_refuses_jobs():
    printer = simulated()
    printer.set_online(False)
    status = printer.status()
    assert (status.online, status.detail) == (False, "printer reports offline (cover open)")
    with pytest.raises(PrinterOffline, match="check the cover"):
        printer.write(b"job")
    printer.set_online(True)
    printer.write(b"job")


def test_unplug_mid_job_keeps_half_and_stays_unplugged():
    printer = simulated(fail="unplug_mid_job")
    with pytest.raises(JobDisconnected) as caught:
        printer.write(b"0123456789")
    assert caught.value.bytes_sent == 5
    assert printer.interrupted == [b"01234"]
    with pytest.raises(PrinterOffline):
        printer.status()
    printer.plug()
    printer.write(b"next")
    assert printer.jobs == [b"next"]


def test_unplug_while_printing():
    printer = simulated(delay_ms=300)
    threading.Timer(0.05, printer.unplug).start()
    with pytest.raises(JobDisconnected, match="unplugged while printing"):
        printer.write(b"abcd")
    assert printer.jobs == []


def test_slow_printer_takes_its_time_and_times_out_when_too_slow():
    printer = simulated(fail="slow", delay_ms=100)
    started = time.monotonic()
    printer.write(b"job")
    assert time.monotonic() - started >= 0.1
    stuck = simulated(fail="slow", delay_ms=5000, write_timeout_s=0.2)
    started = time.monotonic()
    with pytest.raises(JobTimedOut) as caught:
        stuck.write(b"abcdef")
    assert 0.2 <= time.monotonic() - started < 1
    assert caught.value.bytes_sent == 3


def test_wait_for_jobs_from_another_thread():
    printer = simulated(delay_ms=20)
    writer = threading.Thread(target=lambda: [printer.write(b"%d" % i) for i in range(3)])
    writer.start()
    assert printer.wait_for_jobs(3, timeout=5) == [b"0", b"1", b"2"]
    writer.join()
    assert len(printer.wait_for_jobs(5, timeout=0.05)) == 3
