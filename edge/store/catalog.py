"""Products: names in Chinese and English, several barcodes each, a bin location for picking."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from edge.protocol import compact_key, search_keys, utc_now
from edge.store.db import Conflict


def _price(value: Any) -> str:
    try:
        price = Decimal(str(value)).quantize(Decimal("0.01"))
    except InvalidOperation as err:
        raise Conflict(f"price {value!r} is not a decimal number") from err
    if price < 0:
        raise Conflict(f"price {value!r} is negative")
    return str(price)


def upsert(conn: sqlite3.Connection, products: Iterable[Mapping[str, Any]]) -> int:
    """Insert or replace products and their barcodes; returns how many were written."""
    now, count = utc_now(), 0
    for p in products:
        sku = str(p["sku"])
        conn.execute(
            "INSERT INTO products (sku, name, name_en, price, category, bin, image, weight_g, "
            "active, updated_at, pinyin, initials) VALUES (?,?,?,?,?,?,?,?,?,?,?,?) "
            "ON CONFLICT(sku) DO UPDATE SET "
            "name=excluded.name, name_en=excluded.name_en, price=excluded.price, "
            "category=excluded.category, bin=excluded.bin, image=excluded.image, "
            "weight_g=excluded.weight_g, active=excluded.active, updated_at=excluded.updated_at, "
            "pinyin=excluded.pinyin, initials=excluded.initials",
            (
                sku,
                p["name"],
                p.get("name_en", ""),
                _price(p["price"]),
                p.get("category", ""),
                p.get("bin", ""),
                p.get("image"),
                p.get("weight_g"),
                1 if p.get("active", True) else 0,
                now,
                *_keys(p),
            ),
        )
        conn.execute("DELETE FROM barcodes WHERE sku = ?", (sku,))
        for code in p.get("barcodes", []):
            conn.execute(
                "INSERT INTO barcodes (code, sku) VALUES (?, ?) "
                "ON CONFLICT(code) DO UPDATE SET sku = excluded.sku",
                (str(code), sku),
            )
        count += 1
    return count


def _keys(product: Mapping[str, Any]) -> tuple[str, str]:
    """The product's pinyin search keys: as the hub sent them, or computed here."""
    sent = product.get("pinyin"), product.get("initials")
    if all(isinstance(k, str) and len(k) <= 1000 for k in sent):
        return compact_key(str(sent[0])), compact_key(str(sent[1]))
    return search_keys(str(product["name"]))


def _with_barcodes(conn: sqlite3.Connection, rows: list[sqlite3.Row]) -> list[dict[str, Any]]:
    if not rows:
        return []
    skus = [r["sku"] for r in rows]
    marks = ",".join("?" * len(skus))
    codes: dict[str, list[str]] = {}
    for b in conn.execute(
        f"SELECT code, sku FROM barcodes WHERE sku IN ({marks}) ORDER BY code",  # noqa: S608
        skus,
    ):
        codes.setdefault(b["sku"], []).append(b["code"])
    return [
        {
            "sku": r["sku"],
            "name": r["name"],
            "name_en": r["name_en"],
            "barcodes": codes.get(r["sku"], []),
            "price": r["price"],
            "category": r["category"],
            "bin": r["bin"],
            "image": r["image"],
            "weight_g": r["weight_g"],
        }
        for r in rows
    ]


def get(conn: sqlite3.Connection, sku: str) -> dict[str, Any] | None:
    rows = conn.execute("SELECT * FROM products WHERE sku = ?", (sku,)).fetchall()
    found = _with_barcodes(conn, rows)
    return found[0] if found else None


def gtin_forms(code: str) -> list[str]:
    """The same GTIN written as GTIN-14/13/12: scanners and catalogs disagree on leading zeros."""
    forms = [code]
    if code.isdigit():
        stripped = code.lstrip("0")
        for width in (8, 12, 13, 14):
            if len(stripped) <= width:
                forms.append(stripped.zfill(width))
    return list(dict.fromkeys(forms))


def find_by_code(conn: sqlite3.Connection, code: str) -> dict[str, Any] | None:
    """The product whose barcode (in any GTIN form) or SKU is ``code``."""
    forms = gtin_forms(code)
    marks = ",".join("?" * len(forms))
    row = conn.execute(
        f"SELECT sku FROM barcodes WHERE code IN ({marks}) LIMIT 1",  # noqa: S608
        forms,
    ).fetchone()
    sku = row["sku"] if row else code
    product = get(conn, sku)
    return product if product else None


def _like(text: str) -> str:
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


_SELLABLE = (
    "SELECT p.*, COALESCE(l.qty, 0) AS sellable FROM products p "
    "LEFT JOIN stock_levels l ON l.sku = p.sku"
)


def search(
    conn: sqlite3.Connection, query: str = "", limit: int = 50, category: str | None = None
) -> list[dict[str, Any]]:
    """Active products matching ``query`` in SKU, barcode, Chinese or English name, full
    pinyin or pinyin initials (``kl`` finds 可乐), best matches first, with what is sellable."""
    clauses, args = ["p.active = 1"], []
    if category:
        clauses.append("p.category = ?")
        args.append(category)
    order = "p.category, p.sku"
    query = query.strip()
    if query:
        keys = compact_key(query) or query.lower()
        like, key_like = _like(query), _like(keys)
        clauses.append(
            "(p.sku LIKE ? ESCAPE '\\' OR p.name LIKE ? ESCAPE '\\' "
            "OR lower(p.name_en) LIKE lower(?) ESCAPE '\\' "
            "OR p.pinyin LIKE ? ESCAPE '\\' OR p.initials LIKE ? ESCAPE '\\' "
            "OR p.sku IN (SELECT sku FROM barcodes WHERE code = ?))"
        )
        args += [like, like, like, key_like, key_like, query]
        order = (
            "CASE WHEN p.sku = ? OR p.initials LIKE ? OR p.pinyin LIKE ? THEN 0 ELSE 1 END, "
            "CASE WHEN instr(p.initials, ?) > 0 THEN instr(p.initials, ?) ELSE 999 END, " + order
        )
        args += [query, keys + "%", keys + "%", keys, keys]
    rows = conn.execute(
        f"{_SELLABLE} WHERE {' AND '.join(clauses)} ORDER BY {order} LIMIT ?",
        (*args, limit),
    ).fetchall()
    found = _with_barcodes(conn, rows)
    for product, row in zip(found, rows, strict=True):
        product["sellable"] = int(row["sellable"])
    return found


def priced(conn: sqlite3.Connection, skus: list[str]) -> dict[str, dict[str, Any]]:
    """Name, price, category and sellable quantity of ``skus`` in one query (for carts)."""
    marks = ",".join("?" * len(skus))
    rows = conn.execute(
        f"{_SELLABLE} WHERE p.sku IN ({marks})",
        skus,
    ).fetchall()
    return {r["sku"]: {**dict(r), "sellable": int(r["sellable"])} for r in rows}


def categories(conn: sqlite3.Connection) -> list[dict[str, Any]]:
    return [
        {"name": r["category"], "count": r["n"]}
        for r in conn.execute(
            "SELECT category, COUNT(*) AS n FROM products WHERE active = 1 AND category != '' "
            "GROUP BY category ORDER BY category"
        )
    ]
