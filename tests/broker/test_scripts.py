"""The broker set-up scripts: shellcheck-clean, idempotent, keys private."""

from __future__ import annotations

import shutil
import stat
import subprocess
from pathlib import Path

import pytest

from tests.broker.mosquitto import CONFIG_DIR, MAKE_CERTS

ADD_STATION = CONFIG_DIR / "add-station.sh"
SCRIPTS = [MAKE_CERTS, ADD_STATION]


def run(*argv: str | Path, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", *map(str, argv)], capture_output=True, text=True, timeout=30, check=check
    )


def openssl(*argv: str | Path) -> str:
    done = subprocess.run(
        ["openssl", *map(str, argv)], capture_output=True, text=True, timeout=30, check=True
    )
    return done.stdout


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_script_is_shellcheck_clean(script: Path) -> None:
    shellcheck = shutil.which("shellcheck")
    if shellcheck is None:
        pytest.fail("shellcheck is not installed: `./install.sh --dev` installs it")
    done = subprocess.run(
        [shellcheck, "--severity=style", str(script)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stdout
    assert script.stat().st_mode & stat.S_IXUSR, f"{script.name} is not executable"
    assert "set -euo pipefail" in script.read_text(encoding="utf-8")


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_script_prints_usage(script: Path) -> None:
    assert "Usage:" in run(script, "-h").stdout
    bare = run(script, check=False)
    assert bare.returncode == 2
    assert "Usage:" in bare.stderr


def test_make_certs_builds_a_ca_server_and_station_certificates(tmp_path: Path) -> None:
    run(MAKE_CERTS, "-d", tmp_path, "server", "hub.example.com", "203.0.113.10")
    run(MAKE_CERTS, "-d", tmp_path, "station", "st-a", "st-b")

    ca, server = tmp_path / "ca.crt", tmp_path / "server.crt"
    stations = tmp_path / "stations"
    for key in [tmp_path / "ca.key", tmp_path / "server.key", *stations.glob("*.key")]:
        assert mode(key) == 0o600, key
    assert sorted(p.name for p in stations.iterdir()) == [
        "st-a.crt",
        "st-a.key",
        "st-b.crt",
        "st-b.key",
    ]
    assert openssl("verify", "-CAfile", ca, server, stations / "st-a.crt").count(": OK") == 2

    text = openssl("x509", "-in", server, "-noout", "-text")
    assert "DNS:hub.example.com" in text
    assert "IP Address:203.0.113.10" in text
    assert "TLS Web Server Authentication" in text
    st_a_crt = stations / "st-a.crt"
    subject = openssl("x509", "-in", st_a_crt, "-noout", "-subject", "-nameopt", "RFC2253")
    assert subject.strip() == "subject=CN=st-a"
    st_a = openssl("x509", "-in", stations / "st-a.crt", "-noout", "-text")
    assert "TLS Web Client Authentication" in st_a
    assert "CA:FALSE" in st_a


def test_make_certs_never_overwrites_existing_keys_or_certificates(tmp_path: Path) -> None:
    run(MAKE_CERTS, "-d", tmp_path, "server", "localhost")
    run(MAKE_CERTS, "-d", tmp_path, "station", "st-a")
    files = sorted(p for p in tmp_path.rglob("*") if p.is_file())
    before = {p: p.read_bytes() for p in files}

    again = run(MAKE_CERTS, "-d", tmp_path, "server", "localhost")
    run(MAKE_CERTS, "-d", tmp_path, "station", "st-a", "st-b")

    assert "create" not in again.stdout
    assert {p: p.read_bytes() for p in files} == before
    # A deleted certificate is issued again for the key that is still there.
    (tmp_path / "stations" / "st-a.crt").unlink()
    run(MAKE_CERTS, "-d", tmp_path, "station", "st-a")
    pub = [
        openssl("pkey", "-in", tmp_path / "stations" / "st-a.key", "-pubout"),
        openssl("x509", "-in", tmp_path / "stations" / "st-a.crt", "-noout", "-pubkey"),
    ]
    assert pub[0] == pub[1]


@pytest.mark.parametrize("station", ["St-A", "hub", "hub-ingest-1", "a/b", "-x"])
def test_make_certs_refuses_bad_or_reserved_station_ids(tmp_path: Path, station: str) -> None:
    done = run(MAKE_CERTS, "-d", tmp_path, "station", station, check=False)
    assert done.returncode == 1
    assert "make-certs:" in done.stderr
    assert not (tmp_path / "stations").exists()


def add_station(tmp_path: Path, *argv: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return run(
        ADD_STATION, "-p", tmp_path / "passwd", "-s", tmp_path / "secrets", *argv, check=check
    )


def test_add_station_writes_the_password_and_prints_the_station_config(tmp_path: Path) -> None:
    done = add_station(tmp_path, "-u", "mqtts://hub.example.com:8883", "st-a")

    secret = tmp_path / "secrets" / "st-a.password"
    assert mode(secret) == 0o600
    assert len(secret.read_text(encoding="utf-8").strip()) == 48
    lines = (tmp_path / "passwd").read_text(encoding="utf-8").splitlines()
    assert [line.split(":")[0] for line in lines] == ["st-a"]
    assert lines[0].startswith("st-a:$7$")
    for expected in (
        "[mqtt]",
        'url = "mqtts://hub.example.com:8883"',
        'username = "st-a"',
        'password_file = "/etc/printstation/mqtt-password"',
        'ca_file = "/etc/printstation/ca.crt"',
    ):
        assert expected in done.stdout


def test_add_station_is_idempotent_and_rotates_on_request(tmp_path: Path) -> None:
    add_station(tmp_path, "st-a")
    add_station(tmp_path, "st-b")
    secret = tmp_path / "secrets" / "st-a.password"
    first = secret.read_text(encoding="utf-8")

    add_station(tmp_path, "st-a")
    assert secret.read_text(encoding="utf-8") == first
    add_station(tmp_path, "-r", "st-a")
    assert secret.read_text(encoding="utf-8") != first

    names = [line.split(":")[0] for line in (tmp_path / "passwd").read_text().splitlines()]
    assert names == ["st-a", "st-b"]


def test_add_station_keeps_hub_names_for_the_hub(tmp_path: Path) -> None:
    refused = add_station(tmp_path, "hub", check=False)
    assert refused.returncode == 1
    assert "reserved for the hub" in refused.stderr
    assert add_station(tmp_path, "-H", "st-a", check=False).returncode == 1
    assert add_station(tmp_path, "Bad_Id", check=False).returncode == 1
    assert not (tmp_path / "passwd").exists()

    hub = add_station(tmp_path, "-H", "hub")
    assert 'url = "mqtt://127.0.0.1:1883"' in hub.stdout
    assert (tmp_path / "passwd").read_text(encoding="utf-8").startswith("hub:$7$")
