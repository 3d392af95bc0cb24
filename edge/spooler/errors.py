"""Errors raised by the spooler's renderers and printer back ends.

Every error the spooler raises derives from :class:`SpoolerError`. Device problems derive from
:class:`PrinterError`; their messages say what failed and what to check, so they can be shown to
an operator as they are.

A job that failed after some of its bytes reached the printer raises a :class:`JobInterrupted`
subclass: the printer may already have printed part of it, so the caller must not print it again
without asking (the spooler marks such a job ``uncertain``). A :class:`PrinterError` that is not a
:class:`JobInterrupted` means no byte of the job reached the printer, so the job may be retried.
"""

from __future__ import annotations


class SpoolerError(Exception):
    """Base class of every error raised by the spooler."""


class RenderError(SpoolerError):
    """A job payload could not be turned into printer bytes (bad or incomplete data)."""


class PrinterError(SpoolerError):
    """Base class of printer device problems."""


class PrinterOffline(PrinterError):
    """The printer cannot be reached: unplugged, switched off, refusing or missing."""


class PaperOut(PrinterError):
    """The printer reports that it has no paper (or labels) left."""


class PrinterTimeout(PrinterError):
    """The printer is connected but did not accept data or answer in time."""


class JobInterrupted(PrinterError):
    """The job broke off after some of its bytes were sent; it may be partially printed.

    ``bytes_sent`` is how many bytes of the job the transport had accepted when it failed (for
    USB and serial links, counted in whole chunks, so it may be 0 even though part of the first
    chunk reached the printer).
    """

    def __init__(self, message: str, bytes_sent: int) -> None:
        super().__init__(message)
        self.bytes_sent = bytes_sent


class JobTimedOut(JobInterrupted, PrinterTimeout):
    """The printer stopped accepting data in the middle of a job."""


class JobDisconnected(JobInterrupted, PrinterOffline):
    """The connection to the printer was lost in the middle of a job."""
