"""Forward-only, named schema migrations of the station database.

Each migration runs once, in order, inside a transaction together with the record of it
having run (sqlite-utils ``Migrations``). Never edit a released migration: add a new one.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from typing import TYPE_CHECKING

from edge.store.db import transaction

if TYPE_CHECKING:
    from sqlite_utils import Database
    from sqlite_utils.migrations import Migrations

MIGRATION_SET = "printstation.station"
MigrationFn = Callable[["Database"], None]


class _Registry:
    """The station's migrations in order, registered as with sqlite-utils' ``Migrations``.

    sqlite-utils (which imports numpy and pandas when they are installed) is imported only
    when a migration is pending, so a service starting on an up-to-date database stays small.
    """

    def __init__(self) -> None:
        self.migrations: list[tuple[str, MigrationFn]] = []

    def __call__(self, *, name: str) -> Callable[[MigrationFn], MigrationFn]:
        def register(fn: MigrationFn) -> MigrationFn:
            if any(known == name for known, _ in self.migrations):
                raise ValueError(f"migration {name} is registered twice")
            self.migrations.append((name, fn))
            return fn

        return register


station = _Registry()


def _run(db: Database, statements: str) -> None:
    for statement in statements.split(";\n"):
        if statement.strip():
            db.execute(statement)


@station(name="0001_initial")
def initial(db: Database) -> None:
    _run(
        db,
        """
CREATE TABLE journal (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    at TEXT NOT NULL,
    data TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE TABLE kv (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE products (
    sku TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    name_en TEXT NOT NULL DEFAULT '',
    price TEXT NOT NULL,
    category TEXT NOT NULL DEFAULT '',
    bin TEXT NOT NULL DEFAULT '',
    image TEXT,
    weight_g INTEGER,
    active INTEGER NOT NULL DEFAULT 1,
    updated_at TEXT NOT NULL
);
CREATE TABLE barcodes (
    code TEXT PRIMARY KEY,
    sku TEXT NOT NULL REFERENCES products(sku) ON DELETE CASCADE
);
CREATE INDEX barcodes_sku ON barcodes(sku);
CREATE TABLE stock_movements (
    id INTEGER PRIMARY KEY,
    sku TEXT NOT NULL REFERENCES products(sku),
    qty INTEGER NOT NULL,
    reason TEXT NOT NULL,
    ref TEXT,
    at TEXT NOT NULL
);
CREATE INDEX stock_movements_sku ON stock_movements(sku);
CREATE TABLE orders (
    id TEXT PRIMARY KEY,
    number TEXT NOT NULL UNIQUE,
    station TEXT NOT NULL,
    channel TEXT NOT NULL,
    external_id TEXT,
    status TEXT NOT NULL,
    fulfilment TEXT NOT NULL DEFAULT 'delivery',
    payment TEXT NOT NULL DEFAULT 'counter',
    paid INTEGER NOT NULL DEFAULT 0,
    priority INTEGER NOT NULL DEFAULT 0,
    customer_name TEXT NOT NULL DEFAULT '',
    phone TEXT NOT NULL DEFAULT '',
    address TEXT NOT NULL DEFAULT '',
    carrier TEXT,
    service_level TEXT NOT NULL DEFAULT 'standard',
    tracking_number TEXT,
    sort_code TEXT,
    total TEXT NOT NULL DEFAULT '0.00',
    exception_reason TEXT,
    idempotency_key TEXT UNIQUE,
    batch_id TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX orders_status ON orders(status, priority, created_at);
CREATE TABLE order_lines (
    order_id TEXT NOT NULL REFERENCES orders(id) ON DELETE CASCADE,
    line_no INTEGER NOT NULL,
    sku TEXT NOT NULL,
    name TEXT NOT NULL,
    name_en TEXT NOT NULL DEFAULT '',
    qty INTEGER NOT NULL CHECK (qty > 0),
    packed_qty INTEGER NOT NULL DEFAULT 0 CHECK (packed_qty >= 0 AND packed_qty <= qty),
    unit_price TEXT NOT NULL,
    PRIMARY KEY (order_id, line_no)
);
CREATE TABLE order_timeline (
    id INTEGER PRIMARY KEY,
    order_id TEXT NOT NULL REFERENCES orders(id) ON DELETE CASCADE,
    at TEXT NOT NULL,
    status TEXT NOT NULL,
    note TEXT NOT NULL DEFAULT ''
);
CREATE INDEX order_timeline_order ON order_timeline(order_id);
CREATE TABLE scans (
    id INTEGER PRIMARY KEY,
    code TEXT NOT NULL,
    source TEXT NOT NULL,
    at TEXT NOT NULL,
    outcome TEXT NOT NULL,
    order_id TEXT,
    sku TEXT,
    message TEXT NOT NULL DEFAULT ''
);
CREATE TABLE print_jobs (
    id INTEGER PRIMARY KEY,
    printer TEXT NOT NULL,
    kind TEXT NOT NULL,
    payload TEXT NOT NULL,
    status TEXT NOT NULL,
    order_id TEXT,
    reprint_of INTEGER REFERENCES print_jobs(id),
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT,
    last_error TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    started_at TEXT,
    finished_at TEXT
);
CREATE INDEX print_jobs_queue ON print_jobs(printer, status, id);
CREATE TABLE staff (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    pin_hash TEXT NOT NULL,
    badge TEXT UNIQUE,
    role TEXT NOT NULL DEFAULT 'packer',
    active INTEGER NOT NULL DEFAULT 1
)
""",
    )


@station(name="0002_scan_event_id")
def scan_event_id(db: Database) -> None:
    """Scans carry the scanner's event id so a delivery retried after a lost answer counts once."""
    _run(
        db,
        """
ALTER TABLE scans ADD COLUMN event_id TEXT;
CREATE UNIQUE INDEX scans_event_id ON scans(event_id) WHERE event_id IS NOT NULL
""",
    )


@station(name="0003_kiosk_ordering")
def kiosk_ordering(db: Database) -> None:
    """Self-ordering: pinyin search keys, coupons, loyalty points, order totals, feedback."""
    _run(
        db,
        """
ALTER TABLE products ADD COLUMN pinyin TEXT NOT NULL DEFAULT '';
ALTER TABLE products ADD COLUMN initials TEXT NOT NULL DEFAULT '';
ALTER TABLE orders ADD COLUMN subtotal TEXT;
ALTER TABLE orders ADD COLUMN discount TEXT NOT NULL DEFAULT '0.00';
ALTER TABLE orders ADD COLUMN points_discount TEXT NOT NULL DEFAULT '0.00';
ALTER TABLE orders ADD COLUMN tax TEXT NOT NULL DEFAULT '0.00';
ALTER TABLE orders ADD COLUMN coupon TEXT;
ALTER TABLE orders ADD COLUMN member TEXT;
ALTER TABLE orders ADD COLUMN payment_ref TEXT;
CREATE TABLE coupons (
    code TEXT PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('percent', 'fixed')),
    value TEXT NOT NULL,
    min_spend TEXT NOT NULL DEFAULT '0.00',
    valid_from TEXT,
    valid_until TEXT,
    max_uses INTEGER,
    used INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE loyalty_movements (
    id INTEGER PRIMARY KEY,
    member TEXT NOT NULL,
    points INTEGER NOT NULL,
    reason TEXT NOT NULL,
    order_id TEXT,
    at TEXT NOT NULL
);
CREATE INDEX loyalty_member ON loyalty_movements(member);
CREATE TABLE feedback (
    order_id TEXT PRIMARY KEY REFERENCES orders(id),
    rating INTEGER NOT NULL CHECK (rating BETWEEN 1 AND 5),
    comment TEXT NOT NULL DEFAULT '',
    at TEXT NOT NULL
)
""",
    )
    from edge.store.catalog import search_keys

    for row in db.execute("SELECT sku, name FROM products").fetchall():
        pinyin, initials = search_keys(row[1])
        db.execute(
            "UPDATE products SET pinyin = ?, initials = ? WHERE sku = ?", [pinyin, initials, row[0]]
        )


@station(name="0004_stock_levels")
def stock_levels(db: Database) -> None:
    """A running balance per SKU, kept with every movement, so a stock check costs the same
    however long the ledger grows."""
    _run(
        db,
        """
CREATE TABLE stock_levels (
    sku TEXT PRIMARY KEY,
    qty INTEGER NOT NULL
);
INSERT INTO stock_levels (sku, qty) SELECT sku, SUM(qty) FROM stock_movements GROUP BY sku
""",
    )


@station(name="0005_waybills_returns")
def waybills_returns(db: Database) -> None:
    """Waybill number blocks granted by the hub, and customer returns."""
    _run(
        db,
        """
CREATE TABLE waybill_blocks (
    id INTEGER PRIMARY KEY,
    carrier TEXT NOT NULL,
    prefix TEXT NOT NULL,
    suffix TEXT NOT NULL,
    width INTEGER NOT NULL,
    scheme TEXT NOT NULL,
    first INTEGER NOT NULL,
    last INTEGER NOT NULL,
    next INTEGER NOT NULL,
    granted_at TEXT NOT NULL
);
CREATE INDEX waybill_blocks_carrier ON waybill_blocks(carrier, id);
CREATE TABLE returns (
    id TEXT PRIMARY KEY,
    number TEXT NOT NULL UNIQUE,
    order_id TEXT NOT NULL,
    order_number TEXT NOT NULL,
    status TEXT NOT NULL,
    lines TEXT NOT NULL,
    reason TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
)
""",
    )


def _applied(conn: sqlite3.Connection) -> set[str]:
    try:
        rows = conn.execute(
            "SELECT name FROM _sqlite_migrations WHERE migration_set = ?", (MIGRATION_SET,)
        ).fetchall()
    except sqlite3.OperationalError:  # no table yet: a new database
        return set()
    return {row[0] for row in rows}


def as_sqlite_utils() -> Migrations:
    """The registered migrations as a sqlite-utils ``Migrations`` set."""
    from sqlite_utils.migrations import Migrations

    migrations = Migrations(MIGRATION_SET)
    for name, fn in station.migrations:
        migrations(name=name)(fn)
    return migrations


def migrate(conn: sqlite3.Connection) -> list[str]:
    """Apply pending migrations; returns the names applied."""
    if not [name for name, _ in station.migrations if name not in _applied(conn)]:
        return []
    from sqlite_utils import Database

    migrations = as_sqlite_utils()
    db = Database(conn)
    # One IMMEDIATE transaction: services starting side by side migrate one after another.
    with transaction(conn):
        pending = [m.name for m in migrations.pending(db)]
        migrations.apply(db)
    return pending
