"""The station config: strict, every error reported with its key path, docs that cannot drift."""

from pathlib import Path

import pytest

from edge.config import ConfigError, load_config, parse_config
from edge.configdoc import BEGIN, END, HUB_BEGIN, HUB_END, hub_reference, reference

REPO = Path(__file__).resolve().parents[2]
MINIMAL = '[station]\nid = "st-01"\ntenant = "t"\nstore = "s"\n'


def problems(text: str) -> dict[str, str]:
    with pytest.raises(ConfigError) as err:
        parse_config(text)
    return dict(err.value.problems)


def test_minimal_config_has_secure_defaults():
    config = parse_config(MINIMAL)
    assert config.http.bind == "127.0.0.1"
    assert config.station.language == "zh-CN"
    assert config.printers == {} and config.scanners == {}


def test_unknown_keys_are_errors_with_their_path():
    found = problems(MINIMAL + "bogus = 1\n[http]\nport = 99999\nfoo = 2\n")
    assert "station.bogus" in found
    assert "http.port" in found
    assert "http.foo" in found


def test_missing_and_malformed():
    assert "station.tenant" in problems('[station]\nid = "st-01"\nstore = "s"\n')
    assert "station.id" in problems('[station]\nid = "Bad Id!"\ntenant = "t"\nstore = "s"\n')
    assert "(toml)" in problems("[station\n")
    found = problems(MINIMAL + '[mqtt]\nurl = "http://x"\n')
    assert "mqtt.url" in found


def test_printer_and_scanner_types_are_checked():
    found = problems(MINIMAL + '[printers.p]\ntype = "laser"\nrole = "receipt"\n')
    assert any(k.startswith("printers.p") for k in found)
    found = problems(MINIMAL + '[scanners.s]\ntype = "simulated"\nnope = 1\n')
    assert any(k.startswith("scanners.s") for k in found)
    found = problems(
        MINIMAL + '[printers.a]\ntype = "simulated"\nrole = "receipt"\n'
        '[printers.b]\ntype = "simulated"\nrole = "receipt"\n'
    )
    assert "printers" in found or "(top)" in found


def test_unreadable_file(tmp_path):
    with pytest.raises(ConfigError) as err:
        load_config(tmp_path / "missing.toml")
    assert err.value.problems[0][0] == "(file)"


def test_example_config_is_valid():
    config = load_config(REPO / "firmware_config" / "examples" / "station.toml")
    assert {p.role for p in config.printers.values()} == {"receipt", "label"}


def test_reference_in_docs_is_generated_from_the_schema():
    doc = (REPO / "docs" / "configuration.md").read_text(encoding="utf-8")
    generated = doc.split(BEGIN, 1)[1].split(END, 1)[0].strip()
    assert generated == reference().strip(), "run: python -m edge.configdoc --write"
    hub = doc.split(HUB_BEGIN, 1)[1].split(HUB_END, 1)[0].strip()
    assert hub == hub_reference().strip(), "run: python -m edge.configdoc --write"
