"""Sample payloads of every job kind, for test prints, previews and tests.

Each function returns the JSON dict a job stores; keyword arguments override top-level fields.
"""

from __future__ import annotations

from typing import Any


def sample_ticket(**overrides: Any) -> dict[str, Any]:
    ticket: dict[str, Any] = {
        "store_name": "星光便利店 科技园店",
        "order_number": "A1024",
        "order_id": "01HZX5T9Q2V8K3M7N4P6R0S1T2",
        "created_at": "2024-05-01T12:30:05+08:00",
        "lines": [
            {
                "sku": "690123456789",
                "name": "可口可乐 330ml",
                "name_en": "Coca-Cola 330ml",
                "qty": 2,
                "unit_price": "3.50",
                "total": "7.00",
            },
            {
                "sku": "690987654321",
                "name": "康师傅红烧牛肉面（桶装）",
                "name_en": "Master Kong Beef Noodles (cup)",
                "qty": 1,
                "unit_price": "5.50",
                "total": "5.50",
            },
        ],
        "subtotal": "12.50",
        "discount": "1.00",
        "tax": "0.00",
        "total": "11.50",
        "currency": "¥",
        "payment": "counter",
        "paid": False,
        "instructions": "请凭此单到柜台付款，叫号后取货。",
        "status_url": "https://track.example.com/o/01HZX5T9Q2V8K3M7N4P6R0S1T2",
        "language": "zh-CN",
    }
    ticket.update(overrides)
    return ticket


def sample_picklist(**overrides: Any) -> dict[str, Any]:
    picklist: dict[str, Any] = {
        "batch_id": "B-20240501-07",
        "created_at": "2024-05-01T09:15:00+08:00",
        "station": "st-01",
        "orders": [
            {"number": "1001", "id": "ord-1001"},
            {"number": "1002", "id": "ord-1002"},
            {"number": "1010", "id": "ord-1010"},
        ],
        "lines": [
            {
                "bin": "A-10-1",
                "sku": "SKU-3",
                "name": "洗衣液 2L",
                "qty": 1,
                "order_number": "1002",
            },
            {"bin": "A-2-3", "sku": "SKU-1", "name": "纸巾 10包", "qty": 2, "order_number": "1001"},
            {"bin": "A-2-3", "sku": "SKU-1", "name": "纸巾 10包", "qty": 1, "order_number": "1010"},
            {
                "bin": "B-01-1",
                "sku": "SKU-7",
                "name": "矿泉水 550ml",
                "qty": 6,
                "order_number": "1001",
            },
            {"bin": "A-03-2", "sku": "SKU-2", "name": "牙膏", "qty": 1, "order_number": "1010"},
        ],
    }
    picklist.update(overrides)
    return picklist


def sample_label(**overrides: Any) -> dict[str, Any]:
    label: dict[str, Any] = {
        "order_number": "1001",
        "carrier": {"name": "顺丰速运", "code": "SF"},
        "service_level": "标准快递",
        "tracking_number": "SF1234567890123",
        "sort_code": "SF-GD-SZ",
        "sender": {
            "name": "星光便利店",
            "phone": "0755-12345678",
            "address": "广东省深圳市南山区科技园路1号",
        },
        "recipient": {
            "name": "张三",
            "phone": "13800138000",
            "address": "广东省深圳市福田区华强北路100号华强广场A座1201室",
        },
        "weight_kg": "1.25",
        "items": "纸巾 10包 ×2，矿泉水 550ml ×6",
        "created_at": "2024-05-01T10:00:00+08:00",
    }
    label.update(overrides)
    return label
