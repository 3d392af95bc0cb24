"""The pairing screen: while the station is unpaired (see :mod:`edge.pairing`), the kiosk's
``/`` shows the station id, the one-time code and its QR instead of the shop, and reloads
itself every few seconds until the sync service reports the station paired."""

from __future__ import annotations

import base64
import io
from typing import Any

from flask import Flask, current_app, render_template, request

from edge.pairing import display_code, load_state, needs_pairing, qr_payload


def qr_data_uri(payload: str) -> str:
    """The QR code of ``payload`` as an inline SVG image (the page's CSP allows data: images)."""
    import qrcode
    from qrcode.image.svg import SvgPathImage

    image = qrcode.make(payload, image_factory=SvgPathImage, box_size=12, border=2)
    out = io.BytesIO()
    image.save(out)
    return "data:image/svg+xml;base64," + base64.b64encode(out.getvalue()).decode("ascii")


def _pairing_screen() -> Any:
    if request.method != "GET" or request.path != "/":
        return None
    config = current_app.extensions["printstation"].config
    if not needs_pairing(config):
        return None
    state = load_state(config)
    if state is None or state.get("paired_at"):
        return None  # not started yet, or paired (the kiosk restarts with the new config)
    code = state["code"]
    return render_template(
        "pairing.html",
        code=display_code(code),
        qr=qr_data_uri(qr_payload(config, code)),
        hub_url=config.pairing.hub_url,
        poll_s=max(2, int(config.pairing.poll_s)),
    )


def init_app(app: Flask) -> None:
    app.before_request(_pairing_screen)
