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


class IntakeSection(Strict):
    channels: list[str] = Field(
        default_factory=lambda: ["taobao", "jd", "pinduoduo", "douyin", "web"],
        description="Sales channels whose orders the hub accepts; any other is refused.",
    )
    high_value: str = Field(
        default="5000.00",
        pattern=r"^\d{1,12}(\.\d{1,2})?$",
        description="Orders worth more than this (catalog prices) wait for manual review.",
    )
    duplicate_window_s: int = Field(
        default=86_400,
        ge=0,
        le=90 * 86_400,
        description="Same customer, address and lines within this many seconds: held as a "
        "duplicate (0 turns the check off).",
    )
    hold_unpaid: bool = Field(
        default=True, description="Hold orders whose payment status is not paid."
    )
    batch_rows: int = Field(
        default=2000, ge=1, le=10_000, description="CSV rows imported per transaction."
    )
    mappings: dict[str, dict[str, str]] = Field(
        default_factory=dict,
        description="CSV header mappings by name: {our field = their column header}; "
        "choose one with --mapping or ?mapping=.",
    )


class AllocationSection(Strict):
    """Rules that pick the station for a channel order (see ``docs/allocation.md``)."""

    offline_timeout_s: float = Field(
        default=600.0,
        gt=0,
        le=7 * 86400,
        description="A station offline longer than this takes no new orders and loses the "
        "ones it has not started packing.",
    )
    weight_province: float = Field(
        default=100.0, ge=0, le=10_000, description="Score for a store in the order's province."
    )
    weight_city: float = Field(
        default=50.0, ge=0, le=10_000, description="Extra score for a store in the order's city."
    )
    weight_load: float = Field(
        default=5.0,
        ge=0,
        le=10_000,
        description="Score taken off per unit of load (orders not yet packed, queued prints).",
    )
    weight_offline: float = Field(
        default=200.0,
        ge=0,
        le=100_000,
        description="Score taken off a station that is offline (but within the timeout).",
    )
    weight_stock: float = Field(
        default=10.0,
        ge=0,
        le=10_000,
        description="Score for a station whose own allotment already covers the order.",
    )
    unit_weight_g: int = Field(
        default=500,
        ge=1,
        le=1_000_000,
        description="Weight of a unit whose product has no weight_g, for carrier prices.",
    )
    waybill_low_water: int = Field(
        default=20,
        ge=0,
        le=1_000_000,
        description="Grant a station a new waybill block when it has fewer unused numbers.",
    )
    waybill_block: int = Field(
        default=100, ge=1, le=1_000_000, description="Waybill numbers per block granted."
    )


class DashboardSection(Strict):
    session_minutes: int = Field(
        default=480, ge=1, le=10_080, description="Dashboard logins expire after this long."
    )
    secret_key_file: Path | None = Field(
        default=None,
        description="File with the key that signs dashboard sessions (created on first "
        "start; default: session-key beside the API token file).",
    )
    refresh_s: float = Field(
        default=5.0, ge=1, le=300, description="How often open dashboard pages refresh."
    )
    history_every_s: float = Field(
        default=60.0, ge=1, le=3600, description="Keep one telemetry sample per station this often."
    )
    history_days: float = Field(
        default=7.0, gt=0, le=366, description="Delete telemetry history older than this."
    )


class AlertsSection(Strict):
    webhook_url: str | None = Field(
        default=None,
        pattern=r"^https?://\S+$",
        description="POST every alert and recovery notice here as JSON (unset: no webhook).",
    )
    webhook_timeout_s: float = Field(default=5.0, gt=0, le=60, description="Webhook timeout.")
    webhook_attempts: int = Field(
        default=12, ge=1, le=1000, description="Give a notice up after this many failed posts."
    )
    offline_after_min: float = Field(
        default=5.0, ge=0, le=1440, description="Alert when a station is offline this long."
    )
    outbox_backlog: int = Field(
        default=500, ge=1, description="Alert when a station's outbox holds more events."
    )
    print_queue_backlog: int = Field(
        default=50, ge=1, description="Alert when a station's print queue holds more jobs."
    )
    dn_backlog: int = Field(
        default=2000, ge=1, description="Alert when a station has more unacked hub events."
    )
    waybill_pool_low: int = Field(
        default=50, ge=0, description="Alert when a carrier's unused waybill numbers fall below."
    )


class PairingSection(Strict):
    """First-boot pairing: what the hub hands a new station once an operator claims its code."""

    station_mqtt_url: str | None = Field(
        default=None,
        pattern=r"^mqtts?://[^\s/]+(:\d+)?/?$",
        description="Broker URL handed to paired stations, e.g. mqtts://hub.example.com:8883 "
        "(unset: pairing is off).",
    )
    ca_file: Path | None = Field(
        default=None, description="CA certificate handed to paired stations for mqtts://."
    )
    broker_password_file: Path = Field(
        default=Path("/etc/mosquitto/printstation/passwd"),
        description="Mosquitto password file the hub adds paired stations to.",
    )
    code_ttl_min: float = Field(
        default=60.0, gt=0, le=10080, description="A code not polled for this long expires."
    )


class HubConfig(Strict):
    hub: HubSection = Field(default_factory=HubSection)
    mqtt: MqttSection = Field(default_factory=MqttSection)
    http: HttpSection = Field(default_factory=HttpSection)
    allotment: AllotmentSection = Field(default_factory=AllotmentSection)
    dashboard: DashboardSection = Field(default_factory=DashboardSection)
    alerts: AlertsSection = Field(default_factory=AlertsSection)
    allocation: AllocationSection = Field(default_factory=AllocationSection)
    intake: IntakeSection = Field(default_factory=IntakeSection)
    pairing: PairingSection = Field(default_factory=PairingSection)


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
