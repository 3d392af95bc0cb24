"""install.sh: shellcheck-clean; a station install into a throw-away root (files, users,
groups, units enabled and verified) that a second run leaves untouched, then --uninstall;
and --dev into a fresh copy of the checkout."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.appliance.units import verify
from tests.conftest import REPO

SCRIPTS = [REPO / "install.sh", REPO / "firmware_config/kiosk/kiosk-browser"]
STATION_UNITS = [
    "printstation-kiosk.service",
    "printstation-scanner.service",
    "printstation-spooler.service",
    "printstation-sync.service",
    "printstation-browser.service",
]


def test_scripts_are_shellcheck_clean():
    shellcheck = shutil.which("shellcheck")
    assert shellcheck, "shellcheck is missing: ./install.sh --dev installs it"
    out = subprocess.run(
        [shellcheck, *map(str, SCRIPTS)], capture_output=True, text=True, check=False
    )
    assert out.returncode == 0, out.stdout


def fresh_copy(dest: Path) -> Path:
    """The checkout's files (tracked and new, not ignored ones such as .venv) in ``dest``."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO,
        capture_output=True,
        check=True,
    ).stdout.split(b"\0")
    for name in filter(None, listed):
        source = REPO / os.fsdecode(name)
        if source.is_file():
            target = dest / os.fsdecode(name)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    return dest


def snapshot(root: Path) -> dict[str, tuple[int, int, int, str]]:
    """Every path under ``root`` with its mode, owner, mtime and content hash."""
    found = {}
    for path in sorted(root.rglob("*")):
        st = path.lstat()
        digest = ""
        if path.is_file() and not path.is_symlink():
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
        elif path.is_symlink():
            digest = os.readlink(path)
        found[str(path.relative_to(root))] = (st.st_mode, st.st_uid, st.st_mtime_ns, digest)
    return found


def run_install(src: Path, root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PRINTSTATION_ROOT": str(root)}
    env.pop("VIRTUAL_ENV", None)
    return subprocess.run(
        ["bash", str(src / "install.sh"), *args],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )


def entry(root: Path, name: str, file: str) -> list[str]:
    for line in (root / "etc" / file).read_text().splitlines():
        if line.split(":")[0] == name:
            return line.split(":")
    raise AssertionError(f"{name} not in {file}")


@pytest.mark.slow
@pytest.mark.timeout(600)
@pytest.mark.skipif(os.geteuid() != 0, reason="creates users and root-owned files (run as root)")
def test_station_install_into_a_throwaway_root_is_idempotent(tmp_path):
    src = fresh_copy(tmp_path / "src")
    root = tmp_path / "root"
    (root / "etc").mkdir(parents=True)
    for name in ("passwd", "group", "shadow", "gshadow", "login.defs"):
        if Path("/etc", name).exists():
            shutil.copy2(Path("/etc", name), root / "etc" / name)
    (root / "etc/group").write_text(
        (root / "etc/group").read_text()
        + "".join(
            f"{g}:x:{gid}:\n"
            for g, gid in (("lp", 7), ("input", 105), ("dialout", 20), ("video", 44))
            if f"\n{g}:" not in "\n" + (root / "etc/group").read_text()
        )
    )

    first = run_install(src, root)
    assert first.returncode == 0, first.stdout + first.stderr
    for step in range(1, 7):
        assert f"==> {step}." in first.stdout
    assert "Next:" in first.stdout

    # The venv, the command and the launcher.
    assert (root / "opt/printstation/bin/printstation").is_file()
    version = subprocess.run(
        [str(root / "opt/printstation/bin/printstation"), "--version"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert version.stdout.startswith("printstation ")
    assert os.readlink(root / "usr/local/bin/printstation") == "/opt/printstation/bin/printstation"
    assert (root / "opt/printstation/libexec/kiosk-browser").stat().st_mode & 0o111

    # Users and groups.
    user = entry(root, "printstation", "passwd")
    assert user[5] == "/var/lib/printstation" and user[6] == "/usr/sbin/nologin"
    for group in ("lp", "input", "dialout", "video"):
        assert "printstation" in entry(root, group, "group")[3].split(","), group
    assert "printstation-kiosk" in entry(root, "video", "group")[3].split(",")

    # Config only from the example, readable by the service's group; data dir owned by it.
    config = root / "etc/printstation/station.toml"
    assert config.read_text() == (src / "firmware_config/examples/station.toml").read_text()
    assert config.stat().st_mode & 0o777 == 0o640
    assert config.stat().st_gid == int(user[3])
    data = root / "var/lib/printstation"
    assert data.stat().st_uid == int(user[2]) and data.stat().st_mode & 0o777 == 0o750
    assert (root / "etc/printstation/credentials").stat().st_mode & 0o777 == 0o700

    # Device rules and system settings.
    assert (root / "etc/udev/rules.d/60-printstation.rules").is_file()
    assert (root / "etc/systemd/journald.conf.d/printstation.conf").is_file()

    # Units installed, enabled, and valid where they are.
    unit_dir = root / "etc/systemd/system"
    assert os.readlink(unit_dir / "multi-user.target.wants/printstation.target").endswith(
        "printstation.target"
    )
    for unit in STATION_UNITS:
        assert (unit_dir / unit).is_file()
        assert (unit_dir / "printstation.target.wants" / unit).is_symlink()
    assert not list(unit_dir.glob("printstation-hub*"))
    out = verify(root, [*STATION_UNITS, "printstation.target"])
    assert out.returncode == 0, out.stderr

    # A second run changes nothing, and an edited config survives it.
    config.write_text(config.read_text() + "\n# edited\n")
    before = snapshot(root)
    second = run_install(src, root)
    assert second.returncode == 0, second.stdout + second.stderr
    assert "nothing changed" in second.stdout
    assert snapshot(root) == before

    # Uninstall removes what the install added and keeps config and data.
    gone = run_install(src, root, "--uninstall")
    assert gone.returncode == 0, gone.stdout + gone.stderr
    assert not (root / "opt/printstation").exists()
    assert not list(unit_dir.glob("printstation*"))
    assert not (unit_dir / "multi-user.target.wants/printstation.target").exists()
    assert not (root / "etc/udev/rules.d/60-printstation.rules").exists()
    assert config.read_text().endswith("# edited\n")
    assert data.is_dir()


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_dev_install_into_a_fresh_copy(tmp_path):
    src = fresh_copy(tmp_path / "clone")
    env = {k: v for k, v in os.environ.items() if k != "VIRTUAL_ENV"}
    first = subprocess.run(
        ["./install.sh", "--dev"],
        cwd=src,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert first.returncode == 0, first.stdout + first.stderr
    for tool in ("pytest", "ruff", "mypy", "printstation"):
        assert (src / ".venv/bin" / tool).exists(), tool
    shown = subprocess.run(
        [
            str(src / ".venv/bin/python"),
            "-c",
            "import edge, cloud, playwright; print(edge.__file__)",
        ],
        cwd=tmp_path,  # not the checkout: the import must come through the venv
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert shown.stdout.strip() == str(src / "edge/__init__.py")  # editable install
    second = subprocess.run(
        ["./install.sh", "--dev"],
        cwd=src,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert second.returncode == 0
    assert "up to date" in second.stdout
