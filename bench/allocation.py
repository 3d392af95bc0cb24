"""Benchmark: allocation throughput (orders/s) on PostgreSQL.

Set-up, in a fresh PostgreSQL schema: STATIONS stations (5 per store) in stores spread over
ten provinces, all online with telemetry; 20 SKUs with plenty of stock in every store; the
two-carrier table of the tests; CHECKED orders waiting as ``checked`` (random province,
one to three lines, one in ten next-day). Then :func:`cloud.allocation.allocate_pending`
runs in transactions of BATCH orders (as the dispatcher's sweep does) until every order is
allocated. Each allocation filters and scores every station, locks the stock items, grants
the units, writes the decision and the timeline entry, tops up the waybill pool and queues
the ``order.assigned`` event.

Baseline, same run, its own fresh schema with the same orders: a bare
``UPDATE orders SET station = …, status = 'allocated' WHERE id = …`` per order (stations
round-robin), in transactions of the same size.

Figures are printed, not asserted.

Usage: python bench/allocation.py [--stations 50] [--orders 10000] [--batch 500]
       (PostgreSQL from PRINTSTATION_BENCH_PG, default postgresql://postgres@127.0.0.1:5432/test)
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
import uuid
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import psycopg  # noqa: E402
from sqlalchemy import Engine, select, update  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from bench.results import Results, add_json_option  # noqa: E402
from cloud import allocation, carriers, catalog, db, registry, stock  # noqa: E402
from cloud.config import HubConfig  # noqa: E402
from cloud.schema import orders, stations  # noqa: E402
from edge.protocol import utc_now  # noqa: E402
from tests.allocation.helpers import CARRIERS  # noqa: E402

TENANT = "bench"
PROVINCES = ["广东", "上海", "北京", "浙江", "江苏", "四川", "湖北", "山东", "福建", "河南"]
SKUS = [f"SKU-{n:03d}" for n in range(20)]


def fresh_schema(admin: str) -> tuple[str, str]:
    schema = f"bench_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    url = make_url(db.database_url(admin)).update_query_dict({"options": f"-csearch_path={schema}"})
    return schema, url.render_as_string(hide_password=False)


def drop_schema(admin: str, schema: str) -> None:
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA {schema} CASCADE")


def orders_to_make(count: int, seed: int = 7) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    made = []
    for n in range(count):
        province = rng.choice(PROVINCES)
        lines = [
            {"sku": sku, "qty": rng.randint(1, 2)} for sku in rng.sample(SKUS, rng.randint(1, 3))
        ]
        made.append(
            {
                "id": uuid.UUID(int=rng.getrandbits(128)).hex,
                "number": f"HB{n:010d}",
                "channel": "web",
                "status": "checked",
                "total": "10.00",
                "address": f"{province}某市某区某路{n}号",
                "address_parts": {"province": province, "city": "", "district": ""},
                "service_level": "next_day" if n % 10 == 0 else "standard",
                "customer": {"name": "顾客", "phone": "13800000000"},
                "payment_status": "paid",
                "lines": lines,
            }
        )
    return made


def setup(engine: Engine, station_count: int, made: list[dict[str, Any]], full: bool) -> None:
    db.migrate(engine)
    stores = max(station_count // 5, 1)
    now = utc_now()
    with db.transaction(engine) as conn:
        for s in range(station_count):
            store = f"store-{s % stores:02d}"
            registry.on_presence(
                conn, TENANT, f"st-{s:03d}", {"online": True, "session": 1, "store": store}
            )
            registry.on_telemetry(conn, TENANT, f"st-{s:03d}", {"print_queue": {"label": s % 3}})
        if full:
            catalog.put_catalog(
                conn,
                TENANT,
                [{"sku": sku, "name": sku, "price": "5.00", "barcodes": [sku]} for sku in SKUS],
            )
            for n in range(stores):
                allocation.set_store(conn, TENANT, f"store-{n:02d}", PROVINCES[n % len(PROVINCES)])
                for sku in SKUS:
                    stock.receive(conn, TENANT, f"store-{n:02d}", sku, 100_000, "bench")
            carriers.replace_all(
                conn,
                TENANT,
                [
                    {
                        **c,
                        "zones": {**c["zones"], "*": "CN-09"},
                        "rates": {**c["rates"], "CN-09": {"first_kg": "25.00", "extra_kg": "5.00"}},
                        "waybills": {**c["waybills"], "last": c["waybills"]["first"] + 900_000}
                        if c["code"] == "SF"
                        else {**c["waybills"], "first": 10_000_000, "last": 99_999_999},
                    }
                    for c in CARRIERS
                ],
            )
        conn.execute(
            orders.insert(),
            [
                {
                    "id": o["id"],
                    "tenant": TENANT,
                    "number": o["number"],
                    "station": None,
                    "channel": o["channel"],
                    "status": "checked",
                    "total": o["total"],
                    "data": o,
                    "created_at": now,
                    "updated_at": now,
                }
                for o in made
            ],
        )


def run_allocation(engine: Engine, batch: int) -> tuple[float, int, list[float]]:
    config = HubConfig()
    placed, per_batch = 0, []
    started = time.perf_counter()
    while True:
        t0 = time.perf_counter()
        with db.transaction(engine) as conn:
            done = allocation.allocate_pending(conn, config, utc_now(), limit=batch)
        if not done:
            break
        per_batch.append((time.perf_counter() - t0) / len(done))
        placed += sum(1 for d in done if d["station"])
        if placed == 0:
            raise SystemExit(f"nothing allocated: {done[0]['reason']}")
    return time.perf_counter() - started, placed, per_batch


def run_baseline(engine: Engine, batch: int, station_count: int) -> tuple[float, int]:
    with db.read_only(engine) as conn:
        ids = list(conn.execute(select(orders.c.id).where(orders.c.status == "checked")).scalars())
        names = list(conn.execute(select(stations.c.id).order_by(stations.c.id)).scalars())
    started = time.perf_counter()
    for start in range(0, len(ids), batch):
        with db.transaction(engine) as conn:
            for n, order_id in enumerate(ids[start : start + batch], start):
                conn.execute(
                    update(orders)
                    .where(orders.c.id == order_id)
                    .values(station=names[n % len(names)], status="allocated", updated_at=utc_now())
                )
    return time.perf_counter() - started, len(ids)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stations", type=int, default=50)
    parser.add_argument("--orders", type=int, default=10_000)
    parser.add_argument("--batch", type=int, default=500)
    add_json_option(parser)
    args = parser.parse_args()
    admin = os.environ.get("PRINTSTATION_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/test")
    made = orders_to_make(args.orders)
    print(
        f"allocation benchmark: {args.stations} stations, {args.orders} checked orders, "
        f"{args.batch} per transaction, PostgreSQL"
    )
    schema, url = fresh_schema(admin)
    engine = db.make_engine(url)
    try:
        setup(engine, args.stations, made, full=True)
        seconds, placed, per_order = run_allocation(engine, args.batch)
        with db.read_only(engine) as conn:
            spread = (
                conn.execute(select(orders.c.station).where(orders.c.status == "allocated"))
                .scalars()
                .all()
            )
            problems = stock.check_invariants(conn)
    finally:
        engine.dispose()
        drop_schema(admin, schema)
    busiest = max(spread.count(s) for s in set(spread)) if spread else 0
    print(
        f"  allocate_pending: {placed} allocated in {seconds:.1f} s = "
        f"{placed / seconds:.0f} orders/s ({1000 * seconds / max(placed, 1):.2f} ms/order; "
        f"batch mean per order p50 {1000 * statistics.median(per_order):.2f} ms, "
        f"worst {1000 * max(per_order):.2f} ms)"
    )
    print(
        f"  stations used: {len(set(spread))}, busiest got {busiest}; "
        f"stock invariants: {'hold' if not problems else problems[:3]}"
    )
    schema, url = fresh_schema(admin)
    engine = db.make_engine(url)
    try:
        setup(engine, args.stations, made, full=False)
        base_s, base_n = run_baseline(engine, args.batch, args.stations)
    finally:
        engine.dispose()
        drop_schema(admin, schema)
    print(
        f"  baseline (bare UPDATE per order): {base_n} in {base_s:.1f} s = "
        f"{base_n / base_s:.0f} orders/s ({1000 * base_s / base_n:.2f} ms/order)"
    )
    ratio = (seconds / max(placed, 1)) / (base_s / base_n)
    print(f"  allocation costs {ratio:.1f}× the baseline per order")
    results = Results("allocation")
    results.add(
        "allocation throughput",
        placed / seconds,
        "orders/s",
        baseline=base_n / base_s,
        baseline_label="bare UPDATE per order",
    )
    results.add(
        "time per allocation",
        1000 * seconds / max(placed, 1),
        "ms",
        baseline=1000 * base_s / base_n,
        baseline_label="bare UPDATE per order",
    )
    results.notes.append(
        f"{args.stations} stations, {args.orders} checked orders, {args.batch} per transaction; "
        f"stock invariants {'hold' if not problems else 'BROKEN'}"
    )
    results.write(args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
