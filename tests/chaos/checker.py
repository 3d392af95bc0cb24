"""After healing and quiescing: does what every station and the hub hold agree with what the
clients were told? :func:`check` returns every violation found, as readable sentences with
the ids, numbers and counts needed to debug it (an empty list: the history is valid)."""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from cloud.alerts import RULE_KINDS
from cloud.db import read_only
from cloud.schema import alerts, allotments, inbox, orders, products, stock_ledger, stream_state
from cloud.stock import check_invariants
from edge.protocol import ORDER_CREATED
from edge.store import Store, journal
from edge.store import inbox as dn_inbox
from tests.chaos.cluster import ChaosStation, Cluster, job_statuses
from tests.chaos.history import History

TENANT = "test"


def _data(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else json.loads(value)


def check(cluster: Cluster, history: History) -> list[str]:
    problems: list[str] = []
    for name in cluster.hub.dead():
        problems.append(f"hub process {name} died on its own (see {cluster.hub.logs}/{name}.log)")
    for sid, station in cluster.stations.items():
        for name in station.dead():
            problems.append(f"{sid} {name} died on its own (see {station.logs}/{name}.log)")
        problems += check_station_stream(cluster, sid, station)
        problems += check_station_stock(cluster, sid, station)
        problems += check_catalog(cluster, sid, station)
        problems += check_print_jobs(sid, station)
    problems += check_orders(cluster, history)
    problems += check_stock(cluster, history)
    return problems


def station_db(station: ChaosStation) -> Store:
    return Store(station.config.db_path)


def check_station_stream(cluster: Cluster, sid: str, station: ChaosStation) -> list[str]:
    """up: inbox seqs 1..N exactly once, chained; dn: applied up to what the hub made."""
    problems: list[str] = []
    db = station_db(station)
    try:
        local = db.conn()
        last = journal.last_seq(local)
        broken = journal.verify(local)
        applied, _ = dn_inbox.position(local)
    finally:
        db.close()
    if broken is not None:
        problems.append(f"{sid}: the station's journal chain breaks at seq {broken}")
    with read_only(cluster.engine) as conn:
        rows = conn.execute(
            select(inbox.c.seq, inbox.c.status, inbox.c.chain_ok, inbox.c.reason)
            .where(inbox.c.station == sid)
            .order_by(inbox.c.seq)
        ).all()
        dn_seq = conn.execute(
            select(stream_state.c.seq).where(
                stream_state.c.station == sid, stream_state.c.stream == "dn"
            )
        ).scalar()
        raised = conn.execute(
            select(alerts.c.kind, alerts.c.message)
            .where(alerts.c.station == sid)
            .where(alerts.c.kind.not_in(RULE_KINDS))
        ).all()
    seqs = [r.seq for r in rows]
    if seqs != list(range(1, last + 1)):
        counts = Counter(seqs)
        missing = sorted(set(range(1, last + 1)) - set(seqs))
        doubled = sorted(s for s, n in counts.items() if n > 1)
        extra = sorted(s for s in seqs if s > last)
        problems.append(
            f"{sid}: hub inbox is not seqs 1..{last} exactly once: missing "
            f"{missing[:20]}, doubled {doubled[:20]}, beyond the journal {extra[:20]}"
        )
    for r in rows:
        if not r.chain_ok or r.status != "applied":
            problems.append(
                f"{sid}: inbox seq {r.seq} is {r.status}, chain_ok={r.chain_ok}: {r.reason}"
            )
    for kind, message in raised:
        problems.append(f"{sid}: hub alert {kind}: {message}")
    if int(dn_seq or 0) != applied:
        problems.append(f"{sid}: the hub made dn events 1..{dn_seq}, the station applied {applied}")
    return problems


def check_orders(cluster: Cluster, history: History) -> list[str]:
    """Every acknowledged order at its station and at the hub exactly once; no failed order
    anywhere; an unknown one at most once; station and hub agree on every order's status."""
    problems: list[str] = []
    with read_only(cluster.engine) as conn:
        hub_orders = {
            r.id: r
            for r in conn.execute(
                select(
                    orders.c.id,
                    orders.c.number,
                    orders.c.status,
                    orders.c.idempotency_key,
                    orders.c.station,
                )
            )
        }
        created: Counter[str] = Counter()
        by_key: dict[str, Any] = {}  # a kiosk order's Idempotency-Key travels in its data
        for r in conn.execute(select(inbox.c.data).where(inbox.c.kind == ORDER_CREATED)):
            order = _data(r.data)["order"]
            created[order["id"]] += 1
            if order.get("idempotency_key") and order["id"] in hub_orders:
                by_key[order["idempotency_key"]] = hub_orders[order["id"]]
    local: dict[str, dict[str, Any]] = {}
    for sid, station in cluster.stations.items():
        db = station_db(station)
        try:
            for r in db.conn().execute("SELECT id, number, status, idempotency_key FROM orders"):
                local[r["id"]] = {**dict(r), "station": sid}
        finally:
            db.close()
    for op in history.ops("order"):
        key, sid = op["key"], op["station"]
        at_hub = by_key.get(key)
        if op["outcome"] == "ok":
            oid = op["order_id"]
            if oid not in local:
                cause = lying_disk_cause(history, sid, op["t"])
                problems.append(
                    f"{sid}: order {op['number']} ({oid}) was acknowledged to the "
                    f"customer at t={op['t']} but is not in the station's store" + cause
                )
            if oid not in hub_orders:
                problems.append(
                    f"{sid}: acknowledged order {op['number']} ({oid}) never reached the hub"
                )
            elif created[oid] != 1:
                problems.append(
                    f"{sid}: acknowledged order {op['number']} ({oid}) was created "
                    f"{created[oid]} times at the hub"
                )
        elif op["outcome"] == "failed" and at_hub is not None:
            problems.append(
                f"{sid}: the customer was told order key {key} failed "
                f"({op.get('status')}, t={op['t']}) but the hub has {at_hub.number}"
            )
        elif op["outcome"] == "unknown" and at_hub is not None and created[at_hub.id] > 1:
            problems.append(
                f"{sid}: order {at_hub.number} of an unanswered request was "
                f"created {created[at_hub.id]} times at the hub"
            )
    for oid, order in sorted(local.items()):
        hub = hub_orders.get(oid)
        if hub is None:
            problems.append(
                f"{order['station']}: order {order['number']} is at the station but not at the hub"
            )
        elif hub.status != order["status"]:
            problems.append(
                f"{order['station']}: order {order['number']} is {order['status']} "
                f"at the station but {hub.status} at the hub"
            )
    for op in history.ops("pack", "ok"):
        order = local.get(op["order_id"])
        if order is None or order["status"] != "packed":
            cause = lying_disk_cause(history, op["station"], op["t"] - 5.0)
            problems.append(
                f"{op['station']}: order {op['number']} was seen packed at "
                f"t={op['t']} but is now {order and order['status']}" + cause
            )
    return problems


def lying_disk_cause(history: History, sid: str, after: float) -> str:
    """Why an acknowledged change may be gone: a lying-disk fault on ``sid`` after ``after``."""
    lies = [
        e["t"]
        for e in history.entries
        if e["type"] == "note"
        and e["text"] == "lying disk"
        and e["station"] == sid
        and e["t"] > after
    ]
    return f": lost with the commit the lying disk dropped at t={lies[0]}" if lies else ""


def check_station_stock(cluster: Cluster, sid: str, station: ChaosStation) -> list[str]:
    """What the station may sell equals the hub's allotted − sold for it; its sales are the
    hub ledger's sales for it."""
    problems: list[str] = []
    db = station_db(station)
    try:
        local = db.conn()
        sellable = {
            r["sku"]: int(r["qty"]) for r in local.execute("SELECT sku, qty FROM stock_levels")
        }
        sold_here = {
            r["sku"]: -int(r["q"])
            for r in local.execute(
                "SELECT sku, SUM(qty) AS q FROM stock_movements WHERE reason = 'sale' GROUP BY sku"
            )
        }
    finally:
        db.close()
    with read_only(cluster.engine) as conn:
        hub = {
            r.sku: (int(r.allotted), int(r.sold))
            for r in conn.execute(
                select(allotments.c.sku, allotments.c.allotted, allotments.c.sold).where(
                    allotments.c.station == sid
                )
            )
        }
        ledger_sales = {
            r.sku: -int(r.q)
            for r in conn.execute(
                select(stock_ledger.c.sku, func.sum(stock_ledger.c.qty).label("q"))
                .where(stock_ledger.c.station == sid, stock_ledger.c.reason == "sale")
                .group_by(stock_ledger.c.sku)
            )
        }
    for sku in sorted(set(sellable) | set(hub) | set(sold_here) | set(ledger_sales)):
        allotted, sold = hub.get(sku, (0, 0))
        if sellable.get(sku, 0) != allotted - sold:
            problems.append(
                f"{sid} {sku}: the station may sell {sellable.get(sku, 0)}, the hub "
                f"says allotted {allotted} − sold {sold} = {allotted - sold}"
            )
        if sold_here.get(sku, 0) != sold or ledger_sales.get(sku, 0) != sold:
            problems.append(
                f"{sid} {sku}: sold {sold_here.get(sku, 0)} at the station, "
                f"{sold} in the hub's allotments, {ledger_sales.get(sku, 0)} in its "
                f"ledger"
            )
    return problems


def check_stock(cluster: Cluster, history: History) -> list[str]:
    """The hub's ledger: its invariants, nothing sold beyond what was received, and every
    acknowledged receipt in it exactly once (none that failed)."""
    with read_only(cluster.engine) as conn:
        problems = [f"hub stock invariant: {p}" for p in check_invariants(conn)]
        totals: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        refs: Counter[str] = Counter()
        for r in conn.execute(
            select(
                stock_ledger.c.sku, stock_ledger.c.reason, stock_ledger.c.qty, stock_ledger.c.ref
            )
        ):
            totals[r.sku][r.reason] += int(r.qty)
            if r.reason == "receipt" and r.ref:
                refs[r.ref] += 1
    for sku, by in sorted(totals.items()):
        if -by["sale"] > by["receipt"] + by["return"]:
            problems.append(f"{sku}: sold {-by['sale']} but only {by['receipt']} received")
    for op in history.ops("receipt"):
        ref, n = op["ref"], refs[op["ref"]]
        if (op["outcome"] == "ok" and n != 1) or (op["outcome"] == "failed" and n) or n > 1:
            problems.append(
                f"receipt {ref} ({op['outcome']} at t={op['t']}) is in the hub ledger {n} times"
            )
    return problems


def check_catalog(cluster: Cluster, sid: str, station: ChaosStation) -> list[str]:
    with read_only(cluster.engine) as conn:
        hub = {
            r.sku: (r.name, r.price)
            for r in conn.execute(
                select(products.c.sku, products.c.name, products.c.price).where(
                    products.c.tenant == TENANT
                )
            )
        }
    db = station_db(station)
    try:
        here = {
            r["sku"]: (r["name"], r["price"])
            for r in db.conn().execute("SELECT sku, name, price FROM products WHERE active = 1")
        }
    finally:
        db.close()
    return [
        f"{sid} {sku}: catalog has {here.get(sku)} at the station, {hub.get(sku)} at the hub"
        for sku in sorted(set(hub) | set(here))
        if hub.get(sku) != here.get(sku)
    ]


def printed_pages(root: Path) -> dict[str, int]:
    """Per raw job file of an emulator: was anything printed (1) — keyed by file name."""
    path = root / "jobs.jsonl"
    if not path.exists():
        return {}
    done: dict[str, int] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        if record.get("printed") and not record.get("partial"):
            done[record["raw"]] = 1
    return done


def check_print_jobs(sid: str, station: ChaosStation) -> list[str]:
    """Each order's jobs on a printer: every ``done`` one printed exactly once, an
    ``uncertain`` one at most once, nothing else printed (raw jobs are matched to orders by
    the order number they carry)."""
    problems: list[str] = []
    jobs = job_statuses(station)
    printed: dict[tuple[str, str], int] = Counter()
    for printer in station.emulators:
        out = station.root / "printed" / printer
        for raw in printed_pages(out):
            data = (out / raw).read_bytes()
            for number in {j["number"] for j in jobs if j["number"] and j["printer"] == printer}:
                if number.encode() in data:
                    printed[(printer, number)] += 1
    per: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
    for job in jobs:
        if job["status"] in ("queued", "printing"):
            problems.append(f"{sid}: print job {job['id']} still {job['status']} after quiescing")
        if job["number"]:
            per[(job["printer"], job["number"])][job["status"]] += 1
    for (printer, number), states in sorted(per.items()):
        n = printed[(printer, number)]
        if not states["done"] <= n <= states["done"] + states["uncertain"]:
            problems.append(
                f"{sid}: order {number} printed {n} times on {printer}; its jobs are {dict(states)}"
            )
    return problems
