"""The two barcode engines behind the camera decoder: zxing-cpp and zbar.

Both take an 8-bit grayscale numpy image and return `DecodedCode`s with format names
normalised to one vocabulary ("EAN13", "UPCA", "Code128", "QRCode", "DataMatrix", …).
zbar is driven through pyzbar's ctypes bindings (`pyzbar.wrapper`) rather than
`pyzbar.decode`, which fails on symbols whose orientation zbar reports as unknown.
The libraries are imported on first use; a missing one raises `DependencyMissing`.
"""

from __future__ import annotations

from ctypes import c_char_p, c_void_p, cast, string_at
from dataclasses import dataclass
from functools import cache
from types import ModuleType
from typing import TYPE_CHECKING, Any

from edge.scanner.errors import ScannerError, require_module

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

    GrayImage = NDArray[np.uint8]

_CAMERA_EXTRA = "install the camera extra: pip install 'printstation[camera]'"

ZXING_FORMATS = (
    "EAN13,EAN8,UPCA,UPCE,Code128,Code39,Code93,ITF,Codabar,DataBar,DataBarExpanded,"
    "DataBarLimited,QRCode,MicroQRCode,DataMatrix,PDF417,Aztec"
)
"""The symbologies read: retail, shipping and warehouse codes, no exotic ones."""

_ZXING_NAMES = {
    "Code39Std": "Code39",
    "Code39Ext": "Code39",
    "ITF14": "ITF",
    "QRCodeModel1": "QRCode",
    "QRCodeModel2": "QRCode",
    "CompactPDF417": "PDF417",
    "AztecCode": "Aztec",
    "DataBarOmni": "DataBar",
    "DataBarStk": "DataBar",
    "DataBarStkOmni": "DataBar",
    "DataBarExp": "DataBarExpanded",
    "DataBarExpStk": "DataBarExpanded",
    "DataBarLtd": "DataBarLimited",
}
_ZBAR_NAMES = {
    "EAN13": "EAN13",
    "ISBN13": "EAN13",
    "EAN8": "EAN8",
    "UPCA": "UPCA",
    "UPCE": "UPCE",
    "ISBN10": "ISBN10",
    "I25": "ITF",
    "CODE39": "Code39",
    "CODE93": "Code93",
    "CODE128": "Code128",
    "CODABAR": "Codabar",
    "QRCODE": "QRCode",
    "PDF417": "PDF417",
    "DATABAR": "DataBar",
    "DATABAR_EXP": "DataBarExpanded",
}
_ZBAR_GRAY = 0x30303859  # fourcc "Y800": 8-bit grayscale
_ZBAR_ENABLE = 0  # ZBAR_CFG_ENABLE
_ZBAR_DISABLED = ("DATABAR", "DATABAR_EXP")
"""Read by zxing-cpp; zbar's DataBar reader prints assertion failures on noisy images."""


@dataclass(frozen=True, slots=True)
class DecodedCode:
    """One barcode found in an image."""

    text: str
    format: str
    symbology_id: str | None = None
    """The AIM symbology identifier (``]C1``, ``]Q3``…) when the engine reports it."""
    engine: str = ""
    box: tuple[int, int, int, int] | None = None
    """Bounding box ``(x0, y0, x1, y1)`` in the image that was decoded."""


@cache
def zxing() -> ModuleType:
    return require_module("zxingcpp", _CAMERA_EXTRA)


@cache
def zbar() -> ModuleType:
    return require_module(
        "pyzbar.wrapper", f"{_CAMERA_EXTRA}, and the zbar library: apt install libzbar0"
    )


def read_zxing(gray: GrayImage, *, binarizer: str = "LocalAverage") -> list[DecodedCode]:
    """Read every barcode zxing-cpp finds (any rotation, inverted, downscaled)."""
    lib = zxing()
    found = lib.read_barcodes(
        gray,
        formats=_zxing_formats(),
        try_rotate=True,
        try_downscale=True,
        try_invert=True,
        text_mode=lib.TextMode.Plain,
        binarizer=getattr(lib.Binarizer, binarizer),
    )
    return [
        DecodedCode(
            text=barcode.text,
            format=_ZXING_NAMES.get(barcode.format.name, barcode.format.name),
            symbology_id=barcode.symbology_identifier or None,
            engine="zxing",
            box=_zxing_box(barcode.position),
        )
        for barcode in found
        if barcode.valid
    ]


def read_zbar(gray: GrayImage) -> list[DecodedCode]:
    """Read every barcode zbar finds (1D codes and QR codes; DataBar is left to zxing-cpp)."""
    lib = zbar()
    pixels = gray.tobytes()
    height, width = gray.shape[:2]
    results: list[DecodedCode] = []
    scanner = lib.zbar_image_scanner_create()
    if not scanner:
        raise ScannerError("zbar could not create an image scanner")
    try:
        for kind in _ZBAR_DISABLED:
            lib.zbar_image_scanner_set_config(scanner, lib.ZBarSymbol[kind], _ZBAR_ENABLE, 0)
        image = lib.zbar_image_create()
        try:
            lib.zbar_image_set_format(image, _ZBAR_GRAY)
            lib.zbar_image_set_size(image, width, height)
            lib.zbar_image_set_data(image, cast(c_char_p(pixels), c_void_p), len(pixels), None)
            if lib.zbar_scan_image(scanner, image) < 0:
                raise ScannerError("zbar rejected the image format")
            symbol = lib.zbar_image_first_symbol(image)
            while symbol:
                results.append(_zbar_code(lib, symbol))
                symbol = lib.zbar_symbol_next(symbol)
        finally:
            lib.zbar_image_destroy(image)
    finally:
        lib.zbar_image_scanner_destroy(scanner)
    return results


@cache
def _zxing_formats() -> Any:
    return zxing().barcode_formats_from_str(ZXING_FORMATS)


def _zxing_box(position: Any) -> tuple[int, int, int, int]:
    corners = (position.top_left, position.top_right, position.bottom_right, position.bottom_left)
    xs = [point.x for point in corners]
    ys = [point.y for point in corners]
    return min(xs), min(ys), max(xs), max(ys)


def _zbar_code(lib: ModuleType, symbol: Any) -> DecodedCode:
    data = string_at(lib.zbar_symbol_get_data(symbol), lib.zbar_symbol_get_data_length(symbol))
    try:
        kind = lib.ZBarSymbol(symbol.contents.type).name
    except ValueError:
        kind = f"zbar-{symbol.contents.type}"
    points = [
        (lib.zbar_symbol_get_loc_x(symbol, i), lib.zbar_symbol_get_loc_y(symbol, i))
        for i in range(lib.zbar_symbol_get_loc_size(symbol))
    ]
    box = None
    if points:
        xs, ys = zip(*points, strict=True)
        box = (min(xs), min(ys), max(xs), max(ys))
    return DecodedCode(
        text=data.decode("utf-8", errors="replace"),
        format=_ZBAR_NAMES.get(kind, kind),
        engine="zbar",
        box=box,
    )
