"""Pure renderers: print-job payloads (JSON dicts) to printer bytes, no I/O.

``render(kind, payload, opts)`` is the one entry point the spooler calls; the per-layout
functions are exported for previews and tests. They are imported on first use (they bring
python-escpos, Pillow and qrcode), so a service that only reads printer settings stays small.
"""

from __future__ import annotations

import base64
import binascii
import importlib
import logging
from typing import TYPE_CHECKING, Any

from edge.spooler.errors import RenderError
from edge.spooler.render.options import RenderOptions

if TYPE_CHECKING:
    from edge.spooler.render.escpos import render_label_escpos, render_picklist, render_ticket
    from edge.spooler.render.model import PickList, ShippingLabel, Ticket
    from edge.spooler.render.tspl import render_label_tspl

log = logging.getLogger(__name__)

KINDS = ("ticket", "picklist", "label", "raw")
#: ESC/POS cut commands (GS V m, and GS V m n with a feed) a raw job may end with.
_ESCPOS_CUTS = (b"\x1dV\x00", b"\x1dV\x01", b"\x1dV0", b"\x1dV1")

__all__ = [
    "KINDS",
    "PickList",
    "RenderError",
    "RenderOptions",
    "ShippingLabel",
    "Ticket",
    "render",
    "render_label_escpos",
    "render_label_tspl",
    "render_picklist",
    "render_ticket",
]


_LAZY = {
    "render_label_escpos": "escpos",
    "render_picklist": "escpos",
    "render_ticket": "escpos",
    "PickList": "model",
    "ShippingLabel": "model",
    "Ticket": "model",
    "render_label_tspl": "tspl",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def render(kind: str, payload: dict[str, Any], opts: RenderOptions) -> bytes:
    """Render one job to the bytes to send to the printer.

    ``kind`` is ``ticket``, ``picklist``, ``label`` (TSPL or ESC/POS after ``opts.language``) or
    ``raw`` (``payload = {"data_b64": ...}``, sent as given; a cut, or ``PRINT 1`` for TSPL, is
    appended when the data does not already end with one). Every job ends with a cut (ESC/POS)
    or ``PRINT`` (TSPL). Raises :class:`RenderError` for an unknown kind, a payload that does not
    fit the kind, or a kind the printer's language cannot print.
    """
    if kind == "raw":
        return _raw(payload, opts)
    from edge.spooler.render.escpos import render_label_escpos, render_picklist, render_ticket
    from edge.spooler.render.model import PickList, ShippingLabel, Ticket
    from edge.spooler.render.tspl import render_label_tspl

    if kind == "label":
        label = ShippingLabel.from_dict(payload)
        if opts.language == "tspl":
            return render_label_tspl(label, opts)
        return render_label_escpos(label, opts)
    if kind not in KINDS:
        raise RenderError(f"unknown job kind {kind!r}: expected one of {', '.join(KINDS)}")
    if opts.language != "escpos":
        raise RenderError(
            f"a {kind} needs an ESC/POS receipt printer, not a {opts.language} label printer — "
            "check the printer's role"
        )
    if kind == "ticket":
        return render_ticket(Ticket.from_dict(payload), opts)
    return render_picklist(PickList.from_dict(payload), opts)


def _raw(payload: dict[str, Any], opts: RenderOptions) -> bytes:
    encoded = payload.get("data_b64") if isinstance(payload, dict) else None
    if not isinstance(encoded, str):
        raise RenderError("raw job: missing field 'data_b64' (base64 string)")
    try:
        data = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError) as err:
        raise RenderError(f"raw job: 'data_b64' is not valid base64: {err}") from err
    if opts.language == "tspl":
        if not data.rstrip().upper().split(b"\n")[-1].strip().startswith(b"PRINT"):
            data += b"\r\nPRINT 1\r\n"
    elif not data.endswith(_ESCPOS_CUTS) and not _ends_with_feed_cut(data):
        data += b"\x1bd\x06" + b"\x1dV\x00"
    return data


def _ends_with_feed_cut(data: bytes) -> bool:
    """True for ``GS V 65 n`` / ``GS V 66 n`` (feed then cut) at the very end."""
    return len(data) >= 4 and data[-4:-1] in (b"\x1dVA", b"\x1dVB")
