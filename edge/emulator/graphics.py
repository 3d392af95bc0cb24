"""Bit image payloads (ESC/POS raster, column and graphics formats, TSPL BITMAP) → ink masks.

Masks are mode ``L`` images with 255 where the printer puts a dot.
"""

from __future__ import annotations

import logging

from PIL import Image, ImageOps

log = logging.getLogger(__name__)


def rows_mask(width_bytes: int, height: int, data: bytes, ink_bit: int = 1) -> Image.Image | None:
    """Row-major bit data, most significant bit leftmost; ``ink_bit`` is the value that prints."""
    if width_bytes <= 0 or height <= 0:
        return None
    needed = width_bytes * height
    if len(data) < needed:
        log.warning("bit image data short by %d bytes; padded", needed - len(data))
        data = data + bytes(needed - len(data))
    mask = Image.frombytes("1", (width_bytes * 8, height), data[:needed]).convert("L")
    return mask if ink_bit else ImageOps.invert(mask)


def _scaled(mask: Image.Image, x: int, y: int) -> Image.Image:
    if x == 1 and y == 1:
        return mask
    return mask.resize((mask.width * x, mask.height * y), Image.Resampling.NEAREST)


def raster_mask(args: bytes, data: bytes) -> Image.Image | None:
    """``GS v 0 m xL xH yL yH`` (``args`` from the ``0``): m 1 doubles width, 2 height, 3 both."""
    mode = args[1] & 3
    mask = rows_mask(args[2] | args[3] << 8, args[4] | args[5] << 8, data)
    if mask is None:
        return None
    return _scaled(mask, 2 if mode & 1 else 1, 2 if mode & 2 else 1)


def bit_column_mask(mode: int, data: bytes) -> Image.Image | None:
    """``ESC * m``: 8-dot (m 0, 1) or 24-dot (m 32, 33) columns, single or double density."""
    depth = 3 if mode in (32, 33) else 1
    columns = len(data) // depth
    if columns == 0:
        return None
    stripe = Image.frombytes("1", (depth * 8, columns), data[: columns * depth])
    mask = stripe.transpose(Image.Transpose.TRANSPOSE).convert("L")
    return _scaled(mask, 1 if mode in (1, 33) else 2, 1 if depth == 3 else 3)


def graphics_mask(data: bytes) -> Image.Image | None:
    """``GS ( L`` / ``GS 8 L`` function 112: store a monochrome raster graphic."""
    if len(data) < 10:
        log.warning("graphics data too short (%d bytes); ignored", len(data))
        return None
    scale_x, scale_y = data[3], data[4]
    width, height = data[6] | data[7] << 8, data[8] | data[9] << 8
    if data[2] != 0x30:
        log.warning("multi-tone graphics (a=0x%02x) are not supported; ignored", data[2])
        return None
    mask = rows_mask((width + 7) // 8, height, data[10:])
    if mask is None:
        return None
    mask = mask.crop((0, 0, width, height))
    return _scaled(mask, 2 if scale_x == 2 else 1, 2 if scale_y == 2 else 1)
