"""Benchmark: importing a marketplace order CSV into the hub on PostgreSQL.

Generates a CSV (default 100,000 rows: orders of one to three lines, a few bad rows and a
few orders that the checks hold), imports it with the real importer (the same code as
``POST /api/v1/orders/import`` and ``printstation orders-import``) in a child process, and
prints rows per second and that process's peak memory (RSS high-water mark). The
baseline, in the same run, is the floor for the same rows on the same database: a child
that parses the CSV and ``COPY``s the raw rows into a bare table, with no checks.

    .venv/bin/python bench/order_import.py [--rows 100000] [--pg postgresql://…]

Each run uses a fresh schema and drops it afterwards. Targets: ≥ 5,000 rows/s and a
peak of ≤ 200 MB.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.results import Results, add_json_option  # noqa: E402

DEFAULT_PG = os.environ.get("PRINTSTATION_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
HEADER = ["channel", "external_id", "customer_name", "phone", "address", "sku", "qty"]
SKUS = [f"SKU-{n:04d}" for n in range(200)]
PLACES = [
    "广东省深圳市南山区科技园路{}号",
    "北京市朝阳区建国路{}号",
    "上海市黄浦区南京东路{}号",
    "浙江省杭州市西湖区文三路{}号",
    "四川省成都市武侯区人民南路{}号",
    "湖北省武汉市洪山区珞喻路{}号",
]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"


def generate(path: Path, rows: int, seed: int = 7) -> dict[str, int]:
    """Write the CSV; returns how many rows and orders it holds and how many are bad."""
    rng = random.Random(seed)
    written = orders = bad = 0
    with path.open("w", encoding="utf-8", newline="") as f:
        out = csv.writer(f)
        out.writerow(HEADER)
        while written < rows:
            orders += 1
            n = min(rng.choice((1, 1, 2, 2, 3)), rows - written)
            channel = rng.choice(("taobao", "jd", "pinduoduo", "douyin"))
            name = rng.choice(SURNAMES) + rng.choice("伟芳娜敏静丽强磊军洋")
            phone = f"1{rng.choice('3589')}{rng.randrange(10**9):09d}"
            address = rng.choice(PLACES).format(rng.randrange(1, 999))
            broken = rng.random() < 0.02
            bad += n if broken else 0
            for line in range(n):
                qty = rng.randrange(1, 4)
                if broken and line == 0:
                    qty = -qty
                out.writerow(
                    [channel, f"E{orders:07d}", name, phone, address, rng.choice(SKUS), qty]
                )
            written += n
    return {"rows": written, "orders": orders, "bad_rows": bad}


def _child(kind: str, url: str, csv_path: str) -> None:
    """Run in a child process: import (or the baseline COPY) and print figures as JSON."""
    if kind == "import":
        from cloud import allocation, importer
        from cloud.config import HubConfig
        from cloud.db import make_engine

        # Time spent in allocation (the real function, timed) is shown apart.
        allocate, in_allocation = allocation.allocate, [0.0]

        def timed(*args: Any) -> Any:
            started = time.perf_counter()
            try:
                return allocate(*args)
            finally:
                in_allocation[0] += time.perf_counter() - started

        allocation.allocate = timed  # type: ignore[assignment]
        config = HubConfig()  # the product defaults ([intake] batch_rows = 2000)
        engine = make_engine(url)
        started = time.perf_counter()
        with open(csv_path, "rb") as source:
            result = importer.run(engine, config, "bench", source, filename="bench.csv")
        elapsed = time.perf_counter() - started
        engine.dispose()
        figures = {
            "rows": result.progress.rows,
            "accepted": result.progress.accepted,
            "rejected": result.progress.rejected,
            "allocation_s": in_allocation[0],
        }
    else:
        import psycopg

        from cloud.db import database_url

        dsn = database_url(url).replace("postgresql+psycopg://", "postgresql://")
        started = time.perf_counter()
        with psycopg.connect(dsn) as conn, open(csv_path, encoding="utf-8", newline="") as f:
            conn.execute(
                "CREATE TABLE raw_rows (channel text, external_id text, customer_name text,"
                " phone text, address text, sku text, qty integer)"
            )
            reader = csv.reader(f)
            next(reader)
            with conn.cursor().copy(
                "COPY raw_rows (channel, external_id, customer_name, phone, address, sku, qty)"
                " FROM STDIN"
            ) as copy:
                for row in reader:
                    copy.write_row(row)
        elapsed = time.perf_counter() - started
        with open(csv_path, encoding="utf-8") as f:
            figures = {"rows": sum(1 for _ in f) - 1}
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({**figures, "seconds": elapsed, "peak_mb": peak_kb / 1024}))


def _run_child(kind: str, url: str, csv_path: Path) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, __file__, "--child", kind, "--pg", url, "--csv", str(csv_path)],
        check=True,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def _schema(admin: str) -> tuple[str, str]:
    """A fresh schema on the server; returns (its name, a URL that uses it)."""
    import psycopg
    from sqlalchemy.engine import make_url

    from cloud.db import database_url

    name = f"bench_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {name}")
    url = make_url(database_url(admin)).update_query_dict({"options": f"-csearch_path={name}"})
    return name, url.render_as_string(hide_password=False)


def _drop(admin: str, name: str) -> None:
    import psycopg

    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA {name} CASCADE")


def _prepare(url: str) -> None:
    """Migrate, and give the tenant a catalog of every SKU with plenty of stock."""
    from cloud import catalog, stock
    from cloud.db import make_engine, migrate, transaction

    engine = make_engine(url)
    migrate(engine)
    with transaction(engine) as conn:
        catalog.put_catalog(
            conn,
            "bench",
            [{"sku": s, "name": f"商品{s}", "price": "19.90", "barcodes": []} for s in SKUS],
        )
        for sku in SKUS:
            stock.receive(conn, "bench", "store-01", sku, 1_000_000)
    engine.dispose()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--pg", default=DEFAULT_PG, help="PostgreSQL admin URL")
    parser.add_argument("--child", choices=("import", "copy"), help=argparse.SUPPRESS)
    parser.add_argument("--csv", help=argparse.SUPPRESS)
    add_json_option(parser)
    args = parser.parse_args()
    if args.child:
        _child(args.child, args.pg, args.csv)
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "orders.csv"
        made = generate(path, args.rows)
        size_mb = path.stat().st_size / 2**20
        print(
            f"CSV: {made['rows']} rows, {made['orders']} orders, {made['bad_rows']} bad rows, "
            f"{size_mb:.1f} MB"
        )
        results = {}
        for kind in ("copy", "import"):
            name, url = _schema(args.pg)
            try:
                if kind == "import":
                    _prepare(url)
                results[kind] = _run_child(kind, url, path)
            finally:
                _drop(args.pg, name)
    base, real = results["copy"], results["import"]
    for label, r in (("baseline: parse + COPY, no checks", base), ("import (real importer)", real)):
        print(
            f"{label:36s} {r['rows'] / r['seconds']:9,.0f} rows/s  "
            f"{r['seconds']:6.1f} s  peak RSS {r['peak_mb']:6.1f} MB"
        )
    print(
        f"import: {real['accepted']:.0f} orders accepted, {real['rejected']:.0f} rows rejected; "
        f"{real['seconds'] / base['seconds']:.1f}x the baseline's time"
    )
    rest = real["seconds"] - real["allocation_s"]
    print(
        f"of the import's {real['seconds']:.1f} s, allocation took {real['allocation_s']:.1f} s; "
        f"the rest (parse, checks, inserts) {rest:.1f} s = {real['rows'] / rest:,.0f} rows/s"
    )
    rate, floor = real["rows"] / real["seconds"], base["rows"] / base["seconds"]
    figures = Results("order_import")
    figures.add(
        "import rows/s",
        rate,
        "rows/s",
        baseline=floor,
        baseline_label="parse + COPY, no checks",
        target="≥ 5,000 rows/s",
        met=rate >= 5000,
    )
    figures.add(
        "import peak RSS",
        real["peak_mb"],
        "MB",
        baseline=base["peak_mb"],
        baseline_label="parse + COPY process",
        target="≤ 200 MB",
        met=real["peak_mb"] <= 200,
    )
    figures.add("import rows/s without allocation", real["rows"] / rest, "rows/s")
    figures.notes.append(
        f"{made['rows']} rows, {made['orders']} orders; allocation {real['allocation_s']:.1f} s "
        f"of {real['seconds']:.1f} s"
    )
    figures.write(args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
