"""The camera decoder: zxing-cpp and zbar in a cascade, over numpy or PIL images.

Stage 1 reads the image with both engines and merges the results (zxing-cpp wins where both
read the same symbol). When nothing plausible was found and `thorough` is set, stage 2 tries
enhanced variants of the image (upscaled, contrast-equalised, sharpened, thresholded,
smoothed) until one yields a code. Every result must be plausible: EAN/UPC check digits
valid, linear codes not implausibly short, no undecodable bytes. `main` backs
``printstation decode IMAGE…``.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from edge.scanner.codes import EAN_UPC
from edge.scanner.engines import DecodedCode, read_zbar, read_zxing
from edge.scanner.errors import ImageUnreadable, ScannerError, require_module
from edge.scanner.gs1 import gtin_check_ok, upce_check_ok

if TYPE_CHECKING:
    from edge.scanner.engines import GrayImage

__all__ = ["DecodedCode", "decode_image", "decode_image_file", "load_image", "main", "to_gray"]

_CAMERA_EXTRA = "install the camera extra: pip install 'printstation[camera]'"

MIN_LENGTHS = {"ITF": 4, "Codabar": 4, "Code39": 2, "Code93": 2, "Code128": 2}
"""Shortest text accepted per linear symbology; shorter reads are usually noise."""

SMALL_IMAGE = 1000
"""Images whose longer side is below this many pixels are also tried upscaled."""


def decode_image(image: Any, *, thorough: bool = True) -> list[DecodedCode]:
    """Every plausible barcode in `image` (numpy gray/BGR/BGRA array or PIL image)."""
    gray = to_gray(image)
    found = _read_both(gray)
    if found or not thorough:
        return found
    for variant in _variants(gray):
        found = _read_both(variant)
        if found:
            return found
    return []


def decode_image_file(path: str | Path) -> list[DecodedCode]:
    """Every plausible barcode in an image file; `ImageUnreadable` when it cannot be loaded."""
    return decode_image(load_image(path))


def load_image(path: str | Path) -> GrayImage:
    """Load an image file as 8-bit grayscale (OpenCV first, then Pillow for what it lacks)."""
    cv2 = require_module("cv2", _CAMERA_EXTRA)
    numpy = require_module("numpy", _CAMERA_EXTRA)
    if not Path(path).is_file():
        raise ImageUnreadable(f"cannot load image {path}: no such file")
    image = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
    if image is not None and image.size:
        return image
    try:
        from PIL import Image, UnidentifiedImageError

        with Image.open(path) as opened:
            return numpy.asarray(opened.convert("L"))
    except (OSError, UnidentifiedImageError, ValueError) as err:
        raise ImageUnreadable(f"cannot load image {path}: {err}") from err


def to_gray(image: Any) -> GrayImage:
    """An 8-bit single-channel copy of a numpy (gray, BGR, BGRA) or PIL image."""
    numpy = require_module("numpy", _CAMERA_EXTRA)
    if hasattr(image, "convert") and hasattr(image, "mode"):
        return numpy.asarray(image.convert("L"))
    array = numpy.asarray(image)
    if array.size == 0 or array.ndim not in (2, 3):
        raise ImageUnreadable(f"not an image: array of shape {array.shape}")
    if array.dtype != numpy.uint8:
        array = numpy.clip(array, 0, 255).astype(numpy.uint8)
    if array.ndim == 3 and array.shape[2] in (3, 4):
        cv2 = require_module("cv2", _CAMERA_EXTRA)
        code = cv2.COLOR_BGRA2GRAY if array.shape[2] == 4 else cv2.COLOR_BGR2GRAY
        array = cv2.cvtColor(array, code)
    elif array.ndim == 3 and array.shape[2] == 1:
        array = array[:, :, 0]
    if array.ndim != 2:
        raise ImageUnreadable(f"not an image: array of shape {array.shape}")
    return numpy.ascontiguousarray(array)


def plausible(code: DecodedCode) -> bool:
    """False for reads that are most likely noise or misreads."""
    text = code.text
    if not text or "\ufffd" in text:
        return False
    if code.format in EAN_UPC:
        if code.format == "UPCE" and len(text) in (6, 7, 8):
            return upce_check_ok(text)
        return gtin_check_ok(text)
    if code.format == "ITF" and len(text) % 2:
        return False
    return len(text) >= MIN_LENGTHS.get(code.format, 1)


def _read_both(gray: GrayImage) -> list[DecodedCode]:
    """zxing-cpp's reads, plus zbar's reads of symbols zxing-cpp did not read."""
    found = [code for code in read_zxing(gray) if plausible(code)]
    keys = {(code.text, code.format) for code in found}
    for code in read_zbar(gray):
        key = (code.text, code.format)
        if key in keys or not plausible(code) or any(_overlap(code, seen) for seen in found):
            continue
        keys.add(key)
        found.append(code)
    return found


def _overlap(a: DecodedCode, b: DecodedCode) -> bool:
    """True when the centre of `a`'s box lies inside `b`'s box: the same symbol read twice."""
    if a.box is None or b.box is None:
        return False
    x = (a.box[0] + a.box[2]) / 2
    y = (a.box[1] + a.box[3]) / 2
    return b.box[0] <= x <= b.box[2] and b.box[1] <= y <= b.box[3]


def _variants(gray: GrayImage) -> Iterator[GrayImage]:
    """Enhanced copies of `gray`, cheapest and most useful first."""
    cv2 = require_module("cv2", _CAMERA_EXTRA)
    steps: list[Callable[[GrayImage], GrayImage]] = []
    if max(gray.shape) < SMALL_IMAGE:
        steps.append(lambda g: cv2.resize(g, None, fx=2, fy=2, interpolation=cv2.INTER_CUBIC))
    steps += [
        lambda g: cv2.createCLAHE(clipLimit=2.0, tileGridSize=(8, 8)).apply(g),
        lambda g: cv2.addWeighted(g, 1.5, cv2.GaussianBlur(g, (0, 0), 3), -0.5, 0),
        lambda g: cv2.threshold(
            cv2.GaussianBlur(g, (3, 3), 0), 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU
        )[1],
        lambda g: cv2.GaussianBlur(g, (5, 5), 0),
        lambda g: cv2.adaptiveThreshold(
            g, 255, cv2.ADAPTIVE_THRESH_GAUSSIAN_C, cv2.THRESH_BINARY, 31, 10
        ),
    ]
    for step in steps:
        yield step(gray)


def main(argv: Sequence[str] | None = None) -> int:
    """``printstation decode IMAGE…``: one JSON line per code found; exit 1 if a file failed."""
    parser = argparse.ArgumentParser(
        prog="printstation decode",
        description="Decode every barcode in each image file with the station's camera decoder.",
    )
    parser.add_argument("images", nargs="+", metavar="IMAGE", help="image file to decode")
    args = parser.parse_args(argv)
    status = 0
    for name in args.images:
        try:
            codes = decode_image_file(name)
        except ImageUnreadable as err:
            print(f"printstation decode: {err}", file=sys.stderr)
            status = 1
            continue
        except ScannerError as err:
            print(f"printstation decode: {err}", file=sys.stderr)
            return 1
        for code in codes:
            line = {"file": name, "text": code.text, "format": code.format}
            print(json.dumps(line, ensure_ascii=False), flush=True)
    return status
