"""A sample store: catalog in Chinese and English, stock, staff and channel orders to pack.

Used by ``printstation demo`` and by the tests; the barcodes are valid EAN-13 numbers.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from edge.store import catalog, coupons, loyalty, orders, staff, stock

DEMO_PIN = "1234"
DEMO_BADGE = "BADGE-0001"

#: (sku, 中文名, English name, price, category, bin)
PRODUCTS: list[tuple[str, str, str, str, str, str]] = [
    ("DRK-001", "可口可乐 330ml", "Coca-Cola 330ml", "3.50", "饮料 Drinks", "A-01-1"),
    ("DRK-002", "农夫山泉 550ml", "Nongfu Spring water 550ml", "2.00", "饮料 Drinks", "A-01-2"),
    ("DRK-003", "康师傅冰红茶", "Master Kong iced black tea", "3.00", "饮料 Drinks", "A-02-1"),
    ("DRK-004", "维他奶 豆奶", "Vitasoy soy milk", "4.50", "饮料 Drinks", "A-10-3"),
    ("SNK-001", "乐事薯片 原味", "Lay's classic chips", "7.90", "零食 Snacks", "B-01-1"),
    ("SNK-002", "奥利奥饼干", "Oreo cookies", "9.90", "零食 Snacks", "B-01-3"),
    ("SNK-003", "旺旺雪饼", "Want Want rice crackers", "12.50", "零食 Snacks", "B-03-2"),
    ("SNK-004", "德芙巧克力", "Dove chocolate", "15.80", "零食 Snacks", "B-12-1"),
    ("HOU-001", "维达抽纸 3包", "Vinda tissues, 3 packs", "16.90", "日用品 Household", "C-02-1"),
    (
        "HOU-002",
        "蓝月亮洗衣液 1kg",
        "Blue Moon laundry liquid 1kg",
        "29.90",
        "日用品 Household",
        "C-04-2",
    ),
    ("HOU-003", "高露洁牙膏", "Colgate toothpaste", "11.50", "日用品 Household", "C-05-1"),
    ("STA-001", "晨光中性笔 0.5mm", "M&G gel pen 0.5mm", "2.50", "文具 Stationery", "D-01-1"),
    ("STA-002", "得力笔记本 A5", "Deli notebook A5", "6.80", "文具 Stationery", "D-01-4"),
    ("STA-003", "透明胶带", "Clear adhesive tape", "3.20", "文具 Stationery", "D-02-2"),
]

CUSTOMERS = [
    ("张伟", "13800138000", "广东省深圳市南山区科技园路1号", "SF", "SF-GD-SZ"),
    ("李娜", "13912345678", "上海市浦东新区世纪大道100号", "ZTO", "ZTO-SH-PD"),
    ("王芳", "13700001111", "北京市朝阳区建国路88号", "SF", "SF-BJ-CY"),
    ("Chen Jie", "13611112222", "广东省广州市天河区天河路385号", "YTO", "YTO-GD-GZ"),
    ("刘洋", "13522223333", "浙江省杭州市西湖区文三路90号", "ZTO", "ZTO-ZJ-HZ"),
    ("赵敏", "13333334444", "四川省成都市武侯区人民南路四段1号", "SF", "SF-SC-CD"),
]


COUPONS = [
    {
        "code": "WELCOME10",
        "kind": "percent",
        "value": "10",
        "min_spend": "20.00",
        "valid_from": "2026-01-01",
        "valid_until": "2099-12-31",
    },
    {"code": "MINUS5", "kind": "fixed", "value": "5.00", "min_spend": "30.00"},
    {"code": "EXPIRED", "kind": "percent", "value": "50", "valid_until": "2025-12-31"},
]
MEMBER_PHONE = "13800138000"
MEMBER_POINTS = 500


def ean13(body12: str) -> str:
    """Append the EAN-13 check digit to 12 digits."""
    digits = [int(c) for c in body12]
    total = sum(d * (3 if i % 2 else 1) for i, d in enumerate(digits))
    return body12 + str((10 - total % 10) % 10)


def products() -> list[dict[str, Any]]:
    return [
        {
            "sku": sku,
            "name": name,
            "name_en": name_en,
            "price": price,
            "category": category,
            "bin": bin_,
            "barcodes": [ean13(f"690{i:09d}"), sku],
        }
        for i, (sku, name, name_en, price, category, bin_) in enumerate(PRODUCTS, start=1)
    ]


def seed(
    conn: sqlite3.Connection,
    station: str,
    *,
    stock_each: int = 50,
    order_count: int = 6,
    seed_no: int = 0,
) -> list[dict[str, Any]]:
    """Fill an empty station: catalog, stock, staff, and channel orders ready to pack."""
    items = products()
    catalog.upsert(conn, items)
    for item in items if stock_each else []:
        stock.move(conn, item["sku"], stock_each, "receipt", "opening stock")
    if staff.count(conn) == 0:
        staff.add(conn, "demo", DEMO_PIN, role="manager", badge=DEMO_BADGE)
    coupons.upsert(conn, COUPONS)
    if not loyalty.is_member(conn, MEMBER_PHONE):
        loyalty.move(conn, MEMBER_PHONE, MEMBER_POINTS, "welcome")
    made = []
    for n in range(order_count):
        name, phone, address, carrier, sort_code = CUSTOMERS[(n + seed_no) % len(CUSTOMERS)]
        picks = [items[(n * 3 + k * 5 + seed_no) % len(items)] for k in range(1 + n % 3)]
        lines = [
            {
                "sku": p["sku"],
                "name": p["name"],
                "name_en": p["name_en"],
                "qty": 1 + (n + k) % 2,
                "unit_price": p["price"],
            }
            for k, p in enumerate(picks)
        ]
        tracking = f"{carrier}{(seed_no + 1) * 10_000_000 + n:012d}"
        made.append(
            orders.create(
                conn,
                station=station,
                channel="web" if n % 2 else "tmall",
                lines=lines,
                external_id=f"EXT-{seed_no}-{n:04d}",
                customer_name=name,
                phone=phone,
                address=address,
                carrier=carrier,
                tracking_number=tracking,
                sort_code=sort_code,
                service_level="next_day" if n == 0 else "standard",
                priority=1 if n == 0 else 0,
            )
        )
    return made
