"""The systemd units: `systemd-analyze verify` clean, notify + watchdog, restart budget,
exit 78 not restarted, a dedicated user, hardening, and devices limited per service."""

from __future__ import annotations

import shutil
import stat

import pytest

from tests.appliance.units import read_unit, values, verify
from tests.conftest import REPO

UNITS = REPO / "systemd"
STATION = [
    "printstation-kiosk",
    "printstation-scanner",
    "printstation-spooler",
    "printstation-sync",
]
HUB = ["printstation-hub-web", "printstation-hub-ingest@"]


@pytest.fixture
def root(tmp_path):
    """A throw-away root holding our units and the programs they run."""
    unit_dir = tmp_path / "etc/systemd/system"
    unit_dir.mkdir(parents=True)
    for unit in UNITS.iterdir():
        shutil.copy(unit, unit_dir / unit.name)
    bin_dir = tmp_path / "opt/printstation/bin"
    bin_dir.mkdir(parents=True)
    shutil.copy(REPO / ".venv/bin/printstation", bin_dir / "printstation")
    libexec = tmp_path / "opt/printstation/libexec"
    libexec.mkdir()
    shutil.copy(REPO / "firmware_config/kiosk/kiosk-browser", libexec / "kiosk-browser")
    (tmp_path / "usr/bin").mkdir(parents=True)
    shutil.copy("/usr/bin/systemctl", tmp_path / "usr/bin/systemctl")
    return tmp_path


def test_every_unit_verifies(root):
    names = sorted(p.name for p in UNITS.iterdir())
    assert len(names) == 11
    out = verify(root, names)
    assert out.returncode == 0 and not out.stderr.strip(), out.stderr


def test_a_missing_program_fails_verification(root):
    (root / "opt/printstation/libexec/kiosk-browser").unlink()
    out = verify(root, ["printstation-browser.service"])
    assert out.returncode != 0
    assert "kiosk-browser" in out.stderr


@pytest.mark.parametrize("name", STATION + HUB)
def test_service_is_notify_with_watchdog_and_restart_budget(name):
    unit = read_unit(UNITS / f"{name}.service")
    svc, head = unit["Service"], unit["Unit"]
    assert values(svc, "Type") == ["notify"]
    assert values(svc, "WatchdogSec") == ["30s"]
    assert values(svc, "Restart") == ["on-failure"]
    assert values(svc, "RestartPreventExitStatus") == ["78"]
    assert values(head, "StartLimitIntervalSec") and values(head, "StartLimitBurst")
    assert "printstation" in values(svc, "ExecStart")[0]


@pytest.mark.parametrize("name", STATION + HUB)
def test_service_runs_hardened_as_its_own_user(name):
    svc = read_unit(UNITS / f"{name}.service")["Service"]
    assert values(svc, "User")[0] in ("printstation", "printstation-hub")
    for key, expected in (
        ("ProtectSystem", "strict"),
        ("NoNewPrivileges", "yes"),
        ("PrivateTmp", "yes"),
        ("ProtectHome", "yes"),
        ("CapabilityBoundingSet", ""),
    ):
        assert values(svc, key) == [expected], key
    assert values(svc, "StateDirectory")
    assert values(svc, "ConfigurationDirectory") == ["printstation"]


def test_devices_are_limited_to_what_each_service_needs():
    def devices(name):
        svc = read_unit(UNITS / f"{name}.service")["Service"]
        return (
            values(svc, "PrivateDevices"),
            values(svc, "DevicePolicy"),
            values(svc, "DeviceAllow"),
        )

    assert devices("printstation-kiosk")[0] == ["yes"]
    assert devices("printstation-sync")[0] == ["yes"]
    _, policy, allowed = devices("printstation-scanner")
    assert policy == ["closed"]
    assert {a.split()[0] for a in allowed} == {
        "char-input",
        "char-ttyACM",
        "char-ttyUSB",
        "char-video4linux",
    }
    _, policy, allowed = devices("printstation-spooler")
    assert policy == ["closed"]
    assert "char-usb_device" in {a.split()[0] for a in allowed}
    assert not any("input" in a or "video" in a for a in allowed)


def test_secrets_come_as_credentials():
    svc = read_unit(UNITS / "printstation-sync.service")["Service"]
    assert values(svc, "LoadCredential") == ["station:/etc/printstation/credentials"]


def test_target_wants_every_station_service():
    wants = values(read_unit(UNITS / "printstation.target")["Unit"], "Wants")[0].split()
    assert set(wants) == {f"{n}.service" for n in STATION} | {"printstation-browser.service"}
    for name in [*STATION, "printstation-browser"]:
        unit = read_unit(UNITS / f"{name}.service")
        assert values(unit["Install"], "WantedBy") == ["printstation.target"]
        assert values(unit["Unit"], "PartOf") == ["printstation.target"]


def test_hub_ingest_is_a_template_for_n_workers():
    unit = read_unit(UNITS / "printstation-hub-ingest@.service")
    assert "%i" in values(unit["Unit"], "Description")[0]
    assert values(unit["Service"], "ExecStart")[0].endswith("--role ingest")
    assert values(unit["Install"], "WantedBy") == ["printstation-hub.target"]


def test_kiosk_browser_unit_and_launcher():
    unit = read_unit(UNITS / "printstation-browser.service")
    assert values(unit["Service"], "ExecStart") == ["/opt/printstation/libexec/kiosk-browser"]
    assert values(unit["Service"], "Restart") == ["always"]
    launcher = REPO / "firmware_config/kiosk/kiosk-browser"
    assert launcher.stat().st_mode & stat.S_IXUSR
    text = launcher.read_text(encoding="utf-8")
    for flag in (
        "--kiosk",
        "--noerrdialogs",
        "--disable-pinch",
        "--disable-session-crashed-bubble",
    ):
        assert flag in text


def test_broker_reload_follows_the_password_file():
    path = read_unit(UNITS / "printstation-hub-broker-reload.path")
    assert values(path["Path"], "PathChanged") == ["/etc/mosquitto/printstation/passwd"]
    service = read_unit(UNITS / "printstation-hub-broker-reload.service")["Service"]
    assert "reload" in values(service, "ExecStart")[0]
    web = read_unit(UNITS / "printstation-hub-web.service")["Service"]
    assert values(web, "ReadWritePaths") == ["-/etc/mosquitto/printstation"]
