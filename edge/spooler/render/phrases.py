"""Fixed wording printed on customer tickets, in each ticket language."""

from __future__ import annotations

PHRASES: dict[str, dict[str, str]] = {
    "zh-CN": {
        "order_number": "取单号",
        "item": "商品",
        "amount": "金额",
        "subtotal": "小计",
        "discount": "优惠",
        "tax": "税费",
        "total": "合计",
        "payment": "支付方式",
        "counter": "柜台付款",
        "card": "刷卡支付",
        "paid": "已支付",
        "unpaid": "未支付",
        "scan_status": "扫码查看订单状态",
        "order_id": "订单编号",
    },
    "en": {
        "order_number": "Order number",
        "item": "Item",
        "amount": "Amount",
        "subtotal": "Subtotal",
        "discount": "Discount",
        "tax": "Tax",
        "total": "Total",
        "payment": "Payment",
        "counter": "Pay at counter",
        "card": "Card",
        "paid": "PAID",
        "unpaid": "NOT PAID",
        "scan_status": "Scan to follow your order",
        "order_id": "Order ID",
    },
}


def phrases(language: str) -> dict[str, str]:
    """The wording for ``language`` (Simplified Chinese when unknown)."""
    return PHRASES.get(language, PHRASES["zh-CN"])
