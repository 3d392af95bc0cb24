"""The clients: what customers, packers and the office do while the nemesis works.

Per station a *customer* places kiosk orders (``POST /api/v1/orders`` with an
``Idempotency-Key``; the receipt ticket is a print job) and a *packer* packs the station's
channel orders by scanning them through the real scanner service (the label is a print
job); one *office* client receives goods and grants allotments at the hub and changes a
price in the catalog. Every operation goes into the :class:`~tests.chaos.history.History`.
"""

from __future__ import annotations

import http.client
import json
import random
import threading
import time
import urllib.error
import urllib.request
import uuid
from typing import Any

from edge.sample import products
from edge.scanner.errors import ScannerError
from tests.chaos.cluster import SKUS, STORE, ChaosStation, Cluster
from tests.chaos.history import History

TIMEOUT_S = 5.0
# No answer, or half of one: a refused connection is the only sure failure.
NO_ANSWER = (OSError, http.client.HTTPException, ValueError)


def classify(err: BaseException) -> str:
    """A request that never reached the server failed; one without an answer is unknown."""
    reason = getattr(err, "reason", err)
    if isinstance(reason, ConnectionRefusedError):
        return "failed"
    return "unknown"


def outcome_of(status: int) -> str:
    if status < 300:
        return "ok"
    return "unknown" if status >= 500 else "failed"


def station_call(
    station: ChaosStation, method: str, path: str, body: Any, headers: dict[str, str]
) -> tuple[int, Any]:
    req = urllib.request.Request(
        station.url(path),
        data=json.dumps(body).encode(),
        method=method,
        headers={
            "Authorization": f"Bearer {station.config.api_token}",
            "Content-Type": "application/json",
            **headers,
        },
    )
    try:
        with urllib.request.urlopen(req, timeout=TIMEOUT_S) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as err:
        raw = err.read()
        return err.code, json.loads(raw) if raw.startswith(b"{") else {"raw": raw.decode()}


class Workload:
    def __init__(self, cluster: Cluster, history: History, seed: int):
        self.cluster, self.history, self.seed = cluster, history, seed
        self.halt = threading.Event()
        self.threads: list[threading.Thread] = []

    def start(self) -> None:
        for i, (sid, station) in enumerate(self.cluster.stations.items()):
            self.threads.append(
                threading.Thread(
                    target=self._customer,
                    args=(sid, station, random.Random(self.seed * 100 + i)),
                    name=f"customer-{sid}",
                    daemon=True,
                )
            )
            self.threads.append(
                threading.Thread(
                    target=self._packer,
                    args=(sid, station, random.Random(self.seed * 100 + 50 + i)),
                    name=f"packer-{sid}",
                    daemon=True,
                )
            )
        self.threads.append(
            threading.Thread(
                target=self._office,
                args=(random.Random(self.seed * 100 + 99),),
                name="office",
                daemon=True,
            )
        )
        for thread in self.threads:
            thread.start()

    def stop(self) -> None:
        self.halt.set()
        for thread in self.threads:
            thread.join(30)

    # -- clients ----------------------------------------------------------------------
    def _customer(self, sid: str, station: ChaosStation, rng: random.Random) -> None:
        name = f"customer-{sid}"
        while not self.halt.wait(rng.uniform(0.15, 0.5)):
            skus = rng.sample(SKUS, rng.randint(1, 2))
            lines = [{"sku": sku, "qty": rng.randint(1, 3)} for sku in skus]
            key = uuid.UUID(int=rng.getrandbits(128)).hex
            try:
                status, body = station_call(
                    station, "POST", "/api/v1/orders", {"lines": lines}, {"Idempotency-Key": key}
                )
            except NO_ANSWER as err:
                self.history.op(
                    name, "order", classify(err), station=sid, key=key, lines=lines, error=repr(err)
                )
                continue
            outcome = outcome_of(status)
            detail: dict[str, Any] = {"station": sid, "key": key, "lines": lines, "status": status}
            if outcome == "ok":
                detail |= {"order_id": body["id"], "number": body["number"]}
            else:
                detail["error"] = body.get("error", body)
            self.history.op(name, "order", outcome, **detail)

    def _packer(self, sid: str, station: ChaosStation, rng: random.Random) -> None:
        name = f"packer-{sid}"
        todo = list(station.orders)
        rng.shuffle(todo)
        while todo and not self.halt.wait(rng.uniform(2.0, 5.0)):
            order = todo.pop()
            try:
                station.pack(order)
            except (OSError, ScannerError) as err:  # the scanner service is down
                self.history.op(
                    name,
                    "pack",
                    "unknown",
                    station=sid,
                    order_id=order["id"],
                    number=order["number"],
                    error=repr(err),
                )
                continue
            deadline = time.monotonic() + 4
            outcome = "unknown"
            while time.monotonic() < deadline and outcome == "unknown":
                try:
                    status, body = station_call(
                        station, "GET", f"/api/v1/orders/{order['id']}", None, {}
                    )
                    if status == 200 and body["status"] == "packed":
                        outcome = "ok"
                except NO_ANSWER:
                    pass
                time.sleep(0.2)
            self.history.op(
                name, "pack", outcome, station=sid, order_id=order["id"], number=order["number"]
            )

    def _office(self, rng: random.Random) -> None:
        catalog = products()
        while not self.halt.wait(rng.uniform(0.5, 1.5)):
            roll = rng.random()
            if roll < 0.15:
                product = rng.choice(catalog)
                product["price"] = f"{rng.randint(100, 999) / 100:.2f}"
                self._hub_op(
                    rng,
                    "catalog",
                    "PUT",
                    "/api/v1/catalog",
                    {"products": catalog},
                    sku=product["sku"],
                    price=product["price"],
                )
            elif roll < 0.55:
                ref = f"po-{rng.getrandbits(40):010x}"
                self._hub_op(
                    rng,
                    "receipt",
                    "POST",
                    "/api/v1/stock/receipts",
                    {
                        "store": STORE,
                        "sku": rng.choice(SKUS),
                        "qty": rng.randint(5, 15),
                        "ref": ref,
                    },
                    ref=ref,
                )
            else:
                station = rng.choice(sorted(self.cluster.stations))
                self._hub_op(
                    rng,
                    "allot",
                    "POST",
                    "/api/v1/stock/allotments",
                    {"station": station, "sku": rng.choice(SKUS), "qty": rng.randint(3, 10)},
                )

    def _hub_op(
        self, _rng: random.Random, kind: str, method: str, path: str, body: Any, **detail: Any
    ) -> None:
        logged = None if kind == "catalog" else body
        try:
            status, answer = self.cluster.hub.api(method, path, body, timeout=TIMEOUT_S)
        except NO_ANSWER as err:
            self.history.op(
                "office", kind, classify(err), request=logged, error=repr(err), **detail
            )
            return
        outcome = outcome_of(status)
        extra = {} if outcome == "ok" else {"error": answer.get("error", answer)}
        self.history.op("office", kind, outcome, request=logged, status=status, **detail, **extra)
