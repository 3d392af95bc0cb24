"""Example configuration files, generated from the config schemas so they cannot drift.

``python -m edge.configexample station`` (or ``hub``) prints the commented example kept in
``firmware_config/examples/``; ``--write`` rewrites both files. Every key of every section
is listed with its description; keys left at their default are commented out, so the file
shows what can be set without pinning defaults. A test checks that the files equal the
output and that they validate.
"""

from __future__ import annotations

import json
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

from pydantic import BaseModel

EXAMPLES = Path(__file__).resolve().parent.parent / "firmware_config" / "examples"

# Values that differ from the defaults (or fill required keys), per section.
STATION_VALUES: dict[str, dict[str, Any]] = {
    "station": {
        "id": "st-01",
        "tenant": "acme",
        "store": "store-sz-01",
        "store_name": "深圳南山店",
        "sender_address": "广东省深圳市南山区科技园路1号",
        "sender_phone": "0755-88880000",
    },
    # A new station pairs itself: the hub hands over the broker URL and credentials.
    "pairing": {"hub_url": "https://hub.example.com"},
}
STATION_PRINTERS: dict[str, dict[str, Any]] = {
    "receipt": {
        "type": "usb",
        "role": "receipt",
        "profile": "TM-T20II",
        "cjk": "raster",
        "vendor_id": "04b8",
        "product_id": "0e15",
    },
    "label": {
        "type": "network",
        "role": "label",
        "language": "tspl",
        "host": "192.0.2.50",
    },
}
STATION_SCANNERS: dict[str, dict[str, Any]] = {
    "handheld": {"type": "evdev", "vendor_id": "05e0", "product_id": "1200", "grab": True},
    "bench-camera": {"type": "camera", "device": "/dev/video0"},
}
HUB_VALUES: dict[str, dict[str, Any]] = {
    "hub": {"database": "postgresql://printstation@127.0.0.1/printstation", "tenants": ["acme"]},
    "mqtt": {"password_file": "/etc/printstation/mqtt-password"},
    "pairing": {
        "station_mqtt_url": "mqtts://hub.example.com:8883",
        "ca_file": "/etc/mosquitto/printstation/ca.crt",
    },
}

STATION_HEADER = """\
# printstation station configuration (/etc/printstation/station.toml).
# Generated from the schema by `python -m edge.configexample station`; every key is described
# in docs/configuration.md. Keys commented out show their default. Check with:
#   printstation check-config /etc/printstation/station.toml
# As it stands the station pairs itself with the hub at [pairing] hub_url on first boot
# (docs/appliance.md). To provision it by hand instead, set [mqtt] url and password_file.
# Secrets never go here: they are files named by *_file keys. A bare name is a systemd
# credential: each file in /etc/printstation/credentials/ reaches the services as
# station_NAME (LoadCredential=), e.g. credentials/mqtt-password → "station_mqtt-password".
"""
HUB_HEADER = """\
# printstation hub configuration (/etc/printstation/hub.toml).
# Generated from the schema by `python -m edge.configexample hub`. Keys commented out show
# their default. Check with:  printstation check-config /etc/printstation/hub.toml
# The database may be a SQLite file path instead of a postgresql:// URL (small hubs, tests).
"""


def toml_value(value: Any) -> str:
    """``value`` as a TOML literal (strings, numbers, booleans, paths, lists)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, Decimal):
        return json.dumps(str(value))
    if isinstance(value, Path):
        return json.dumps(str(value), ensure_ascii=False)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        items = ", ".join(
            f"{json.dumps(k, ensure_ascii=False)} = {toml_value(v)}" for k, v in value.items()
        )
        return "{ " + items + " }" if items else "{}"
    raise TypeError(f"no TOML form for {value!r}")


def _section(heading: str, model: type[BaseModel], values: dict[str, Any]) -> list[str]:
    lines = [f"[{heading}]"]
    for name, field in model.model_fields.items():
        if field.description:
            lines.append(f"# {field.description}")
        if name in values:
            lines.append(f"{name} = {toml_value(values[name])}")
        elif field.is_required():
            raise ValueError(f"[{heading}] {name} is required: give it an example value")
        else:
            default = field.get_default(call_default_factory=True)
            lines.append(f"# {name} =" if default is None else f"# {name} = {toml_value(default)}")
    return [*lines, ""]


def _member(union: Any, kind: str) -> type[BaseModel]:
    """The model of a ``type``-discriminated union member named ``kind``."""
    members = union.__origin__.__args__ if hasattr(union, "__origin__") else union.__args__
    for model in members:
        if kind in model.model_fields["type"].annotation.__args__:
            return model
    raise ValueError(f"no member with type = {kind!r}")


def _sections(
    root: type[BaseModel], values: dict[str, dict[str, Any]], skip: tuple[str, ...] = ()
) -> list[str]:
    lines: list[str] = []
    for name, field in root.model_fields.items():
        annotation = field.annotation
        if name in skip or not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
            continue
        lines += _section(name, annotation, values.get(name, {}))
    return lines


def station_example() -> str:
    """The example station config, from :class:`edge.config.StationConfig`."""
    from edge.config import StationConfig

    lines = [STATION_HEADER, *_sections(StationConfig, STATION_VALUES)]
    for section, examples in (("printers", STATION_PRINTERS), ("scanners", STATION_SCANNERS)):
        union = StationConfig.model_fields[section].annotation.__args__[1]  # type: ignore[union-attr]
        for name, values in examples.items():
            model = _member(union, values["type"])
            lines.append(f"# {(model.__doc__ or '').strip().splitlines()[0]}")
            lines += _section(f"{section}.{name}", model, values)
    return "\n".join(lines).rstrip() + "\n"


def hub_example() -> str:
    """The example hub config, from :class:`cloud.config.HubConfig`."""
    from cloud.config import HubConfig

    return "\n".join([HUB_HEADER, *_sections(HubConfig, HUB_VALUES)]).rstrip() + "\n"


GENERATORS = {"station": station_example, "hub": hub_example}


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args == ["--write"]:
        for name, generate in GENERATORS.items():
            (EXAMPLES / f"{name}.toml").write_text(generate(), encoding="utf-8")
        return 0
    if len(args) != 1 or args[0] not in GENERATORS:
        print("usage: python -m edge.configexample station|hub|--write", file=sys.stderr)
        return 2
    sys.stdout.write(GENERATORS[args[0]]())
    return 0


if __name__ == "__main__":
    sys.exit(main())
