"""The example configs are generated from the schemas and valid; the printer profiles, udev
rules and other device files are well-formed."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib

import pytest

from cloud.config import load_hub_config
from edge.config import load_config, parse_config
from edge.configexample import EXAMPLES, hub_example, station_example, toml_value
from tests.conftest import REPO

FIRMWARE = REPO / "firmware_config"


@pytest.mark.parametrize(("name", "generate"), [("station", station_example), ("hub", hub_example)])
def test_example_matches_the_schema(name, generate):
    text = (EXAMPLES / f"{name}.toml").read_text(encoding="utf-8")
    assert text == generate(), "the schema changed: run python -m edge.configexample --write"


def test_station_example_validates_and_lists_every_key():
    config = load_config(EXAMPLES / "station.toml")
    assert config.station.id == "st-01"
    assert {p.role for p in config.printers.values()} == {"receipt", "label"}
    text = (EXAMPLES / "station.toml").read_text(encoding="utf-8")
    for section in ("http", "spooler", "packing", "kiosk", "sync"):
        model = type(getattr(config, section))
        for key in model.model_fields:
            assert re.search(rf"^# {key} =|^{key} =", text, re.M), f"[{section}] {key} missing"


def test_hub_example_validates():
    config = load_hub_config(EXAMPLES / "hub.toml")
    assert config.hub.database.startswith("postgresql://")
    assert config.hub.tenants == ["acme"]


@pytest.mark.parametrize("name", ["station", "hub"])
def test_check_config_accepts_the_examples(name):
    out = subprocess.run(
        [sys.executable, "-m", "edge.cli", "check-config", str(EXAMPLES / f"{name}.toml")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    assert ": ok" in out.stdout


def test_generator_output_round_trips_through_toml():
    assert tomllib.loads(f"x = {toml_value({'a': [1, 2.5, True], 'b': 'é'})}") == {
        "x": {"a": [1, 2.5, True], "b": "é"}
    }
    with pytest.raises(TypeError):
        toml_value(object())


@pytest.mark.parametrize("profile", sorted((FIRMWARE / "profiles").glob("*.toml")), ids=str)
def test_printer_profile_validates(profile):
    header = '[station]\nid = "st-01"\ntenant = "t"\nstore = "s"\n'
    config = parse_config(header + profile.read_text(encoding="utf-8"), str(profile))
    [printer] = config.printers.values()
    if printer.role == "label":
        assert printer.language == "tspl" and printer.label_size_mm == (100, 150)
    else:
        assert printer.width_mm in (58, 80)


UDEV_KEY = re.compile(
    r'^(?P<key>[A-Z_]+)(\{(?P<attr>[A-Za-z0-9_.-]+)\})?(?P<op>==|!=|\+=|-=|:=|=)"(?P<value>[^"]*)"$'
)
MATCH_KEYS = {"ACTION", "SUBSYSTEM", "KERNEL", "ATTR", "ATTRS", "ENV", "TAG"}
ASSIGN_KEYS = {"GROUP", "MODE", "SYMLINK", "TAG", "ENV", "IMPORT", "GOTO", "LABEL"}


def test_udev_rules_are_well_formed():
    rules = (FIRMWARE / "udev" / "60-printstation.rules").read_text(encoding="utf-8")
    labels, gotos, symlinks = set(), set(), []
    for number, line in enumerate(rules.splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        for part in line.split(", "):
            m = UDEV_KEY.match(part.strip())
            assert m, f"line {number}: cannot parse {part!r}"
            key, op, value = m["key"], m["op"], m["value"]
            if op in ("==", "!="):
                assert key in MATCH_KEYS, f"line {number}: {key} is not a match key"
            else:
                assert key in ASSIGN_KEYS, f"line {number}: {key} cannot be assigned"
            if key == "MODE":
                assert value == "0660", "devices are group-accessible, never world-writable"
            if key == "GROUP":
                assert value in ("lp", "input", "dialout", "video")
            if key == "SYMLINK":
                symlinks.append(value)
            if key == "LABEL":
                labels.add(value)
            if key == "GOTO":
                gotos.add(value)
    assert gotos <= labels
    assert symlinks and all(s.startswith("printstation/") for s in symlinks)


def test_journald_and_boot_settings():
    journald = (FIRMWARE / "journald" / "printstation.conf").read_text(encoding="utf-8")
    assert re.search(r"^SystemMaxUse=\d+M$", journald, re.M)
    boot = (FIRMWARE / "boot" / "config.txt").read_text(encoding="utf-8")
    assert "dtparam=watchdog=on" in boot
    system = (FIRMWARE / "boot" / "system.conf").read_text(encoding="utf-8")
    assert re.search(r"^RuntimeWatchdogSec=\d+s$", system, re.M)
    assert "consoleblank=0" in (FIRMWARE / "boot" / "cmdline.txt.append").read_text()
