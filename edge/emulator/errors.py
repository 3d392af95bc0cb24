"""Exceptions raised by the printer emulator."""

from __future__ import annotations


class EmulatorError(Exception):
    """Base class for every error the printer emulator raises."""


class RenderError(EmulatorError):
    """A job cannot be rendered with the options given (bad width, nothing printable)."""


class EmptyJobError(RenderError):
    """The job holds no printable content."""


class ServerError(EmulatorError):
    """The emulator's TCP or control server cannot start or serve."""


class SymbolError(RenderError):
    """Barcode or QR data that cannot be encoded; the printer skips such a symbol."""


class StateError(EmulatorError):
    """A state change the emulator does not know (e.g. paper state ``"full"``)."""


class JobTimeoutError(EmulatorError, TimeoutError):
    """The expected jobs did not arrive in time."""
