"""Exceptions of the scanner service, and the guard for optional hardware libraries."""

from __future__ import annotations

import importlib
from types import ModuleType


class ScannerError(Exception):
    """Base of every error raised by the scanner service."""


class CodeRejected(ScannerError):
    """A scanned code failed hygiene or validation; the message says what was wrong."""


class DeviceUnavailable(ScannerError):
    """A scanner device cannot be opened or was lost (unplugged, busy, no permission)."""


class DependencyMissing(ScannerError):
    """A hardware library needed by a scan source or the camera decoder is not installed."""


class ImageUnreadable(ScannerError):
    """An image file could not be loaded for decoding."""


class SimulatorNotRunning(ScannerError):
    """No simulated scanner is listening where a simulated scan was sent."""


def require_module(name: str, hint: str) -> ModuleType:
    """Import an optional library, or raise `DependencyMissing` saying what to install."""
    try:
        return importlib.import_module(name)
    except ImportError as err:
        raise DependencyMissing(f"Python module {name!r} is not available ({err}); {hint}") from err
