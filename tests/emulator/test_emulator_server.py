"""The emulator over real TCP: jobs to PNG files, status replies, paper, offline, speed."""

from __future__ import annotations

import contextlib
import json
import random
import socket
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from escpos.printer import Dummy, Network
from PIL import Image

from edge.emulator.server import PrinterEmulator

from .helpers import ask, connect, decode, receipt_job

EmulatorFactory = Callable[..., PrinterEmulator]
DLE_EOT = {n: b"\x10\x04" + bytes([n]) for n in (1, 2, 3, 4)}
GS_R1 = b"\x1dr\x01"


def lines_job(count: int) -> bytes:
    printer = Dummy()
    for number in range(count):
        printer.text(f"line {number}\n")
    printer.cut()
    return bytes(printer.output)


def send_job(emulator: PrinterEmulator, data: bytes) -> None:
    with connect(emulator) as sock:
        sock.sendall(data)


def wait_idle(emulator: PrinterEmulator) -> None:
    """Wait until every connection has been served to its end."""
    deadline = time.monotonic() + 5
    while emulator.status()["connections"]:
        assert time.monotonic() < deadline
        time.sleep(0.02)


def test_job_over_tcp_becomes_png_raw_file_and_journal(emulator: PrinterEmulator) -> None:
    job = receipt_job()
    send_job(emulator, job)

    records = emulator.wait_for_jobs(1)

    out = Path(emulator.out_dir)
    record = records[0]
    assert record["file"] == "000001-escpos.png"
    assert record["printed"] is True and record["complete"] is True
    assert record["kind"] == "escpos" and record["bytes"] == len(job)
    assert (out / "000001-escpos.bin").read_bytes() == job
    assert json.loads((out / "jobs.jsonl").read_text())["file"] == "000001-escpos.png"
    with Image.open(out / "000001-escpos.png") as page:
        assert page.width == 576
        assert decode(page)["QRCode"] == "https://example.com/o/1001"
    assert not [p for p in out.iterdir() if p.name.endswith(".tmp")]


def test_python_escpos_network_printer_and_its_status_calls(emulator: PrinterEmulator) -> None:
    printer = Network("127.0.0.1", port=emulator.port, timeout=5)
    printer.open()
    try:
        assert printer.is_online()
        assert printer.paper_status() == 2
        emulator.set_paper("low")
        assert printer.paper_status() == 1
        printer.text("中文 ¥12.50\n")
        printer.cut()
        assert printer.paper_status() == 1  # answered after the cut: the job is done
        emulator.set_paper("out")
        assert printer.paper_status() == 0
    finally:
        printer.close()
    assert emulator.wait_for_jobs(1)[0]["printed"] is True


def test_status_is_answered_while_a_job_is_open(emulator: PrinterEmulator) -> None:
    job = lines_job(5)
    with connect(emulator) as sock:
        assert [ask(sock, DLE_EOT[n]) for n in (1, 2, 3, 4)] == [b"\x16", b"\x12", b"\x12", b"\x12"]
        assert ask(sock, GS_R1) == b"\x00"
        sock.sendall(job[:-3])
        assert ask(sock, DLE_EOT[4]) == b"\x12"
        emulator.set_paper("low")
        assert ask(sock, DLE_EOT[4]) == b"\x1e"
        assert ask(sock, GS_R1) == b"\x03"
        assert emulator.jobs() == []
        sock.sendall(job[-3:])
        assert ask(sock, DLE_EOT[1]) == b"\x16"
    record = emulator.wait_for_jobs(1)[0]
    assert record["printed"] is True and record["bytes"] == len(job) + len(DLE_EOT[4]) * 2 + 3


def test_paper_out_reports_paper_end_and_jobs_are_not_printed(emulator: PrinterEmulator) -> None:
    emulator.set_paper("out")
    with connect(emulator) as sock:
        end = ask(sock, DLE_EOT[4])[0]
        assert end & 0x60 == 0x60
        assert ask(sock, DLE_EOT[2]) == bytes([0x12 | 0x20])
        assert ask(sock, GS_R1)[0] & 0x0C == 0x0C
        sock.sendall(lines_job(3))
    record = emulator.wait_for_jobs(1)[0]
    assert record["printed"] is False and record["reason"] == "paper out"
    assert record["file"] is None
    assert not list(Path(emulator.out_dir).glob("*.png"))

    emulator.set_paper("ok")
    send_job(emulator, lines_job(3))
    assert emulator.wait_for_jobs(2)[1]["printed"] is True


def test_paper_runs_out_mid_job(make_emulator: EmulatorFactory) -> None:
    emulator = make_emulator(paper_length_mm=60)
    with connect(emulator) as sock:
        sock.sendall(lines_job(40))
        deadline = time.monotonic() + 5
        while ask(sock, DLE_EOT[4])[0] & 0x60 != 0x60:
            assert time.monotonic() < deadline
            time.sleep(0.05)
    record = emulator.wait_for_jobs(1)[0]
    assert record["printed"] is True and record["partial"] is True
    assert record["file"] == "000001-escpos-partial.png"
    assert record["height"] == 60 * 8
    with Image.open(Path(emulator.out_dir) / record["file"]) as page:
        red = page.convert("RGB").getpixel((2, page.height - 2))
        assert red == (220, 0, 0)

    send_job(emulator, lines_job(2))
    assert emulator.wait_for_jobs(2)[1]["printed"] is False
    assert emulator.status()["paper"] == "out"


def test_offline_refuses_connections_and_reports_offline(emulator: PrinterEmulator) -> None:
    with connect(emulator) as early:
        assert ask(early, DLE_EOT[1]) == b"\x16"
        emulator.set_online(False)
        assert ask(early, DLE_EOT[1]) == b"\x1e"
        assert ask(early, DLE_EOT[2]) == bytes([0x12 | 0x04])
        with connect(emulator) as refused, contextlib.suppress(ConnectionResetError):
            assert refused.recv(1) == b""
    emulator.set_online(True)
    send_job(emulator, lines_job(1))
    assert emulator.wait_for_jobs(1)[0]["printed"] is True


def test_unfinished_job_prints_when_the_connection_closes(emulator: PrinterEmulator) -> None:
    send_job(emulator, b"\x1b@no cut at the end\n")

    record = emulator.wait_for_jobs(1)[0]

    assert record["printed"] is True and record["complete"] is False


def test_garbage_and_truncated_commands_do_not_break_the_printer(
    emulator: PrinterEmulator,
) -> None:
    rng = random.Random(11)
    send_job(emulator, bytes(rng.getrandbits(8) for _ in range(5000)))
    send_job(emulator, b"\x1b@text\n\x1dv0\x00\xff\x00\xff")
    wait_idle(emulator)
    before = len(emulator.jobs())
    with connect(emulator) as sock:
        sock.sendall(receipt_job())
        assert ask(sock, DLE_EOT[1]) == b"\x16"
    record = emulator.wait_for_jobs(before + 1)[-1]
    assert record["printed"] is True and record["complete"] is True


def test_several_clients_at_once(emulator: PrinterEmulator) -> None:
    socks = [connect(emulator) for _ in range(3)]
    for sock in socks:
        sock.sendall(lines_job(2))
    for sock in socks:
        sock.close()
    records = emulator.wait_for_jobs(3)
    assert sorted(r["file"] for r in records) == [f"00000{n}-escpos.png" for n in (1, 2, 3)]


def test_speed_limit_makes_a_long_job_take_time(make_emulator: EmulatorFactory) -> None:
    emulator = make_emulator(speed_mm_s=150)
    printer = Dummy()
    printer.image(Image.new("1", (576, 150 * 8), 0))
    printer.cut()
    started = time.monotonic()
    with connect(emulator) as sock:
        sock.sendall(bytes(printer.output))
        assert ask(sock, DLE_EOT[1]) == b"\x16"
    assert time.monotonic() - started > 0.5
    assert emulator.wait_for_jobs(1)[0]["height"] >= 150 * 8


def test_tspl_label_over_tcp(emulator: PrinterEmulator) -> None:
    label = b'SIZE 60 mm,40 mm\r\nGAP 2 mm,0\r\nCLS\r\nQRCODE 20,20,M,6,A,0,"L-1"\r\nPRINT 1\r\n'
    with connect(emulator) as sock:
        assert ask(sock, b"\x1b!?") == b"\x00"
        sock.sendall(label)
        assert ask(sock, b"\x1b!?") == b"\x00"
        emulator.set_paper("out")
        assert ask(sock, b"\x1b!?") == b"\x04"
        emulator.set_online(False)
        assert ask(sock, b"\x1b!?") == b"\x05"
    record = emulator.wait_for_jobs(1)[0]
    assert record["file"] == "000001-tspl.png" and record["kind"] == "tspl"
    with Image.open(Path(emulator.out_dir) / record["file"]) as page:
        assert page.size == (480, 320)
        assert decode(page) == {"QRCode": "L-1"}


@pytest.mark.parametrize("paper", ["ok", "low"])
def test_loading_paper_resets_the_paper_length(make_emulator: EmulatorFactory, paper: str) -> None:
    emulator = make_emulator(paper_length_mm=40)
    send_job(emulator, lines_job(20))
    emulator.wait_for_jobs(1)
    assert emulator.status()["paper"] == "out"

    emulator.set_paper(paper)

    assert emulator.status()["paper"] == paper
    assert emulator.status()["paper_used_mm"] == 0
    send_job(emulator, lines_job(1))
    assert emulator.wait_for_jobs(2)[1]["printed"] is True


def test_closed_port_after_stop(make_emulator: EmulatorFactory) -> None:
    emulator = make_emulator()
    emulator.stop()
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", emulator.port), timeout=1)
