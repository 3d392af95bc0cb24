"""Chaos campaigns: real stations, broker and hub under a seeded nemesis, then a history
check (see docs/chaos.md). ``CHAOS_SEED=n`` replays a campaign; ``--long`` runs the long one;
``CHAOS_SECONDS`` sets how long load and faults last; ``CHAOS_FAULTS`` limits the fault kinds."""

from __future__ import annotations

import json
import os
import random
import shutil
import time
from pathlib import Path

import pytest

from tests.chaos.checker import check
from tests.chaos.cluster import FAKETIME_LIB, Cluster
from tests.chaos.history import History
from tests.chaos.nemesis import KINDS, WEIGHTS, Nemesis, schedule
from tests.chaos.workload import Workload
from tests.conftest import ARTIFACTS

pytestmark = pytest.mark.slow

SHORT = (2, 40.0)  # stations, seconds of load and faults
LONG = (4, 900.0)


def campaign_seed() -> int:
    return int(os.environ.get("CHAOS_SEED") or random.SystemRandom().randrange(1, 10**6))


def run_campaign(root: Path, database: str, seed: int, stations: int, seconds: float) -> dict:
    """One campaign; returns its figures and the violations the checker found."""
    root.mkdir(parents=True, exist_ok=True)
    history = History(root / "history.jsonl")
    history.note("campaign", seed=seed, stations=stations, seconds=seconds)
    cluster = Cluster(root, database, stations, seed)
    try:
        cluster.seed_hub(received=80, allotted=15)
        kinds = tuple(k for k in os.environ.get("CHAOS_FAULTS", "").split(",") if k)
        if not FAKETIME_LIB.exists():  # Debian package faketime
            kinds = tuple(k for k, w in zip(KINDS, WEIGHTS, strict=True) if w and k != "skew")
            history.note(f"no clock skew: {FAKETIME_LIB} is missing (apt install faketime)")
        faults = schedule(seed, seconds, sorted(cluster.stations), kinds=kinds or None)
        workload = Workload(cluster, history, seed)
        nemesis = Nemesis(cluster, history, faults)
        workload.start()
        nemesis.start()
        time.sleep(seconds)
        nemesis.stop()
        workload.stop()
        history.note("healing")
        cluster.heal()
        noisy = cluster.quiesce(timeout=90 if seconds < 300 else 300)
        history.note("quiet")
        violations = ([noisy] if noisy else []) + check(cluster, history)
    finally:
        cluster.stop()
        history.close()
    ops = history.ops()
    figures = {
        "seed": seed,
        "database": "postgresql" if database.startswith("postgresql") else "sqlite",
        "ops": len(ops),
        "outcomes": {
            o: sum(1 for e in ops if e["outcome"] == o) for o in ("ok", "failed", "unknown")
        },
        "by_kind": {
            k: sum(1 for e in ops if e["kind"] == k) for k in sorted({e["kind"] for e in ops})
        },
        "faults": len(nemesis.injected),
        "faults_by_kind": {
            k: sum(1 for f in nemesis.injected if f.kind == k)
            for k in sorted({f.kind for f in nemesis.injected})
        },
        "duplicated_publishes": sum(p.duplicated for p in cluster.proxies.values()),
        "violations": violations,
    }
    summary = json.dumps(figures, indent=2, ensure_ascii=False)
    (root / "summary.json").write_text(summary, encoding="utf-8")
    kept = ARTIFACTS / "chaos" / f"{figures['database']}-{seed}"
    kept.mkdir(parents=True, exist_ok=True)
    (kept / "summary.json").write_text(summary, encoding="utf-8")
    shutil.copyfile(root / "history.jsonl", kept / "history.jsonl")
    if violations:  # keep the evidence: pytest's tmp dirs are rotated by later runs
        shutil.rmtree(kept / "run", ignore_errors=True)
        shutil.copytree(root, kept / "run", ignore=shutil.ignore_patterns("*.sock", "run"))
    return figures


@pytest.mark.allow_errors  # killed workers, a stopped broker and a full disk log errors by design
@pytest.mark.timeout(3600)
def test_chaos_campaign(tmp_path: Path, db_url: str, request: pytest.FixtureRequest) -> None:
    stations, seconds = LONG if request.config.getoption("--long", default=False) else SHORT
    seconds = float(os.environ.get("CHAOS_SECONDS") or seconds)
    seed = campaign_seed()
    print(
        f"chaos campaign: CHAOS_SEED={seed} ({stations} stations, {seconds:.0f} s) in {tmp_path}",
        flush=True,
    )
    figures = run_campaign(tmp_path / "chaos", db_url, seed, stations, seconds)
    print(json.dumps({k: v for k, v in figures.items() if k != "violations"}), flush=True)
    assert figures["outcomes"]["ok"] > 0, "no operation succeeded: the campaign tested nothing"
    assert figures["faults"] > 0
    assert not figures["violations"], (
        f"CHAOS_SEED={seed} ({figures['database']}): {len(figures['violations'])} violations; "
        f"history in {tmp_path / 'chaos' / 'history.jsonl'}:\n" + "\n".join(figures["violations"])
    )
