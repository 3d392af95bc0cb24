"""The camera decoder on the barcode corpus, the `decode` command, and the camera source."""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from PIL import Image

from edge.scanner.codes import CodeRules
from edge.scanner.debounce import Debouncer
from edge.scanner.decode import DecodedCode, decode_image, decode_image_file, load_image, main
from edge.scanner.engines import read_zbar, read_zxing
from edge.scanner.errors import ImageUnreadable
from edge.scanner.pipeline import ScanPipeline
from edge.scanner.sources import CameraScannerConfig
from edge.scanner.sources.camera import CameraSource
from tests.scanner.conftest import DECODE_REPORT
from tests.scanner.fakes import FakeCapture, FakeClock

cv2 = pytest.importorskip("cv2")

IMAGE_SUFFIXES = {".png", ".jpg", ".webp"}
log = logging.getLogger(__name__)


def normalise(text: str) -> str:
    """Compare EAN-13 / UPC-A in one form (a UPC-A may be read with or without its leading 0)."""
    digits = text.strip()
    if digits.isdigit() and len(digits) in (12, 13):
        return digits.zfill(13)
    return text


@dataclass
class Tally:
    reads: int = 0
    false_positives: int = 0
    seconds: float = 0.0


def corpus_images(corpus: Path) -> list[tuple[Path, str | None]]:
    """(image, expected text) for images with a .txt, and (image, None) for false-positive sets."""
    images = []
    for image in sorted(corpus.glob("*/*")):
        if image.suffix not in IMAGE_SUFFIXES:
            continue
        expected = image.with_suffix(".txt")
        if expected.exists():
            images.append((image, expected.read_bytes().decode("utf-8")))
        elif image.parent.name.startswith("falsepositives"):
            images.append((image, None))
    return images


def test_cascade_reads_at_least_as_much_as_either_engine(
    corpus: Path, request: pytest.FixtureRequest
) -> None:
    readers = {
        "pyzbar (zbar)": read_zbar,
        "zxing-cpp": read_zxing,
        "cascade": decode_image,
    }
    tallies = {name: Tally() for name in readers}
    images = corpus_images(corpus)
    with_text = sum(1 for _, expected in images if expected is not None)
    negatives = len(images) - with_text
    for path, expected in images:
        gray = load_image(path)
        for name, reader in readers.items():
            started = time.perf_counter()
            found: list[DecodedCode] = reader(gray)
            tallies[name].seconds += time.perf_counter() - started
            if expected is None:
                tallies[name].false_positives += bool(found)
            elif any(normalise(code.text) == normalise(expected) for code in found):
                tallies[name].reads += 1

    lines = [
        f"{'decoder':<14} {'read':>9} {'rate':>7} {'false pos.':>11} {'ms/image':>9}",
        *(
            f"{name:<14} {t.reads:>4}/{with_text:<4} {t.reads / with_text:>7.1%} "
            f"{t.false_positives:>4}/{negatives:<6} {t.seconds / len(images) * 1000:>9.1f}"
            for name, t in tallies.items()
        ),
    ]
    table = "\n".join(lines)
    print("\n" + table)
    log.info("Camera decoder on the corpus:\n%s", table)
    request.config.stash[DECODE_REPORT] = table

    best_single = max(tallies["pyzbar (zbar)"].reads, tallies["zxing-cpp"].reads)
    assert tallies["cascade"].reads >= best_single
    assert tallies["cascade"].false_positives == 0


def test_several_codes_in_one_image(corpus: Path) -> None:
    found = decode_image_file(corpus / "multi-1" / "3xean-8.png")
    assert sorted((c.text, c.format) for c in found) == [
        ("12345670", "EAN8"),
        ("48512343", "EAN8"),
        ("67678983", "EAN8"),
    ]


def test_gs1_datamatrix_keeps_separators_and_symbology_id(corpus: Path) -> None:
    (code,) = decode_image_file(corpus / "datamatrix-1" / "gs1-figure-4.15.1-2-32x32.png")
    assert code.format == "DataMatrix" and code.symbology_id == "]d2"
    assert code.text.startswith("01095040000591012112345678p901\x1d10")


def test_accepts_pil_and_colour_images(corpus: Path) -> None:
    path = corpus / "ean13-1" / "10.webp"
    with Image.open(path) as image:
        assert [c.text for c in decode_image(image)] == ["8480010001136"]
    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    assert [c.text for c in decode_image(bgr)] == ["8480010001136"]


def test_unreadable_files(tmp_path: Path) -> None:
    junk = tmp_path / "junk.png"
    junk.write_bytes(b"not an image")
    with pytest.raises(ImageUnreadable, match=r"junk\.png"):
        decode_image_file(junk)
    with pytest.raises(ImageUnreadable, match="no such file"):
        decode_image_file(tmp_path / "missing.png")


def test_decode_command(corpus: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ean = str(corpus / "ean13-1" / "10.webp")
    qr = str(corpus / "qrcode-2" / "30.png")
    missing = str(tmp_path / "missing.png")
    assert main([ean, missing, qr]) == 1
    out, err = capsys.readouterr()
    lines = [json.loads(line) for line in out.splitlines()]
    assert lines == [
        {"file": ean, "text": "8480010001136", "format": "EAN13"},
        {"file": qr, "text": "MECARD:N:測試;;", "format": "QRCode"},
    ]
    assert "missing.png" in err and "no such file" in err
    assert main([ean]) == 0


def test_camera_source_reads_frames_once_per_code(corpus: Path, clock: FakeClock) -> None:
    frames = [
        cv2.imread(str(corpus / name), cv2.IMREAD_COLOR)
        for name in (
            "falsepositives-1/01.webp",
            "ean13-1/10.webp",
            "datamatrix-1/gs1-figure-4.15.1-2-32x32.png",
        )
    ]
    captures: list[FakeCapture] = []

    def opener(cfg: CameraScannerConfig) -> FakeCapture:
        captures.append(FakeCapture(frames, repeat=3))
        return captures[-1]

    cfg = CameraScannerConfig.model_validate({"type": "camera", "fps": 120, "decode_every": 1})
    source = CameraSource("cam", cfg, opener=opener)
    source.backoff_initial = source.backoff_max = 0.01
    pipeline = ScanPipeline("cam", CodeRules(), Debouncer(cfg.debounce_ms, clock=clock))
    events = []
    for _ in range(40):
        for raw in source.read(0.05):
            event = pipeline.process(raw)
            if event is not None:
                events.append(event)
        if len(captures) > 1:
            break
    source.close()

    assert [(e.code[:16], e.symbology) for e in events] == [
        ("8480010001136", "EAN13"),
        ("0109504000059101", "DataMatrix"),
    ], "each code held in view for three frames is reported once"
    assert events[1].gs1 is not None and events[1].gs1["expiry"] == "2014-11-20"
    assert events[1].gs1["batch"] == "1234567p"
    assert len(captures) >= 2, "the capture that ran dry was reopened"
    assert captures[0].released
