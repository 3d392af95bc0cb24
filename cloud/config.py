"""The hub configuration: one strict TOML schema, like the station's (`check-config` too)."""

from __future__ import annotations

import tomllib
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

EX_CONFIG = 78


class HubConfigError(Exception):
    def __init__(self, source: str, problems: list[tuple[str, str]]):
        self.source, self.problems = source, problems
        super().__init__(f"{source}: " + "; ".join(f"{p}: {m}" for p, m in problems))


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class HubSection(Strict):
    database: str = Field(
        default="/var/lib/printstation-hub/hub.db",
        description="SQLite file path, or a postgresql:// URL for production.",
    )
    tenants: list[str] = Field(
        default_factory=list,
        description="Tenants this hub serves (empty: any tenant whose stations connect).",
    )
    ingest_group: str = Field(
        default="ps-ingest",
        pattern=r"^[A-Za-z0-9_-]{1,64}$",
        description="Shared-subscription group of the ingest workers; pick one stations "
        "cannot guess.",
    )
    dn_batch_events: int = Field(default=200, ge=1, le=200, description="Events per dn batch.")
    dn_ack_timeout_s: float = Field(
        default=10.0, gt=0, le=600, description="Resend dn events after this long without ack."
    )
    offline_after_s: float = Field(
        default=90.0, gt=0, le=3600, description="A station silent this long counts as offline."
    )


class MqttSection(Strict):
    url: str = Field(
        default="mqtt://127.0.0.1:1883",
        pattern=r"^mqtts?://[^\s/]+(:\d+)?/?$",
        description="Broker URL.",
    )
    username: str | None = Field(default="hub", description="MQTT username of the hub.")
    password_file: Path | None = Field(default=None, description="File with the MQTT password.")
    ca_file: Path | None = Field(default=None, description="CA certificate for mqtts://.")
    cert_file: Path | None = Field(default=None, description="Client certificate.")
    key_file: Path | None = Field(default=None, description="Client key.")


class HttpSection(Strict):
    bind: str = Field(default="127.0.0.1", description="Address the hub's web app listens on.")
    port: int = Field(default=8000, ge=1, le=65535, description="Hub HTTP port.")
    threads: int = Field(default=16, ge=2, le=256, description="HTTP worker threads.")
    token_file: Path = Field(
        default=Path("/var/lib/printstation-hub/secrets/api-token"),
        description="File with the API bearer token (created on first start when absent).",
    )


class AllotmentSection(Strict):
    low_water: int = Field(
        default=5,
        ge=0,
        le=100_000,
        description="Top a station up when it may sell fewer than this.",
    )
    batch: int = Field(default=20, ge=1, le=100_000, description="Units granted per top-up.")


class HubConfig(Strict):
    hub: HubSection = Field(default_factory=HubSection)
    mqtt: MqttSection = Field(default_factory=MqttSection)
    http: HttpSection = Field(default_factory=HttpSection)
    allotment: AllotmentSection = Field(default_factory=AllotmentSection)


def load_hub_config(path: str | Path) -> HubConfig:
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as err:
        raise HubConfigError(str(path), [("(file)", f"cannot read: {err}")]) from err
    except tomllib.TOMLDecodeError as err:
        raise HubConfigError(str(path), [("(toml)", str(err))]) from err
    try:
        return HubConfig.model_validate(raw)
    except ValidationError as err:
        problems = [(".".join(str(p) for p in e["loc"]) or "(top)", e["msg"]) for e in err.errors()]
        raise HubConfigError(str(path), problems) from err
