"""Several ingest workers at once (threads with their own engines, and processes) apply
each event exactly once."""

from __future__ import annotations

import multiprocessing
import threading

from sqlalchemy import Engine, func, select

from cloud.db import make_engine, read_only
from cloud.ingest import check_streams, ingest
from cloud.schema import inbox, orders
from edge import protocol
from edge.wire import Ack, Batch

from .factories import TENANT, Journal


def _journal(events: int = 40) -> Journal:
    j = Journal()
    for n in range(events):
        if n % 4 == 0:
            j.order()
        else:
            j.add(protocol.PRINT_JOB_STATE, {"job_id": n, "status": "done", "error": None})
    return j


def _counts(engine: Engine) -> tuple[int, int, int]:
    with read_only(engine) as conn:
        assert check_streams(conn) == []
        rows = conn.execute(select(func.count(), func.count(func.distinct(inbox.c.seq)))).one()
        made = conn.execute(select(func.count()).select_from(orders)).scalar_one()
    return int(rows[0]), int(rows[1]), int(made)


def test_two_workers_ingesting_the_same_batch_apply_it_once(engine: Engine, second_engine: Engine):
    j = _journal()
    batch = j.batch()
    barrier = threading.Barrier(2)
    acks: list[Ack] = []
    errors: list[BaseException] = []

    def worker(eng: Engine) -> None:
        barrier.wait()
        try:
            acks.append(ingest(eng, TENANT, batch))
        except BaseException as err:  # surfaced below
            errors.append(err)

    threads = [threading.Thread(target=worker, args=(e,)) for e in (engine, second_engine)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    assert acks == [Ack(upto=40), Ack(upto=40)]
    assert _counts(engine) == (40, 40, 10)


def test_workers_racing_over_interleaved_batches_apply_everything_once(
    engine: Engine, second_engine: Engine
):
    """Overlapping, reordered batches of two stations across two workers."""
    journals = [_journal(30), Journal("st-02")]
    for n in range(30):
        journals[1].add(protocol.SCAN_REJECTED, {"code": str(n), "source": "usb"})
    deliveries: list[Batch] = []
    for j in journals:
        for first in range(1, 31, 5):
            deliveries.append(j.seqs(first, min(first + 9, 30)))
    deliveries.reverse()

    def worker(eng: Engine, share: list[Batch]) -> None:
        for _ in range(3):  # keep delivering until everything landed, like resends would
            for b in share:
                ingest(eng, TENANT, b)

    threads = [
        threading.Thread(target=worker, args=(e, deliveries[i::2]))
        for i, e in enumerate((engine, second_engine))
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(90)
    for j in journals:
        assert ingest(engine, TENANT, j.batch()).upto == 30
    with read_only(engine) as conn:
        per_station = dict(
            conn.execute(select(inbox.c.station, func.count()).group_by(inbox.c.station)).all()
        )
    assert per_station == {"st-01": 30, "st-02": 30}
    with read_only(engine) as conn:
        assert check_streams(conn) == []


def _ingest_in_process(url: str, raw: bytes, start: multiprocessing.synchronize.Event) -> None:
    engine = make_engine(url)
    start.wait(30)
    ingest(engine, TENANT, Batch.from_bytes(raw, station="st-01", stream="up"))
    engine.dispose()


def test_two_processes_ingesting_the_same_batch_apply_it_once(db_url: str, engine: Engine):
    raw = _journal().batch().to_bytes()
    ctx = multiprocessing.get_context("spawn")
    start = ctx.Event()
    procs = [ctx.Process(target=_ingest_in_process, args=(db_url, raw, start)) for _ in range(3)]
    for p in procs:
        p.start()
    start.set()
    for p in procs:
        p.join(60)
    assert [p.exitcode for p in procs] == [0, 0, 0]
    assert _counts(engine) == (40, 40, 10)
