"""Helpers shared by the emulator tests: jobs, a barcode reader, socket shortcuts."""

from __future__ import annotations

import socket

import zxingcpp
from escpos.printer import Dummy
from PIL import Image, ImageOps

from edge.emulator.server import PrinterEmulator


def decode(image: Image.Image, margin: int = 24) -> dict[str, str]:
    """Barcode text by format name, read with zxing-cpp (white paper margin added)."""
    padded = ImageOps.expand(image.convert("L"), margin, fill=255)
    return {r.format.name: r.text for r in zxingcpp.read_barcodes(padded)}


def decode_all(image: Image.Image, margin: int = 24) -> list[tuple[str, str]]:
    padded = ImageOps.expand(image.convert("L"), margin, fill=255)
    return [(r.format.name, r.text) for r in zxingcpp.read_barcodes(padded)]


def ink(image: Image.Image) -> int:
    """Number of black dots."""
    return image.convert("L").histogram()[0]


def receipt_job() -> bytes:
    """A typical receipt as python-escpos 3.1 sends it."""
    printer = Dummy()
    printer.set(align="center", bold=True, double_height=True, double_width=True)
    printer.text("便利店 STORE\n")
    printer.set_with_default()
    printer.text("中文 Chinese ¥12.50\n")
    printer.text("合计：¥12.50（含税）\n")
    printer.set(align="right")
    printer.text("Total 12.50\n")
    printer.set_with_default()
    printer.barcode("{BORDER-1001", "CODE128", function_type="B")
    printer.qr("https://example.com/o/1001", native=True, size=5)
    printer.cut()
    return bytes(printer.output)


def connect(emulator: PrinterEmulator, timeout: float = 5.0) -> socket.socket:
    return socket.create_connection(("127.0.0.1", emulator.port), timeout=timeout)


def ask(sock: socket.socket, query: bytes) -> bytes:
    """Send a status query and read its one-byte reply."""
    sock.sendall(query)
    return sock.recv(1)
