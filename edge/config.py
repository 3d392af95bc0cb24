"""The station configuration: one strict, typed schema read from a TOML file.

Unknown keys are errors, every field is described, and secrets are read from files (or
systemd credentials) named here, never written in the TOML itself.
"""

from __future__ import annotations

import json
import os
import re
import tomllib
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from edge.scanner.sources import ScannerConfig
from edge.spooler.backends import PrinterConfig

EX_CONFIG = 78  # sysexits.h EX_CONFIG; systemd units use RestartPreventExitStatus=78
_ID = r"^[a-z0-9][a-z0-9_-]{0,62}$"


class ConfigError(Exception):
    """The configuration is missing or invalid; ``problems`` holds (key path, message) pairs."""

    def __init__(self, source: str, problems: list[tuple[str, str]]):
        self.source = source
        self.problems = problems
        lines = "; ".join(f"{path}: {msg}" for path, msg in problems)
        super().__init__(f"{source}: {lines}")


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class StationSection(Strict):
    id: Annotated[str, Field(pattern=_ID, description="Station id; also its MQTT username.")]
    tenant: Annotated[
        str, Field(pattern=_ID, description="Tenant (company) the station belongs to.")
    ]
    store: Annotated[str, Field(pattern=_ID, description="Store (site) the station stands in.")]
    store_name: str = Field(default="", max_length=80, description="Store name printed on tickets.")
    language: Literal["zh-CN", "en"] = Field(
        default="zh-CN", description="Default UI and ticket language."
    )
    currency: str = Field(
        default="¥", max_length=4, description="Currency symbol printed with prices."
    )
    data_dir: Path = Field(
        default=Path("/var/lib/printstation"),
        description="Where the station database and runtime sockets live.",
    )
    sender_address: str = Field(
        default="", max_length=200, description="Sender address printed on shipping labels."
    )
    sender_phone: str = Field(
        default="", max_length=32, description="Sender phone printed on labels."
    )


class MqttSection(Strict):
    url: str = Field(
        default="mqtt://127.0.0.1:1883",
        pattern=r"^mqtts?://[^\s/]+(:\d+)?/?$",
        description="Broker URL: mqtt:// (plain) or mqtts:// (TLS).",
    )
    username: str | None = Field(
        default=None, description="MQTT username (defaults to the station id)."
    )
    password_file: Path | None = Field(default=None, description="File holding the MQTT password.")
    ca_file: Path | None = Field(default=None, description="CA certificate for mqtts://.")
    cert_file: Path | None = Field(default=None, description="Client certificate for mqtts://.")
    key_file: Path | None = Field(default=None, description="Client key for mqtts://.")


class HttpSection(Strict):
    bind: str = Field(
        default="127.0.0.1", description="Address the kiosk listens on (localhost by default)."
    )
    port: int = Field(default=8080, ge=1, le=65535, description="Kiosk HTTP port.")
    threads: int = Field(
        default=16, ge=2, le=256, description="HTTP worker threads (live streams hold one)."
    )
    token_file: Path | None = Field(
        default=None,
        description="File with the API bearer token; default DATA_DIR/secrets/api-token, "
        "created on first start.",
    )
    secret_key_file: Path | None = Field(
        default=None,
        description="File with the session signing key; default DATA_DIR/secrets/session-key.",
    )
    session_minutes: int = Field(default=480, ge=5, le=1440, description="Staff session lifetime.")
    max_request_kb: int = Field(
        default=256, ge=16, le=65536, description="Largest accepted request body."
    )


class SpoolerSection(Strict):
    retry_base_s: float = Field(
        default=1.0, gt=0, le=60, description="First retry delay after a failure."
    )
    retry_max_s: float = Field(
        default=60.0, gt=0, le=3600, description="Longest retry delay (backoff cap)."
    )
    max_attempts: int = Field(
        default=20, ge=1, le=1000, description="Attempts before a job is marked failed."
    )
    status_interval_s: float = Field(
        default=5.0,
        gt=0,
        le=300,
        description="How often an idle or paused printer is asked for status.",
    )


class PackingSection(Strict):
    label_role: Literal["label", "receipt"] = Field(
        default="label", description="Printer role used for shipping labels of delivery orders."
    )
    auto_print: bool = Field(
        default=True, description="Print the label as soon as an order is packed."
    )


class SyncSection(Strict):
    batch_events: int = Field(default=200, ge=1, le=200, description="Events per up batch.")
    window_events: int = Field(
        default=1000, ge=1, le=100_000, description="Events sent but not yet acked, at most."
    )
    ack_timeout_s: float = Field(
        default=10.0, gt=0, le=600, description="Resend from the last ack after this long."
    )
    telemetry_interval_s: float = Field(
        default=30.0, gt=0, le=3600, description="How often telemetry is published."
    )
    keepalive_s: int = Field(
        default=15,
        ge=5,
        le=600,
        description="MQTT keepalive. The broker declares a silent station offline (its Will) "
        "after 1.5 × this: 15 s shows a dead station offline on the dashboard within 30 s.",
    )
    topup_low_water: int = Field(
        default=5,
        ge=0,
        le=100_000,
        description="Ask the hub for more of a SKU when a sale leaves fewer than this.",
    )
    reconnect_min_s: float = Field(
        default=1.0, gt=0, le=60, description="First reconnect delay (then doubled, jittered)."
    )
    reconnect_max_s: float = Field(
        default=60.0, gt=0, le=3600, description="Longest reconnect delay."
    )


class KioskSection(Strict):
    idle_timeout_s: int = Field(
        default=90,
        ge=2,
        le=3600,
        description="Seconds without a touch before the customer screen resets (cart cleared).",
    )
    tax_rate: Decimal = Field(default=Decimal("0.13"), ge=0, le=1, description="VAT rate.")
    prices_include_tax: bool = Field(
        default=True, description="Catalog prices include VAT (tickets show the VAT part)."
    )
    points_per_yuan: int = Field(
        default=1, ge=0, le=100, description="Loyalty points earned per whole yuan paid."
    )
    point_value: Decimal = Field(
        default=Decimal("0.01"), gt=0, le=1, description="Yuan one loyalty point is worth."
    )
    max_points_share: Decimal = Field(
        default=Decimal("0.5"), ge=0, le=1, description="Largest share of a cart points may pay."
    )
    card_terminal: Literal["none", "simulated"] = Field(
        default="none",
        description="Card terminal: none (pay at counter only) or simulated (told its next "
        "outcome through DATA_DIR/run/card-terminal.json).",
    )
    card_timeout_s: float = Field(
        default=30.0, gt=0, le=300, description="How long a card payment may take."
    )


class PairingSection(Strict):
    hub_url: str | None = Field(
        default=None,
        pattern=r"^https?://[^\s/]+(:\d+)?/?$",
        description="Hub web address for first-boot pairing; used while [mqtt] has no "
        "password_file and no cert_file.",
    )
    poll_s: float = Field(
        default=5.0, gt=0, le=600, description="How often an unpaired station asks the hub."
    )


class StationConfig(Strict):
    station: StationSection
    mqtt: MqttSection = Field(default_factory=MqttSection)
    http: HttpSection = Field(default_factory=HttpSection)
    spooler: SpoolerSection = Field(default_factory=SpoolerSection)
    packing: PackingSection = Field(default_factory=PackingSection)
    kiosk: KioskSection = Field(default_factory=KioskSection)
    sync: SyncSection = Field(default_factory=SyncSection)
    pairing: PairingSection = Field(default_factory=PairingSection)
    printers: dict[str, PrinterConfig] = Field(
        default_factory=dict, description="Printers by name; [printers.NAME] type = …"
    )
    scanners: dict[str, ScannerConfig] = Field(
        default_factory=dict, description="Scanners by name; [scanners.NAME] type = …"
    )

    @field_validator("printers", "scanners")
    @classmethod
    def _names(cls, value: dict[str, object]) -> dict[str, object]:
        for name in value:
            if not re.match(_ID, name):
                raise ValueError(f"name {name!r} must match {_ID}")
        return value

    @model_validator(mode="after")
    def _one_printer_per_role(self) -> StationConfig:
        roles: dict[str, str] = {}
        for name, printer in self.printers.items():
            if printer.role in roles:
                raise ValueError(
                    f"printers {roles[printer.role]!r} and {name!r} both have role {printer.role!r}"
                )
            roles[printer.role] = name
        return self

    # Derived paths -----------------------------------------------------------------
    @property
    def db_path(self) -> Path:
        return self.station.data_dir / "station.db"

    @property
    def runtime_dir(self) -> Path:
        return self.station.data_dir / "run"

    @property
    def kiosk_url(self) -> str:
        host = self.http.bind
        if host in ("0.0.0.0", "::", ""):  # noqa: S104 - mapping a wildcard bind to loopback
            host = "127.0.0.1"
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{self.http.port}"

    @property
    def api_token(self) -> str:
        """The API bearer token (read from its file, or created on first use)."""
        from edge.secrets import station_secret

        return station_secret(self.http.token_file, self.station.data_dir / "secrets" / "api-token")

    @property
    def session_key(self) -> str:
        from edge.secrets import station_secret

        return station_secret(
            self.http.secret_key_file, self.station.data_dir / "secrets" / "session-key"
        )

    def printer_for(self, role: str) -> str | None:
        """Name of the printer with ``role``; receipts fall back to any printer."""
        for name, printer in self.printers.items():
            if printer.role == role:
                return name
        return None


def _problems(err: ValidationError) -> list[tuple[str, str]]:
    out = []
    for item in err.errors():
        path = ".".join(str(p) for p in item["loc"]) or "(top)"
        out.append((path, item["msg"]))
    return out


def parse_config(text: str, source: str = "<config>") -> StationConfig:
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(source, [("(toml)", str(err))]) from err
    try:
        return StationConfig.model_validate(raw)
    except ValidationError as err:
        raise ConfigError(source, _problems(err)) from err


OVERRIDES = "config-overrides.json"


def _merge(raw: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    merged = {k: dict(v) if isinstance(v, dict) else v for k, v in raw.items()}
    for key, value in overrides.items():
        section, _, field = key.partition(".")
        merged.setdefault(section, {})[field] = value
    return merged


def with_override(config: StationConfig, key: str, value: Any) -> StationConfig:
    """The config with one ``section.field`` set (validated like the file); raises ConfigError."""
    section, _, field = key.partition(".")
    if not field or section in ("station", "printers", "scanners", "mqtt", "pairing"):
        raise ConfigError(
            "override",
            [
                (
                    key,
                    "only [http], [spooler], [packing], [kiosk] and "
                    "[sync] settings can be set remotely",
                )
            ],
        )
    raw = _merge(config.model_dump(mode="json", exclude_defaults=True), {key: value})
    try:
        return StationConfig.model_validate(raw)
    except ValidationError as err:
        raise ConfigError("override", _problems(err)) from err


def load_config(path: str | os.PathLike[str]) -> StationConfig:
    """The station config from ``path``, with settings pushed from the hub
    (``DATA_DIR/config-overrides.json``) on top."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise ConfigError(str(path), [("(file)", f"cannot read: {err}")]) from err
    config = parse_config(text, str(path))
    overrides_path = config.station.data_dir / OVERRIDES
    try:
        overrides = json.loads(overrides_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return config
    try:
        return StationConfig.model_validate(_merge(tomllib.loads(text), overrides))
    except ValidationError as err:
        raise ConfigError(str(overrides_path), _problems(err)) from err
