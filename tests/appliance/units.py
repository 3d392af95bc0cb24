"""Helpers for the systemd unit tests: a throw-away root that ``systemd-analyze verify
--root`` can check units in, and a reader for unit files (repeated keys kept)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

SYSTEM_UNITS = Path("/usr/lib/systemd/system")


def systemd_analyze() -> str:
    found = shutil.which("systemd-analyze")
    if found is None:
        pytest.fail("systemd-analyze is missing: ./install.sh --dev installs the systemd package")
    return found


def prepare_root(root: Path) -> None:
    """Give ``root`` the distribution's units (targets the ours refer to)."""
    target = root / "usr/lib/systemd/system"
    if not target.exists():
        shutil.copytree(SYSTEM_UNITS, target, symlinks=True)


def verify(root: Path, names: list[str]) -> subprocess.CompletedProcess[str]:
    """``systemd-analyze verify`` of units installed under ``root``/etc/systemd/system."""
    prepare_root(root)
    return subprocess.run(
        [systemd_analyze(), "verify", f"--root={root}", *names],
        cwd=root / "etc/systemd/system",
        capture_output=True,
        text=True,
        check=False,
    )


def read_unit(path: Path) -> dict[str, list[tuple[str, str]]]:
    """Sections of a unit file as lists of (key, value), in order, repeats included."""
    sections: dict[str, list[tuple[str, str]]] = {}
    current = None
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            current = sections.setdefault(line.strip("[]"), [])
            continue
        key, _, value = line.partition("=")
        assert current is not None, f"{path}: {line!r} outside a section"
        current.append((key, value))
    return sections


def values(section: list[tuple[str, str]], key: str) -> list[str]:
    return [v for k, v in section if k == key]
