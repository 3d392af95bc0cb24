"""The tenant's catalog and prices, owned by the hub and pushed to every station ``dn``.

Products are upserted by SKU and sent as ``catalog.upsert`` events (``{"products": [...]}``)
chunked so that each event stays well under the 64 KiB a station takes in one message.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import Connection, select
from sqlalchemy.dialects import postgresql, sqlite

from cloud.errors import InvalidInput
from cloud.outbox import enqueue_dn
from cloud.schema import products, stations
from cloud.text import is_token
from edge.protocol import CATALOG_UPSERT, canonical_json, printable, search_keys, utc_now

log = logging.getLogger(__name__)

CHUNK_BYTES = 32 * 1024
MAX_PRODUCT_BYTES = 48 * 1024


def _text(product: Mapping[str, Any], key: str, *, required: bool = False) -> str:
    value = product.get(key, "")
    if not isinstance(value, str) or "\x00" in value or (required and not value.strip()):
        raise InvalidInput(
            f"product {printable(str(product.get('sku', '?')))}: '{key}' must be "
            f"{'a non-empty' if required else 'a'} string"
        )
    return value


def normalize(product: Mapping[str, Any]) -> dict[str, Any]:
    """A product as stations get it: the fields of the contract checked, price as
    ``"12.50"``, other fields kept as sent."""
    if not isinstance(product, Mapping):
        raise InvalidInput("each product must be a JSON object")
    sku = _text(product, "sku", required=True)
    if not is_token(sku):
        raise InvalidInput(f"product sku {printable(sku)} must be printable, at most 200 long")
    try:
        price = Decimal(str(product.get("price"))).quantize(Decimal("0.01"))
    except InvalidOperation as err:
        raise InvalidInput(f"product {printable(sku)}: price must be a decimal string") from err
    if not price.is_finite() or price < 0:
        raise InvalidInput(f"product {printable(sku)}: price must be zero or more")
    barcodes = product.get("barcodes", [])
    if not isinstance(barcodes, list) or not all(is_token(b) for b in barcodes):
        raise InvalidInput(f"product {printable(sku)}: 'barcodes' must be a list of strings")
    out = {
        **product,
        "sku": sku,
        "name": _text(product, "name", required=True),
        "name_en": _text(product, "name_en"),
        "price": str(price),
        "category": _text(product, "category"),
        "bin": _text(product, "bin"),
        "barcodes": barcodes,
    }
    out["pinyin"], out["initials"] = search_keys(out["name"])
    if len(canonical_json(out).encode()) > MAX_PRODUCT_BYTES:
        raise InvalidInput(f"product {printable(sku)} is larger than {MAX_PRODUCT_BYTES} bytes")
    return out


def chunks(items: list[dict[str, Any]], limit: int = CHUNK_BYTES) -> Iterator[list[dict[str, Any]]]:
    """Split products into lists whose JSON stays under ``limit`` bytes."""
    chunk: list[dict[str, Any]] = []
    size = 0
    for item in items:
        item_size = len(canonical_json(item).encode()) + 1
        if chunk and size + item_size > limit:
            yield chunk
            chunk, size = [], 0
        chunk.append(item)
        size += item_size
    if chunk:
        yield chunk


def _upsert(conn: Connection, tenant: str, items: list[dict[str, Any]]) -> None:
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    now = utc_now()
    rows = [
        {
            "tenant": tenant,
            "sku": p["sku"],
            "name": p["name"],
            "name_en": p["name_en"],
            "price": p["price"],
            "category": p["category"],
            "barcodes": p["barcodes"],
            "bin": p["bin"],
            "data": p,
            "updated_at": now,
        }
        for p in items
    ]
    stmt = dialect.insert(products)
    stmt = stmt.on_conflict_do_update(
        index_elements=[products.c.tenant, products.c.sku],
        set_={
            c: stmt.excluded[c]
            for c in (
                "name",
                "name_en",
                "price",
                "category",
                "barcodes",
                "bin",
                "data",
                "updated_at",
            )
        },
    )
    conn.execute(stmt, rows)


def _station_ids(conn: Connection, tenant: str) -> list[str]:
    return list(
        conn.execute(
            select(stations.c.id).where(stations.c.tenant == tenant).order_by(stations.c.id)
        ).scalars()
    )


def _send(conn: Connection, station_ids: list[str], items: list[dict[str, Any]]) -> int:
    sent = 0
    for station in station_ids:  # sorted: dn streams are always locked in id order
        for chunk in chunks(items):
            enqueue_dn(conn, station, CATALOG_UPSERT, {"products": chunk})
            sent += 1
    return sent


def put_catalog(
    conn: Connection, tenant: str, items: Iterable[Mapping[str, Any]]
) -> dict[str, Any]:
    """Upsert products and send them to every station of the tenant.

    Returns ``{"products": n, "stations": [...], "events": k}``."""
    normalized = {p["sku"]: p for p in (normalize(i) for i in items)}
    batch = [normalized[s] for s in sorted(normalized)]
    if not batch:
        raise InvalidInput("the catalog update holds no products")
    _upsert(conn, tenant, batch)
    targets = _station_ids(conn, tenant)
    events = _send(conn, targets, batch)
    log.info(
        "catalog of %s: %d product(s) to %d station(s) in %d event(s)",
        tenant,
        len(batch),
        len(targets),
        events,
    )
    return {"products": len(batch), "stations": targets, "events": events}


def get_catalog(conn: Connection, tenant: str) -> list[dict[str, Any]]:
    """Every product of the tenant, as stations get them, by SKU."""
    rows = conn.execute(
        select(products.c.data).where(products.c.tenant == tenant).order_by(products.c.sku)
    ).scalars()
    return list(rows)


def push_catalog(conn: Connection, station: str, tenant: str) -> int:
    """Queue the tenant's whole catalog for one station (a new station, or a resync);
    returns how many events."""
    items = get_catalog(conn, tenant)
    return _send(conn, [station], items) if items else 0
