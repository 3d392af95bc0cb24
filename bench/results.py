"""Machine-readable benchmark results.

Every benchmark prints its figures for a person; given ``--json FILE`` it also writes them
there for ``bench/report.py``, which runs them all and puts them side by side::

    {"bench": "footprint", "figures": [{"name", "value", "unit", "baseline",
     "baseline_label", "target", "met", "group"}, …], "notes": […]}

``baseline`` is the same quantity measured in the same run by the simplest thing that could
do the job (raw paho, a bare insert, a bare interpreter…); ``target`` is the issue's target in
words, ``met`` whether it was reached (None when the figure has no target).
"""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path


@dataclass
class Figure:
    name: str
    value: float
    unit: str
    baseline: float | None = None
    baseline_label: str = ""
    target: str = ""
    met: bool | None = None
    group: str = ""


@dataclass
class Results:
    bench: str
    figures: list[Figure] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def add(self, name: str, value: float, unit: str, **more: object) -> Figure:
        figure = Figure(name, round(float(value), 4), unit, **more)  # type: ignore[arg-type]
        self.figures.append(figure)
        return figure

    def write(self, path: str | Path | None) -> None:
        """Write the results as JSON to ``path`` (nothing when None)."""
        if path is None:
            return
        document = {
            "bench": self.bench,
            "figures": [asdict(f) for f in self.figures],
            "notes": self.notes,
        }
        Path(path).write_text(json.dumps(document, ensure_ascii=False, indent=1), "utf-8")


def add_json_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--json", metavar="FILE", help="also write the figures as JSON (for bench/report.py)"
    )


def load(path: str | Path) -> dict[str, object]:
    data: dict[str, object] = json.loads(Path(path).read_text("utf-8"))
    return data
