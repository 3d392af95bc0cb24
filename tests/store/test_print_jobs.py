import pytest

from edge.store import Conflict, Store, print_jobs


@pytest.fixture
def store(tmp_path):
    s = Store(tmp_path / "s.db")
    yield s
    s.close()


def test_queue_is_fifo_per_printer_and_one_at_a_time(store):
    with store.write() as conn:
        a = print_jobs.enqueue(conn, "p1", "raw", {"n": 1})
        b = print_jobs.enqueue(conn, "p1", "raw", {"n": 2})
        c = print_jobs.enqueue(conn, "p2", "raw", {"n": 3})
        assert print_jobs.claim_next(conn, "p1")["id"] == a["id"]
        assert print_jobs.claim_next(conn, "p1") is None  # a is still printing
        assert print_jobs.claim_next(conn, "p2")["id"] == c["id"]
        print_jobs.mark_done(conn, a["id"])
        assert print_jobs.claim_next(conn, "p1")["id"] == b["id"]


def test_retry_later_blocks_the_head_until_due(store):
    with store.write() as conn:
        a = print_jobs.enqueue(conn, "p1", "raw", {})
        print_jobs.enqueue(conn, "p1", "raw", {})
        print_jobs.claim_next(conn, "p1")
        print_jobs.retry_later(conn, a["id"], "offline", 60)
        assert print_jobs.claim_next(conn, "p1") is None
        assert print_jobs.claim_next(conn, "p1", now="9999-01-01T00:00:00.000Z")["id"] == a["id"]


def test_recover_makes_printing_jobs_uncertain_and_operator_decides(store):
    with store.write() as conn:
        a = print_jobs.enqueue(conn, "p1", "raw", {})
        print_jobs.claim_next(conn, "p1")
    with store.write() as conn:
        assert print_jobs.recover(conn) == [a["id"]]
        assert print_jobs.get(conn, a["id"])["status"] == "uncertain"
        with pytest.raises(Conflict):
            print_jobs.mark_done(conn, a["id"])
        again = print_jobs.resolve_uncertain(conn, a["id"], printed=False)
        assert again["status"] == "queued"
        assert print_jobs.claim_next(conn, "p1")["id"] == a["id"]


def test_reprint_copies_payload(store):
    with store.write() as conn:
        a = print_jobs.enqueue(conn, "p1", "label", {"x": "中文"}, order_id="o1")
        b = print_jobs.reprint(conn, a["id"])
    assert b["payload"] == {"x": "中文"}
    assert b["reprint_of"] == a["id"] and b["order_id"] == "o1" and b["status"] == "queued"
