"""``/track``: the public order tracking page, no login.

A customer types an order number (or opens the link in the ticket's QR code) and sees the
order's steps with their times and the name on the order, masked. Nothing else about the
order (address, phone, lines, notes) is shown. The page is cheap (one indexed lookup),
cacheable for a few seconds and marked ``noindex``, so a front proxy can rate-limit and
cache it.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, redirect, render_template, request, url_for

from cloud.db import read_only
from cloud.orders import by_number
from cloud.web.common import hub

bp = Blueprint("track", __name__, template_folder="templates")

STEPS = ("received", "checked", "allocated", "packing", "packed", "shipped")
SHOWN = (*STEPS, "exception", "cancelled")
MAX_NUMBER = 64

TEXT = {
    "en": {
        "title": "Track your order",
        "prompt": "Order number",
        "go": "Track",
        "not_found": "No order with this number.",
        "for": "Order for",
        "received": "Received",
        "checked": "Checked",
        "allocated": "Assigned to a station",
        "packing": "Packing",
        "packed": "Packed",
        "shipped": "Shipped",
        "exception": "On hold for review",
        "cancelled": "Cancelled",
        "pending": "not yet",
        "other": "中文",
    },
    "zh": {
        "title": "订单查询",
        "prompt": "订单号",
        "go": "查询",
        "not_found": "找不到该订单号。",
        "for": "收件人",
        "received": "已接单",
        "checked": "已审核",
        "allocated": "已分配门店",
        "packing": "打包中",
        "packed": "已打包",
        "shipped": "已发货",
        "exception": "人工审核中",
        "cancelled": "已取消",
        "pending": "未到",
        "other": "English",
    },
}


def mask_name(name: str) -> str:
    """The first character and stars: 张三丰 → 张**, Jane Doe → J*******."""
    name = name.strip()
    return name[:1] + "*" * min(max(len(name) - 1, 1), 8) if name else ""


def _lang() -> str:
    asked = request.args.get("lang")
    if asked in TEXT:
        return asked
    best = request.accept_languages.best_match(["zh", "zh-CN", "en"], default="zh")
    return "zh" if best.startswith("zh") else "en"


def public_view(order: dict[str, Any]) -> dict[str, Any]:
    """What the page may show: number, status, masked name, and each step's first time."""
    reached: dict[str, str] = {}
    events = []
    for entry in order.get("timeline", []):
        status = entry.get("status")
        if status in SHOWN:
            reached.setdefault(status, entry["at"])
            if status not in STEPS:
                events.append({"status": status, "at": entry["at"]})
    name = (order.get("customer") or {}).get("name") or order.get("customer_name") or ""
    return {
        "number": order["number"],
        "status": order["status"],
        "name": mask_name(str(name)),
        "steps": [{"status": s, "at": reached.get(s)} for s in STEPS],
        "events": events,
    }


@bp.get("/track")
def form() -> Any:
    number = request.args.get("number", "").strip()
    if number:
        return redirect(
            url_for("track.order", number=number[:MAX_NUMBER], lang=request.args.get("lang"))
        )
    return _page(None, 200)


@bp.get("/track/<number>")
def order(number: str) -> Any:
    view = None
    if len(number) <= MAX_NUMBER:
        _, engine = hub()
        with read_only(engine) as conn:
            found = by_number(conn, number.strip().upper())
        view = public_view(found) if found else None
    return _page(view, 200 if view else 404, number=number[:MAX_NUMBER])


def _page(view: dict[str, Any] | None, status: int, number: str = "") -> Response:
    lang = _lang()
    html = render_template(
        "track/page.html",
        t=TEXT[lang],
        lang=lang,
        other="en" if lang == "zh" else "zh",
        view=view,
        number=number,
        searched=bool(number),
    )
    response = Response(html, status=status, mimetype="text/html")
    response.headers["Cache-Control"] = "public, max-age=15"
    response.headers["X-Robots-Tag"] = "noindex"
    response.headers["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response
