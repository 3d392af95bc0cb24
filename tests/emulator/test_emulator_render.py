"""Language detection, the public render API, and the per-connection job stream."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from escpos.printer import Dummy
from PIL import Image

from edge.emulator.errors import EmptyJobError
from edge.emulator.output import JobWriter, PrintedPage
from edge.emulator.render import detect_language, render_job, render_job_png
from edge.emulator.stream import Job, JobStream, StatusQuery

from .helpers import decode, decode_all, receipt_job

LABEL = b'SIZE 60 mm,40 mm\r\nCLS\r\nQRCODE 20,20,M,6,A,0,"label-1"\r\nPRINT 1\r\n'


@pytest.mark.parametrize(
    ("data", "language"),
    [
        (b"SIZE 100 mm,150 mm\r\n", "tspl"),
        (b"\r\nCLS\r\n", "tspl"),
        (b"\x1b!?", "tspl"),
        (b"~!T\r\n", "tspl"),
        (b"\x1b@hello\n", "escpos"),
        (b"\x10\x04\x01", "escpos"),
        (b"PRINT THIS RECEIPT\n", "escpos"),
        (b"Hello world\n", "escpos"),
        (b"SIZ", None),
        (b"", None),
    ],
)
def test_detect_language(data: bytes, language: str | None) -> None:
    assert detect_language(data) == language


def test_render_job_picks_the_language() -> None:
    receipt = render_job(receipt_job())
    label = render_job(LABEL)

    assert receipt[0].width == 576
    assert label[0].size == (480, 320)
    assert decode(label[0]) == {"QRCode": "label-1"}


def test_render_job_png_stacks_pages() -> None:
    printer = Dummy()
    for number in (1, 2):
        printer.qr(f"page {number}", native=True)
        printer.cut()

    png = render_job_png(bytes(printer.output))
    first = render_job_png(bytes(printer.output), first_only=True)

    image = Image.open(io.BytesIO(png))
    assert image.format == "PNG"
    assert sorted(text for _, text in decode_all(image)) == ["page 1", "page 2"]
    assert Image.open(io.BytesIO(first)).height < image.height


def test_render_job_png_of_nothing_raises() -> None:
    with pytest.raises(EmptyJobError):
        render_job_png(b"\x1b@\x10\x04\x01")


def test_stream_reports_status_queries_before_the_job_ends() -> None:
    stream = JobStream()
    printer = Dummy()
    printer.text("hello\n")

    events = stream.feed(b"\x10\x04\x04" + bytes(printer.output) + b"\x1dr\x01")

    assert events == [StatusQuery("escpos", b"\x10\x04\x04"), StatusQuery("escpos", b"\x1dr\x01")]
    assert stream.job_open
    assert stream.printing_dots > 0

    events = stream.feed(b"\x1dV\x00")
    assert len(events) == 1
    job = events[0]
    assert isinstance(job, Job)
    assert job.complete and len(job.pages) == 1
    # The status query before the job is not part of it; the one inside is.
    assert job.raw.startswith(b"\x1bt\x00hello\n")
    assert job.raw.endswith(b"\x1dr\x01\x1dV\x00")


def test_stream_closing_mid_job_yields_an_incomplete_job() -> None:
    stream = JobStream()
    assert stream.feed(b"\x1b@unfinished line") == []

    events = stream.close()

    assert len(events) == 1
    job = events[0]
    assert isinstance(job, Job) and not job.complete and len(job.pages) == 1


def test_stream_splits_tspl_jobs_at_print() -> None:
    stream = JobStream()
    events = stream.feed(b"\x1b!?" + LABEL + LABEL.replace(b"PRINT 1", b"PRINT 2"))

    assert events[0] == StatusQuery("tspl", b"\x1b!?")
    jobs = [e for e in events if isinstance(e, Job)]
    assert [len(job.pages) for job in jobs] == [1, 2]
    assert jobs[0].page_lengths == [320 + 16]
    assert jobs[0].raw == LABEL


def test_writer_numbers_files_and_writes_atomically(tmp_path: Path) -> None:
    page = PrintedPage(Image.new("1", (64, 32), 1))
    writer = JobWriter(tmp_path)
    writer.write("escpos", b"abc", [page], received_at=1.0, finished_at=2.0, paper="ok")
    writer.write("tspl", b"d", [page, page], received_at=1.0, finished_at=2.0, paper="ok")

    again = JobWriter(tmp_path)
    records = again.write(
        "escpos", b"e", [], received_at=1.0, finished_at=2.0, paper="out", reason="paper out"
    )

    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == [
        "000001-escpos.bin",
        "000001-escpos.png",
        "000002-tspl.bin",
        "000002-tspl.png",
        "000003-tspl.png",
        "000004-escpos.bin",
        "jobs.jsonl",
    ]
    assert records[0]["printed"] is False and records[0]["reason"] == "paper out"
    assert len((tmp_path / "jobs.jsonl").read_text().splitlines()) == 4
