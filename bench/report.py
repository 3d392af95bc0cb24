"""Run every benchmark, each beside its baseline from the same run, and write a report.

    python bench/report.py [--quick] [--only NAME,…] [--out bench-report]

Each benchmark runs as its own process with ``--json``; the report gathers its figures, the
wall time and the peak memory (largest resident set of the benchmark and its children, from
``wait4``) into ``OUT/REPORT.md`` with one PNG chart per benchmark (value against baseline)
and each benchmark's full output in ``OUT/NAME.txt``. A benchmark that fails is reported as
failed with its output; the others still run.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.results import load  # noqa: E402


@dataclass(frozen=True)
class Bench:
    name: str
    script: str
    title: str
    full: tuple[str, ...] = ()
    quick: tuple[str, ...] = ()


BENCHES = (
    Bench(
        "scan_to_label",
        "scan_to_label.py",
        "Scan → label (issue 2)",
        quick=("--orders", "60", "--batch", "20"),
    ),
    Bench(
        "order_placement",
        "order_placement.py",
        "Kiosk order placement (issue 3)",
        quick=("--seconds", "5"),
    ),
    Bench("sync", "sync.py", "Sync: drain, live latency, ingest (issue 4)", quick=("--quick",)),
    Bench("order_import", "order_import.py", "Hub CSV import (issue 5)", quick=("--rows", "20000")),
    Bench("allocation", "allocation.py", "Hub allocation (issue 5)", quick=("--orders", "2000")),
    Bench("dashboard", "dashboard.py", "Ops dashboard (issue 6)", quick=("--quick",)),
    Bench(
        "footprint",
        "footprint.py",
        "Station footprint (issue 8)",
        quick=("--starts", "2", "--idle-s", "3", "--camera-s", "8"),
    ),
)


def run(bench: Bench, quick: bool, out: Path) -> dict[str, Any]:
    """Run one benchmark; its figures, wall time, peak RSS and exit status."""
    with tempfile.TemporaryDirectory() as tmp:
        json_path = Path(tmp) / "figures.json"
        argv = [sys.executable, str(REPO / "bench" / bench.script), "--json", str(json_path)]
        argv += list(bench.quick if quick else bench.full)
        log_path = out / f"{bench.name}.txt"
        started = time.monotonic()
        with log_path.open("wb") as log:
            proc = subprocess.Popen(argv, cwd=REPO, stdout=log, stderr=subprocess.STDOUT)
            _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        seconds = time.monotonic() - started
        result: dict[str, Any] = {
            "bench": bench,
            "seconds": seconds,
            "peak_mb": usage.ru_maxrss / 1024,
            "exit": proc.returncode,
            "figures": [],
            "notes": [],
        }
        if proc.returncode == 0 and json_path.exists():
            document = load(json_path)
            result["figures"] = document.get("figures", [])
            result["notes"] = document.get("notes", [])
        return result


def chart(result: dict[str, Any], out: Path) -> str | None:
    """A horizontal bar chart of each figure with a baseline: value and baseline side by side,
    one panel per unit. Returns the PNG's file name."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    paired = [f for f in result["figures"] if f.get("baseline") is not None]
    if not paired:
        return None
    units = sorted({f["unit"] for f in paired})
    fig, axes = plt.subplots(len(units), 1, figsize=(8, 1.2 + 0.7 * len(paired)), squeeze=False)
    for axis, unit in zip(axes[:, 0], units, strict=True):
        rows = [f for f in paired if f["unit"] == unit]
        names = [f["name"] for f in rows]
        positions = range(len(rows))
        axis.barh(
            [p + 0.2 for p in positions],
            [f["value"] for f in rows],
            0.4,
            label="printstation",
            color="#2b6cb0",
        )
        axis.barh(
            [p - 0.2 for p in positions],
            [f["baseline"] for f in rows],
            0.4,
            label="baseline (same run)",
            color="#a0aec0",
        )
        axis.set_yticks(list(positions), names, fontsize=8)
        axis.set_xlabel(unit)
        axis.legend(fontsize=7, loc="lower right")
    fig.suptitle(result["bench"].title, fontsize=10)
    fig.tight_layout()
    name = f"{result['bench'].name}.png"
    fig.savefig(out / name, dpi=110)
    plt.close(fig)
    return name


def _number(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.2f}"


def _ratio(figure: dict[str, Any]) -> str:
    base = figure.get("baseline")
    if not base:
        return "—"
    return f"{figure['value'] / base:.2f}×"


def markdown(results: list[dict[str, Any]], quick: bool, out: Path) -> str:
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        "# printstation benchmark report",
        "",
        f"{stamp} · {'quick' if quick else 'full'} run · {os.cpu_count()} CPUs · "
        f"Python {sys.version.split()[0]}. Each figure's baseline was measured in the same run.",
        "",
        "| benchmark | status | wall time | peak memory | targets met |",
        "|---|---|---|---|---|",
    ]
    for r in results:
        targets = [f for f in r["figures"] if f.get("met") is not None]
        met = sum(1 for f in targets if f["met"])
        status = (
            "ok"
            if r["exit"] == 0
            else ("skipped" if r["exit"] is None else f"failed ({r['exit']})")
        )
        lines.append(
            f"| {r['bench'].title} | {status} | {r['seconds']:.0f} s | {r['peak_mb']:.0f} MB | "
            f"{met}/{len(targets)} |"
        )
    for r in results:
        lines += ["", f"## {r['bench'].title}", ""]
        if r["exit"] != 0:
            lines.append(f"Did not finish (exit {r['exit']}); see `{r['bench'].name}.txt`.")
            continue
        lines += [
            "| figure | value | baseline | ratio | target |",
            "|---|---|---|---|---|",
        ]
        for f in r["figures"]:
            verdict = "" if f.get("met") is None else (" ✔" if f["met"] else " ✘")
            base = _number(f.get("baseline"))
            if f.get("baseline_label"):
                base += f" ({f['baseline_label']})"
            lines.append(
                f"| {f['name']} | {_number(f['value'])} {f['unit']} | {base} | {_ratio(f)} | "
                f"{f.get('target') or '—'}{verdict} |"
            )
        lines += [f"- {note}" for note in r["notes"]]
        png = chart(r, out)
        if png:
            lines += ["", f"![{r['bench'].title}]({png})"]
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller runs of every benchmark")
    parser.add_argument(
        "--only", help="comma-separated benchmark names: " + ", ".join(b.name for b in BENCHES)
    )
    parser.add_argument("--out", default="bench-report", help="report directory")
    args = parser.parse_args()
    chosen = [b for b in BENCHES if not args.only or b.name in args.only.split(",")]
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    results = []
    for bench in chosen:
        if not (REPO / "bench" / bench.script).exists():
            results.append(
                {
                    "bench": bench,
                    "seconds": 0,
                    "peak_mb": 0,
                    "exit": None,
                    "figures": [],
                    "notes": [],
                }
            )
            continue
        print(f"running {bench.name} …", flush=True)
        results.append(run(bench, args.quick, out))
        print(f"  {results[-1]['seconds']:.0f} s, exit {results[-1]['exit']}", flush=True)
    (out / "REPORT.md").write_text(markdown(results, args.quick, out), "utf-8")
    print(f"report: {out / 'REPORT.md'}")
    return 0 if all(r["exit"] in (0, None) for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
