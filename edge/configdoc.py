"""The configuration reference, generated from the config schemas so it cannot drift.

``python -m edge.configdoc`` prints the station and hub references kept between the markers
in ``docs/configuration.md``; ``--write`` puts them there. A test fails when they differ.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from edge.config import StationConfig

BEGIN = "<!-- BEGIN GENERATED REFERENCE -->"
END = "<!-- END GENERATED REFERENCE -->"
HUB_BEGIN = "<!-- BEGIN GENERATED HUB REFERENCE -->"
HUB_END = "<!-- END GENERATED HUB REFERENCE -->"
DOC = Path(__file__).resolve().parents[1] / "docs" / "configuration.md"


def _type(prop: dict[str, Any]) -> str:
    if "enum" in prop:
        return " \\| ".join(f"`{json.dumps(v, ensure_ascii=False)}`" for v in prop["enum"])
    if "const" in prop:
        return f"`{json.dumps(prop['const'], ensure_ascii=False)}`"
    if "anyOf" in prop:
        return " or ".join(_type(p) for p in prop["anyOf"] if p.get("type") != "null")
    kind = prop.get("type", "")
    if kind == "array":
        return f"list of {_type(prop.get('items', {}))}"
    if prop.get("format") == "path":
        return "path"
    return str(kind) or "value"


def _bounds(prop: dict[str, Any]) -> str:
    marks = []
    for key, sign in (
        ("minimum", "≥"),
        ("exclusiveMinimum", ">"),
        ("maximum", "≤"),
        ("exclusiveMaximum", "<"),
        ("maxLength", "length ≤"),
    ):
        for p in [prop, *prop.get("anyOf", [])]:
            if key in p:
                marks.append(f"{sign} {p[key]}")
    return ", ".join(marks)


def _table(model: type[BaseModel], heading: str) -> list[str]:
    schema = model.model_json_schema()
    required = set(schema.get("required", []))
    lines = [f"### `{heading}`", ""]
    if model.__doc__ and model.__doc__.strip():
        lines += [model.__doc__.strip().splitlines()[0], ""]
    lines += ["| key | type | default | description |", "|---|---|---|---|"]
    for name, field in model.model_fields.items():
        prop = schema["properties"][name]
        if "$ref" in prop or name in ("printers", "scanners"):
            continue
        default = (
            "*required*"
            if name in required
            else (
                f"`{json.dumps(prop.get('default'), ensure_ascii=False)}`"
                if "default" in prop
                else ""
            )
        )
        bounds = _bounds(prop)
        kind = _type(prop) + (f" ({bounds})" if bounds else "")
        lines.append(f"| `{name}` | {kind} | {default} | {field.description or ''} |")
    return [*lines, ""]


def reference() -> str:
    lines: list[str] = []
    for name, field in StationConfig.model_fields.items():
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            lines += _table(annotation, f"[{name}]")
    for section, _union in (("printers", "PrinterConfig"), ("scanners", "ScannerConfig")):
        field = StationConfig.model_fields[section]
        lines += [f"## `[{section}.NAME]`", "", field.description or "", ""]
        value_type = field.annotation.__args__[1]  # type: ignore[union-attr]
        members = value_type.__origin__.__args__ if hasattr(value_type, "__origin__") else ()
        for model in members:
            kind = model.model_fields["type"].annotation.__args__[0]
            lines += _table(model, f'[{section}.NAME] type = "{kind}"')
    return "\n".join(lines).rstrip() + "\n"


def hub_reference() -> str:
    """The hub config's sections (the hub's schema is plain pydantic, like the station's)."""
    from cloud.config import HubConfig

    lines: list[str] = []
    for name, field in HubConfig.model_fields.items():
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            lines += _table(annotation, f"[{name}]")
    return "\n".join(lines).rstrip() + "\n"


def _between(text: str, begin: str, end: str, body: str) -> str:
    head, rest = text.split(begin, 1)
    return f"{head}{begin}\n{body.strip()}\n{end}{rest.split(end, 1)[1]}"


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if "--write" in args:
        text = DOC.read_text(encoding="utf-8")
        text = _between(text, BEGIN, END, reference())
        text = _between(text, HUB_BEGIN, HUB_END, hub_reference())
        DOC.write_text(text, encoding="utf-8")
        return 0
    sys.stdout.write(reference() + "\n" + hub_reference())
    return 0


if __name__ == "__main__":
    sys.exit(main())
