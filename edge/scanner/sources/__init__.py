"""Scan sources, one module per transport, chosen by the ``type`` of a ``[scanners.NAME]`` table.

The station config uses `ScannerConfig` as ``scanners: dict[str, ScannerConfig]``; the scanner
service turns each entry into a `ScanSource` with `open_source`. Hardware libraries are
imported only when a device is opened, so every config model loads without them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import Field

from edge.scanner.errors import ScannerError
from edge.scanner.sources.base import DeviceSource, RawScan, ScanSource, SourceConfig
from edge.scanner.sources.camera import CameraScannerConfig, CameraSource
from edge.scanner.sources.evdev import EvdevScannerConfig, EvdevSource
from edge.scanner.sources.serial import SerialScannerConfig, SerialSource
from edge.scanner.sources.simulated import SimulatedScannerConfig, SimulatedSource

__all__ = [
    "CameraScannerConfig",
    "DeviceSource",
    "EvdevScannerConfig",
    "RawScan",
    "ScanSource",
    "ScannerConfig",
    "SerialScannerConfig",
    "SimulatedScannerConfig",
    "SourceConfig",
    "open_source",
]

ScannerConfig = Annotated[
    EvdevScannerConfig | SerialScannerConfig | CameraScannerConfig | SimulatedScannerConfig,
    Field(discriminator="type"),
]
"""One ``[scanners.NAME]`` table, selected by its ``type`` field."""


def open_source(name: str, cfg: SourceConfig, runtime_dir: Path) -> ScanSource:
    """Build the source for one configured scanner (its device is opened on first read)."""
    if isinstance(cfg, EvdevScannerConfig):
        return EvdevSource(name, cfg)
    if isinstance(cfg, SerialScannerConfig):
        return SerialSource(name, cfg)
    if isinstance(cfg, CameraScannerConfig):
        return CameraSource(name, cfg)
    if isinstance(cfg, SimulatedScannerConfig):
        return SimulatedSource(name, cfg, runtime_dir)
    raise ScannerError(f"no scan source for config {type(cfg).__name__}")
