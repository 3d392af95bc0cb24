"""Errors of the hub core. Every error the package raises on purpose is a :class:`HubError`."""

from __future__ import annotations


class HubError(Exception):
    """Base of every hub error."""


class NotFound(HubError):
    """The station, order, command or product asked for does not exist."""


class InvalidInput(HubError):
    """A request from an operator or integrator is malformed (bad SKU, quantity, name…)."""


class WrongTenant(HubError):
    """A station spoke on another tenant's topic than the one it is registered with."""


class NeverApplies(HubError):
    """A station event that can never be applied: unknown kind, malformed data for its
    kind, or a reference to something that does not exist. Ingest stores it as
    ``rejected`` with this message as the reason and goes on with the stream."""


class InvariantViolation(HubError):
    """A stock change would let the stations of a store sell more than is on hand."""


class NoStore(HubError):
    """The station has no store yet (it registers one with its presence birth)."""
