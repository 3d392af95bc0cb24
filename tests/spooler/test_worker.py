"""The spooler's queue loop against simulated printers: order, pauses, retries, uncertainty."""

from __future__ import annotations

import time

import pytest

from edge.spooler.backends import SimulatedBackend, SimulatedPrinterConfig
from edge.spooler.service import SpoolerService
from edge.spooler.worker import backoff
from edge.store import Store, print_jobs
from edge.store.notify import poke

PRINTERS = """
[printers.label]
type = "simulated"
role = "label"
language = "tspl"
"""
LABEL = {
    "order_number": "ST-01-000001",
    "carrier": {"name": "SF", "code": "SF"},
    "service_level": "standard",
    "tracking_number": "SF1234567890",
    "sort_code": "SF-GD-SZ",
    "sender": {"name": "店", "phone": "1", "address": "深圳"},
    "recipient": {"name": "张伟", "phone": "13800138000", "address": "广东省深圳市南山区1号"},
    "weight_kg": None,
    "items": "可乐×1",
    "created_at": "2026-11-22T00:00:00Z",
}


def wait(predicate, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.02)
    raise AssertionError("timed out")


@pytest.fixture
def spooler(station_config):
    started = []

    def make(**fail):
        config = station_config(PRINTERS)
        backend = SimulatedBackend(
            SimulatedPrinterConfig(type="simulated", role="label", language="tspl", **fail)
        )
        service = SpoolerService(config, backends={"label": backend})
        store = Store(config.db_path)
        started.append((service, store))
        return service, backend, store

    yield make
    for service, store in started:
        service.stop()
        store.close()


def enqueue(service, store, n=1, payload=None):
    with store.write() as conn:
        jobs = [print_jobs.enqueue(conn, "label", "label", payload or LABEL) for _ in range(n)]
    poke(service.runtime_dir, "spooler")
    return [j["id"] for j in jobs]


def status(store, job_id):
    return print_jobs.get(store.conn(), job_id)["status"]


def test_jobs_print_in_order(spooler):
    service, backend, store = spooler()
    service.start()
    ids = enqueue(service, store, 5)
    jobs = backend.wait_for_jobs(5, timeout=10)
    assert len(jobs) == 5 and all(j.startswith(b"SIZE 100 mm") for j in jobs)
    wait(lambda: all(status(store, i) == "done" for i in ids))
    done = [print_jobs.get(store.conn(), i)["finished_at"] for i in ids]
    assert done == sorted(done)


@pytest.mark.allow_errors
def test_paper_out_pauses_without_spending_attempts(spooler):
    service, backend, store = spooler(fail="paper_out")
    service.start()
    [job] = enqueue(service, store)
    time.sleep(0.6)
    assert status(store, job) == "queued"
    assert print_jobs.get(store.conn(), job)["attempts"] == 0
    assert service.workers["label"].state.paused
    backend.set_paper("ok")
    wait(lambda: status(store, job) == "done")
    assert not service.workers["label"].state.paused


@pytest.mark.allow_errors
def test_unplugged_mid_job_is_uncertain_never_resent(spooler):
    service, backend, store = spooler(fail="unplug_mid_job")
    service.start()
    first, second = enqueue(service, store, 2)
    wait(lambda: status(store, first) == "uncertain")
    backend.plug()
    wait(lambda: status(store, second) == "done")
    assert len(backend.interrupted) == 1 and len(backend.jobs) == 1
    assert status(store, first) == "uncertain"
    with store.write() as conn:
        print_jobs.resolve_uncertain(conn, first, printed=False)
    poke(service.runtime_dir, "spooler")
    wait(lambda: status(store, first) == "done")
    assert len(backend.jobs) == 2


@pytest.mark.allow_errors
def test_bad_payload_fails_without_blocking_the_queue(spooler):
    service, _backend, store = spooler()
    service.start()
    [bad] = enqueue(service, store, payload={"order_number": "X"})
    [good] = enqueue(service, store)
    wait(lambda: status(store, good) == "done")
    job = print_jobs.get(store.conn(), bad)
    assert job["status"] == "failed" and "render" in job["last_error"]


@pytest.mark.allow_errors
def test_paper_running_out_after_a_job_makes_it_uncertain(spooler):
    service, backend, store = spooler(paper_after_jobs=1)
    service.start()
    first, second = enqueue(service, store, 2)
    wait(lambda: status(store, first) == "uncertain")
    assert status(store, second) == "queued"
    backend.set_paper("ok")
    wait(lambda: status(store, second) == "done")


def test_restart_recovers_printing_jobs_as_uncertain(spooler):
    service, backend, store = spooler()
    [job] = enqueue(service, store)
    with store.write() as conn:  # as if a previous spooler died while sending it
        print_jobs.claim_next(conn, "label")
    service.start()
    wait(lambda: status(store, job) == "uncertain")
    time.sleep(0.3)
    assert backend.jobs == []


def test_status_file_and_previews(spooler):
    service, _backend, store = spooler()
    service.start()
    [job] = enqueue(service, store)
    wait(lambda: status(store, job) == "done")
    preview = service.previews.path(job)
    wait(preview.exists)
    assert preview.read_bytes().startswith(b"\x89PNG")
    wait(lambda: '"printed": 1' in (service.runtime_dir / "spooler-status.json").read_text())


def test_backoff_grows_and_is_capped():
    assert [backoff(n, 1.0, 10.0) for n in range(1, 7)] == [1, 2, 4, 8, 10, 10]


@pytest.mark.allow_errors
def test_printer_that_never_takes_the_job_is_uncertain_not_a_hang(station_config):
    config = station_config(PRINTERS)
    backend = SimulatedBackend(
        SimulatedPrinterConfig(
            type="simulated",
            role="label",
            language="tspl",
            fail="slow",
            delay_ms=5000,
            write_timeout_s=0.3,
        )
    )
    service = SpoolerService(config, backends={"label": backend})
    store = Store(config.db_path)
    try:
        service.start()
        [job] = enqueue(service, store)
        wait(lambda: status(store, job) == "uncertain", timeout=5)
        assert "stopped taking data" in print_jobs.get(store.conn(), job)["last_error"]
        assert service.is_alive()
    finally:
        service.stop()
        store.close()
