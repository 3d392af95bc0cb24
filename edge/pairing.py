"""First-boot pairing, station side: get broker credentials from the hub by showing a code.

A station is *unpaired* when ``[pairing] hub_url`` is set and ``[mqtt]`` has neither a
``password_file`` nor a ``cert_file`` (after ``DATA_DIR/config-overrides.json``). Then the
sync service runs :class:`PairingService` instead of the sync agent:

* it makes a one-time code (8 characters, no look-alikes such as 0/O or 1/I) and keeps it in
  ``DATA_DIR/pairing.json``, which the kiosk reads to show the pairing screen;
* it prints a pairing ticket (station id, code, QR) on the receipt printer, once;
* every ``[pairing] poll_s`` it asks the hub (``POST HUB/api/v1/pairing/poll``); once an
  operator has claimed the code on the hub, the answer carries the MQTT URL, username,
  password and CA certificate. The station writes the password (and CA) under
  ``DATA_DIR/secrets/`` (mode 0600), points ``[mqtt]`` at them through
  ``config-overrides.json``, and the sync service exits with :data:`EX_RESTART` so systemd
  (or the supervisor) starts it again, now as the sync agent with the new credentials.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import secrets
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from edge.config import OVERRIDES, StationConfig

log = logging.getLogger(__name__)

STATE = "pairing.json"
ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
EX_RESTART = 75  # EX_TEMPFAIL: "start me again" (Restart=on-failure does)


class PairingError(Exception):
    """The hub refused the request or answered something unusable."""


def needs_pairing(config: StationConfig) -> bool:
    """True while the station has a hub to pair with and no broker credentials."""
    mqtt = config.mqtt
    return bool(config.pairing.hub_url) and mqtt.password_file is None and mqtt.cert_file is None


def state_path(config: StationConfig) -> Path:
    return config.station.data_dir / STATE


def load_state(config: StationConfig) -> dict[str, Any] | None:
    try:
        state = json.loads(state_path(config).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return state if isinstance(state, dict) and isinstance(state.get("code"), str) else None


def _write_json(path: Path, data: dict[str, Any], mode: int = 0o640) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(data, fh, ensure_ascii=False, indent=2)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def ensure_state(config: StationConfig) -> dict[str, Any]:
    """The pairing state, with a new code when there is none yet."""
    state = load_state(config)
    if state is None:
        code = "".join(secrets.choice(ALPHABET) for _ in range(8))
        state = {"code": code, "created_at": time.time(), "ticket_job": None, "paired_at": None}
        _write_json(state_path(config), state)
    return state


def display_code(code: str) -> str:
    return f"{code[:4]}-{code[4:]}"


def qr_payload(config: StationConfig, code: str) -> str:
    """What the QR code holds: the hub's pairing page for this station and code, so a phone
    that scans it opens the form already filled in."""
    hub = (config.pairing.hub_url or "").rstrip("/")
    return f"{hub}/pair?{urlencode({'station': config.station.id, 'code': code})}"


def ticket_bytes(config: StationConfig, code: str, profile: str = "default") -> bytes:
    """The pairing ticket as ESC/POS: what to type on the hub, and the QR to scan instead."""
    from escpos.printer import Dummy

    printer = Dummy(profile=profile)
    printer.set(align="center", bold=True, double_height=True, double_width=True)
    printer.text("PAIR THIS STATION\n")
    printer.set(align="center", normal_textsize=True)
    printer.text(f"{config.station.tenant} / {config.station.store}\n\n")
    printer.text("Station id\n")
    printer.set(align="center", bold=True, double_height=True, double_width=True)
    printer.text(f"{config.station.id}\n")
    printer.set(align="center", normal_textsize=True)
    printer.text("\nOne-time code\n")
    printer.set(align="center", bold=True, double_height=True, double_width=True)
    printer.text(f"{display_code(code)}\n\n")
    printer.set(align="center", normal_textsize=True)
    printer.qr(qr_payload(config, code), size=6, native=False, center=True)
    printer.text(f"\nEnter both on the hub:\n{config.pairing.hub_url}\n")
    return bytes(printer.output)


def queue_ticket(config: StationConfig, code: str) -> int | None:
    """Queue the pairing ticket on the receipt printer; the job id, or None without one."""
    from edge.store import Store, print_jobs

    name = config.printer_for("receipt")
    printer = config.printers.get(name) if name else None
    if name is None or printer is None or printer.language != "escpos":
        log.warning("no ESC/POS receipt printer: the pairing code is shown on screen only")
        return None
    data = base64.b64encode(ticket_bytes(config, code, printer.profile)).decode("ascii")
    store = Store(config.db_path)
    try:
        with store.write() as conn:
            job = print_jobs.enqueue(conn, name, "raw", {"data_b64": data})
    finally:
        store.close()
    return int(job["id"])


def poll_hub(config: StationConfig, code: str, timeout: float = 10.0) -> dict[str, Any]:
    """Ask the hub once; returns its answer (``status`` pending or paired)."""
    url = (config.pairing.hub_url or "").rstrip("/") + "/api/v1/pairing/poll"
    body = json.dumps(
        {
            "station_id": config.station.id,
            "tenant": config.station.tenant,
            "store": config.station.store,
            "code": code,
        }
    ).encode()
    request = urllib.request.Request(  # noqa: S310 - http(s) only: [pairing] hub_url's pattern
        url, data=body, method="POST", headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - configured URL
            answer = json.loads(response.read())
    except urllib.error.HTTPError as err:
        try:
            message = json.loads(err.read())["error"]["message"]
        except (ValueError, KeyError, TypeError):
            message = err.reason
        raise PairingError(f"the hub refused pairing ({err.code}): {message}") from err
    except (OSError, ValueError) as err:
        raise PairingError(f"cannot reach the hub at {url}: {err}") from err
    if not isinstance(answer, dict) or answer.get("status") not in ("pending", "paired", "spent"):
        raise PairingError(f"unexpected answer from the hub: {answer!r}")
    return answer


def apply_credentials(config: StationConfig, answer: dict[str, Any]) -> None:
    """Keep the credentials from a ``paired`` answer and point ``[mqtt]`` at them."""
    mqtt = answer.get("mqtt")
    if not isinstance(mqtt, dict) or not all(
        isinstance(mqtt.get(k), str) and mqtt[k] for k in ("url", "username", "password")
    ):
        raise PairingError("the hub's answer lacks the MQTT url, username or password")
    secrets_dir = config.station.data_dir / "secrets"
    secrets_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    password_file = secrets_dir / "mqtt-password"
    fd = os.open(password_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(mqtt["password"] + "\n")
    settings = {
        "mqtt.url": mqtt["url"],
        "mqtt.username": mqtt["username"],
        "mqtt.password_file": str(password_file),
    }
    if isinstance(mqtt.get("ca_pem"), str) and mqtt["ca_pem"].strip():
        ca_file = secrets_dir / "mqtt-ca.crt"
        ca_file.write_text(mqtt["ca_pem"], encoding="ascii")
        settings["mqtt.ca_file"] = str(ca_file)
    overrides_path = config.station.data_dir / OVERRIDES
    try:
        overrides = json.loads(overrides_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        overrides = {}
    overrides = {k: v for k, v in overrides.items() if not k.startswith("mqtt.")}
    _write_json(overrides_path, {**overrides, **settings})
    state = ensure_state(config)
    _write_json(state_path(config), {**state, "paired_at": time.time()})


class PairingService:
    """Stands in for the sync agent while the station is unpaired (see the module doc)."""

    def __init__(self, config: StationConfig):
        self.config = config
        self.exit_code: int | None = None
        self._halt = threading.Event()
        self._thread = threading.Thread(target=self._run, name="pairing", daemon=True)

    def start(self) -> None:
        state = ensure_state(self.config)
        log.info(
            "unpaired: station %s shows code %s; claim it on the hub %s",
            self.config.station.id,
            display_code(state["code"]),
            self.config.pairing.hub_url,
        )
        if state.get("ticket_job") is None:
            job = queue_ticket(self.config, state["code"])
            if job is not None:
                _write_json(state_path(self.config), {**state, "ticket_job": job})
        self._thread.start()

    def _new_code(self) -> str:
        """The hub says this code is spent: make a new one and print a new ticket."""
        state_path(self.config).unlink(missing_ok=True)
        state = ensure_state(self.config)
        log.warning("pairing code spent; new code %s", display_code(state["code"]))
        job = queue_ticket(self.config, state["code"])
        _write_json(state_path(self.config), {**state, "ticket_job": job})
        return str(state["code"])

    def _run(self) -> None:
        code = ensure_state(self.config)["code"]
        complaint = ""
        while not self._halt.is_set():
            try:
                answer = poll_hub(self.config, code)
            except PairingError as err:
                if str(err) != complaint:  # say it once, not every poll
                    log.warning("%s", err)
                    complaint = str(err)
            else:
                if answer["status"] == "spent":
                    code = self._new_code()
                    continue
                if answer["status"] == "paired":
                    try:
                        apply_credentials(self.config, answer)
                    except (PairingError, OSError) as err:
                        log.warning("cannot keep the hub's credentials: %s", err)
                    else:
                        log.info("paired with the hub; restarting to connect to the broker")
                        self.exit_code = EX_RESTART
                        return
            self._halt.wait(self.config.pairing.poll_s)

    def is_alive(self) -> bool:
        return self._thread.is_alive()

    def stop(self) -> None:
        self._halt.set()
        if self._thread.is_alive():
            self._thread.join(timeout=15)


def build_sync(config: StationConfig) -> Any:
    """The sync service: the pairing stand-in while unpaired, else the sync agent."""
    if needs_pairing(config):
        return PairingService(config)
    from edge.sync.agent import build

    return build(config)
