"""The tables bench/sync.py prints."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/test"
TICK = os.sysconf("SC_CLK_TCK")


# -- small helpers -----------------------------------------------------------------------------
from sync_harness import pct, verdict  # noqa: E402

from bench.results import Results  # noqa: E402


def table(title: str, header: list[str], rows: list[list[str]]) -> None:
    print(f"\n{title}\n")
    print("| " + " | ".join(header) + " |")
    print("|" + "|".join("---" for _ in header) + "|")
    for row in rows:
        print("| " + " | ".join(row) + " |")


def once(problems: list[str]) -> str:
    return "yes ✔" if not problems else "NO ✘ " + "; ".join(problems)


def spread3(ms: list[float]) -> str:
    return f"{pct(ms, 0.5):.1f} / {pct(ms, 0.99):.1f} / {max(ms):.1f} ms"


def report_raw(raw: dict[str, Any]) -> None:
    table(
        f"1. Raw ceiling: plain paho, QoS 1, one {raw['bytes']:.0f}-byte event per message",
        ["figure", "value"],
        [
            [
                f"{raw['n']:,} messages, publisher → subscriber process (window 20)",
                f"{raw['wall']:.2f} s = {raw['rate']:,.0f} msg/s (last PUBACK at "
                f"{raw['puback_wall']:.2f} s)",
            ],
            [
                f"round trip publish → peer's worker thread → reply, {len(raw['round_trips'])} "
                "at 20/s: p50 / p99 / max",
                spread3(raw["round_trips"]),
            ],
        ],
    )


def report_drain(d: dict[str, Any], raw: dict[str, Any] | None) -> None:
    target = f"< 10 s: {verdict(d['wall'] < 10)}"
    ceiling = "—"
    if raw:
        ratio = d["rate"] / raw["rate"]
        target = (
            f"≥ 1.5× ceiling = {1.5 * raw['rate']:,.0f}/s: {ratio:.2f}× "
            f"{verdict(ratio >= 1.5)}; " + target
        )
        ceiling = f"{raw['rate']:,.0f} msg/s"
    table(
        f"2. Drain: one station, {d['n']:,}-event backlog (filled in {d['fill']:.1f} s), agent "
        "start → ack of the last event; hub --role all on PostgreSQL",
        ["figure", "station → hub", "raw ceiling", "target"],
        [
            [
                "backlog drained",
                f"{d['wall']:.2f} s = {d['rate']:,.0f} events/s "
                f"({d['acks']} acks, {d['resends']} resend requests)",
                ceiling,
                target,
            ],
            [
                f"inbox holds seqs 1..{d['n'] + 1:,} once each, all applied",
                once(d["problems"]),
                "",
                "",
            ],
        ],
    )
    print(d["cpu"])


def report_live(lv: dict[str, Any], raw: dict[str, Any] | None) -> None:
    ms, hub_ms = lv["to_ack"], lv["hub_side"]
    rows = [
        [
            "station commit → ack arrives at the station (upper bound of the hub's commit)",
            spread3(ms),
            f"p99 ≤ 50 ms: {verdict(pct(ms, 0.99) <= 50)}",
        ],
        [
            "event `at` → inbox `received_at` (the hub's stamps, 1 ms resolution, taken before "
            "the hub's commit)",
            spread3(hub_ms),
            "—",
        ],
    ]
    if raw:
        rows.append(["baseline: raw paho round trip (part 1)", spread3(raw["round_trips"]), "—"])
    table(
        f"3. Live: {lv['stations']} stations × {lv['rate']:g} events/s, {lv['seconds']:.0f} s "
        f"after a 3 s warm-up, {lv['events']:,} events; hub --role all on PostgreSQL",
        ["figure", "p50 / p99 / max", "target"],
        rows,
    )
    print(
        f"  inbox exactly 1..n once per station: {once(lv['problems'])}; station commits "
        f"behind schedule p99 {lv['lag_p99']:.1f} ms"
    )
    print(lv["cpu"])


def report_scaling(runs: list[dict[str, Any]], spread: int) -> None:
    base = runs[0]["rate"]
    rows = []
    for r in runs:
        note = ""
        if r["killed_after"] is not None:
            note = f"one worker SIGKILLed at {r['killed_after']:.1f} s; " + (
                f"{r['stalled']} station(s) stalled, the longest {r['longest_gap']:.1f} s "
                "without an ack"
                if r["stalled"]
                else f"no station stalled (longest wait for an ack {r['longest_gap']:.1f} s)"
            )
        rows.append(
            [
                str(r["workers"]),
                f"{r['wall']:.2f} s",
                f"{r['rate']:,.0f}",
                f"{r['rate'] / base:.2f}×",
                str(r["resends"]),
                once(r["problems"]),
                note,
            ]
        )
    table(
        f"4. Ingest scaling: {runs[0]['n']:,} events over {spread} stations, N × hub --role "
        "ingest + 1 × --role web on PostgreSQL",
        [
            "ingest workers",
            "drained in",
            "events/s",
            "vs 1 worker",
            "resend requests",
            "exactly once",
            "note",
        ],
        rows,
    )
    for r in runs:
        print(f"  {r['workers']} worker(s):" + r["cpu"][len("  CPU:") :])


def figures(
    raw: dict[str, Any] | None,
    drain: dict[str, Any] | None = None,
    live: dict[str, Any] | None = None,
    runs: list[dict[str, Any]] | None = None,
) -> Results:
    """The run's figures for ``--json`` (bench/report.py)."""
    results = Results("sync")
    if drain:
        ratio = drain["rate"] / raw["rate"] if raw else None
        results.add(
            f"drain of {drain['n']:,} events",
            drain["rate"],
            "events/s",
            baseline=raw["rate"] if raw else None,
            baseline_label="raw paho ceiling",
            target="≥ 1.5× ceiling",
            met=None if ratio is None else ratio >= 1.5,
            group="drain",
        )
        results.add(
            "drain time",
            drain["wall"],
            "s",
            target="< 10 s",
            met=drain["wall"] < 10,
            group="drain",
        )
    if live:
        p99 = pct(live["to_ack"], 0.99)
        results.add(
            f"live p99, {live['stations']} stations × {live['rate']:g}/s",
            p99,
            "ms",
            baseline=pct(raw["round_trips"], 0.99) if raw else None,
            baseline_label="raw paho round trip p99",
            target="≤ 50 ms",
            met=p99 <= 50,
            group="live",
        )
        results.add("live p50", pct(live["to_ack"], 0.5), "ms", group="live")
    for r in runs or []:
        results.add(
            f"ingest, {r['workers']} worker(s)",
            r["rate"],
            "events/s",
            target="nothing lost or doubled",
            met=not r["problems"],
            group="scale",
        )
    for part, problems in (
        ("drain", (drain or {}).get("problems")),
        ("live", (live or {}).get("problems")),
    ):
        if problems:
            results.notes.append(f"{part}: NOT exactly once: {'; '.join(problems)}")
    return results
