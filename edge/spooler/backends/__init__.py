"""Printer back ends, one module per transport, chosen by a printer config's ``type``.

``PrinterConfig`` is the type of one ``[printers.NAME]`` section; ``open_backend(cfg)`` builds its
back end (nothing is connected until ``open()``/``write()``), ``render_options(cfg)`` tells the
renderers how to address it.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from edge.spooler.backends.base import (
    PrinterBackend,
    PrinterConfigBase,
    PrinterStatus,
)
from edge.spooler.backends.file import FileBackend, FilePrinterConfig
from edge.spooler.backends.network import NetworkBackend, NetworkPrinterConfig
from edge.spooler.backends.serial import SerialBackend, SerialPrinterConfig
from edge.spooler.backends.simulated import SimulatedBackend, SimulatedPrinterConfig
from edge.spooler.backends.usb import UsbBackend, UsbPrinterConfig
from edge.spooler.render.options import RenderOptions

PrinterConfig = Annotated[
    UsbPrinterConfig
    | NetworkPrinterConfig
    | SerialPrinterConfig
    | FilePrinterConfig
    | SimulatedPrinterConfig,
    Field(discriminator="type"),
]

__all__ = [
    "FileBackend",
    "FilePrinterConfig",
    "NetworkBackend",
    "NetworkPrinterConfig",
    "PrinterBackend",
    "PrinterConfig",
    "PrinterConfigBase",
    "PrinterStatus",
    "SerialBackend",
    "SerialPrinterConfig",
    "SimulatedBackend",
    "SimulatedPrinterConfig",
    "UsbBackend",
    "UsbPrinterConfig",
    "open_backend",
    "render_options",
]


def open_backend(cfg: PrinterConfigBase) -> PrinterBackend:
    """The back end for one printer's config (not yet connected)."""
    if isinstance(cfg, UsbPrinterConfig):
        return UsbBackend(cfg)
    if isinstance(cfg, NetworkPrinterConfig):
        return NetworkBackend(cfg)
    if isinstance(cfg, SerialPrinterConfig):
        return SerialBackend(cfg)
    if isinstance(cfg, FilePrinterConfig):
        return FileBackend(cfg)
    if isinstance(cfg, SimulatedPrinterConfig):
        return SimulatedBackend(cfg)
    raise TypeError(f"no printer back end for {type(cfg).__name__}")


def render_options(cfg: PrinterConfigBase) -> RenderOptions:
    """How jobs for this printer are rendered (language, profile, width, CJK mode, label size)."""
    return cfg.render_options()
