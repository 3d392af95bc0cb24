"""Builds the scanner service from the station config (what ``printstation scanner`` runs)."""

from __future__ import annotations

from edge.config import StationConfig
from edge.scanner.delivery import HttpDelivery
from edge.scanner.service import ScannerService


class ScannerProcess:
    """The scanner service plus its delivery to the kiosk, started and stopped together."""

    def __init__(self, config: StationConfig):
        self.delivery = HttpDelivery(config.kiosk_url, config.api_token)
        self.service = ScannerService(config.scanners, self.delivery, config.runtime_dir)

    def start(self) -> None:
        self.service.start()

    def is_alive(self) -> bool:
        return self.service.is_alive()

    def stop(self) -> None:
        self.service.stop()
        self.delivery.close()


def build(config: StationConfig) -> ScannerProcess:
    return ScannerProcess(config)
