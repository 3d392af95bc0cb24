"""ESC/POS layouts for receipt printers: order tickets, pick lists and roll shipping labels.

Each function turns a model into the complete bytes of one job (initialise … cut). Layouts adapt
to the line width in ``RenderOptions.width_dots`` (384 dots = 32 columns on 58 mm paper, 576 dots
= 48 columns on 80 mm paper).
"""

from __future__ import annotations

from decimal import Decimal

from edge.spooler.render import text as textmod
from edge.spooler.render.model import PickList, ShippingLabel, Ticket
from edge.spooler.render.options import RenderOptions
from edge.spooler.render.page import EscposPage
from edge.spooler.render.phrases import phrases
from edge.spooler.render.pickpath import order_key, pick_path


def fit_size(text: str, columns: int, largest: int) -> int:
    """Largest character magnification (1–``largest``) at which ``text`` fits on one line."""
    cells = max(textmod.width(text), 1)
    for size in range(largest, 1, -1):
        if cells * size <= columns:
            return size
    return 1


def _nonzero(amount: str) -> bool:
    return Decimal(amount) != 0


def render_ticket(ticket: Ticket, opts: RenderOptions) -> bytes:
    """A customer ticket: store, big order number, lines, totals, payment, barcode and QR."""
    words = phrases(ticket.language)
    page = EscposPage(opts)
    cols = page.columns
    page.line(
        ticket.store_name, align="center", size=fit_size(ticket.store_name, cols, 2), bold=True
    )
    page.line(textmod.timestamp(ticket.created_at), align="center")
    page.line()
    page.line(words["order_number"], align="center")
    page.line(
        ticket.order_number,
        align="center",
        size=fit_size(ticket.order_number, cols, 4),
        bold=True,
    )
    page.line()
    page.rule()
    page.pair(words["item"], words["amount"], bold=True)
    for line in ticket.lines:
        name = line.name if ticket.language == "zh-CN" else (line.name_en or line.name)
        page.wrapped(name)
        page.pair(
            f"  {line.qty} x {textmod.money(ticket.currency, line.unit_price)}",
            textmod.money(ticket.currency, line.total),
        )
    page.rule()
    page.pair(words["subtotal"], textmod.money(ticket.currency, ticket.subtotal))
    if _nonzero(ticket.discount):
        page.pair(words["discount"], textmod.money(ticket.currency, ticket.discount, negative=True))
    if _nonzero(ticket.tax):
        page.pair(words["tax"], textmod.money(ticket.currency, ticket.tax))
    page.pair(words["total"], textmod.money(ticket.currency, ticket.total), size=2, bold=True)
    page.rule()
    page.pair(
        f"{words['payment']}: {words[ticket.payment]}",
        words["paid"] if ticket.paid else words["unpaid"],
        bold=True,
    )
    if ticket.instructions.strip():
        page.line()
        page.wrapped(ticket.instructions)
    page.line()
    page.code128(ticket.order_number, height=80, module=3, required=False)
    if ticket.status_url.strip():
        page.line()
        page.qr_code(ticket.status_url, size=6 if opts.width_dots >= 512 else 4)
        page.line(words["scan_status"], align="center")
    if ticket.order_id:
        caption = f"{words['order_id']}: {ticket.order_id}"
        if textmod.width(caption) <= cols:
            page.line(caption, align="center")
        else:
            page.line(words["order_id"], align="center")
            page.wrapped(ticket.order_id)
    return page.finish()


def render_picklist(picklist: PickList, opts: RenderOptions) -> bytes:
    """A pick list: bins in pick-path order, per-SKU totals with per-order split, order barcodes."""
    page = EscposPage(opts)
    stops = pick_path(picklist.lines)
    units = sum(item.qty for stop in stops for item in stop.items)
    numbers = [order.number for order in picklist.orders]
    numbers += sorted({line.order_number for line in picklist.lines} - set(numbers), key=order_key)
    page.line("拣货单 PICK LIST", align="center", size=2, bold=True)
    page.pair("批次 Batch", picklist.batch_id)
    if picklist.station:
        page.pair("工作站 Station", picklist.station)
    page.pair("时间 Time", textmod.timestamp(picklist.created_at))
    page.pair("订单 Orders", str(len(numbers)))
    page.pair("件数 Units", str(units))
    page.rule("=")
    for stop in stops:
        page.line(stop.bin or "无库位 NO BIN", size=2, bold=True)
        for item in stop.items:
            page.pair(f"[ ] {item.sku}", f"x {item.qty}", bold=True)
            if item.name:
                page.wrapped(item.name, indent=4)
            split = "  ".join(f"#{number} x{qty}" for number, qty in item.orders)
            page.wrapped(split, indent=4)
        page.rule()
    page.line("订单条码 ORDERS", align="center", bold=True)
    for number in numbers:
        page.line()
        page.code128(number, height=60, module=2, required=False)
    return page.finish()


def render_label_escpos(label: ShippingLabel, opts: RenderOptions) -> bytes:
    """A shipping label on a receipt roll: carrier, big sort code, tracking barcode, addresses."""
    page = EscposPage(opts)
    cols = page.columns
    page.line(
        label.carrier.name, align="center", size=fit_size(label.carrier.name, cols, 2), bold=True
    )
    if label.service_level:
        page.line(label.service_level, align="center")
    page.rule("=")
    if label.sort_code:
        page.line(
            label.sort_code, align="center", size=fit_size(label.sort_code, cols, 4), bold=True
        )
        page.rule("=")
    page.code128(label.tracking_number, height=120, module=3)
    page.rule()
    page.line("收件人 TO", bold=True)
    page.line(f"{label.recipient.name}  {label.recipient.phone}".strip(), size=2, bold=True)
    page.wrapped(label.recipient.address, size=2)
    page.rule()
    page.line("寄件人 FROM", bold=True)
    page.line(f"{label.sender.name}  {label.sender.phone}".strip())
    page.wrapped(label.sender.address)
    page.rule()
    page.pair("订单 Order", label.order_number)
    if label.weight_kg is not None:
        page.pair("重量 Weight", f"{label.weight_kg} kg")
    if label.items:
        page.wrapped(f"物品 Items: {label.items}")
    page.pair("时间 Time", textmod.timestamp(label.created_at))
    return page.finish()
