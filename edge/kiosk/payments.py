"""Payment providers behind one small interface.

*Pay at counter* needs no device: the order is created unpaid and its ticket carries a QR
that a staff scan marks paid. A card payment goes through a :class:`CardTerminal`; the
simulated one can approve, decline and time out, told by a control file so tests and demos
can drive it from another process.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Protocol

log = logging.getLogger(__name__)


class PaymentError(Exception):
    """The payment did not go through; nothing was charged."""

    status = 402
    code = "payment_failed"


class Declined(PaymentError):
    code = "payment_declined"


class TimedOut(PaymentError):
    status = 504
    code = "payment_timeout"


class NoTerminal(PaymentError):
    status = 422
    code = "payment_unsupported"


@dataclass(frozen=True)
class Charge:
    ref: str
    amount: Decimal


class CardTerminal(Protocol):
    def charge(self, amount: Decimal, reference: str) -> Charge:
        """Take ``amount``; raises :class:`Declined` or :class:`TimedOut`."""
        ...

    def void(self, charge: Charge) -> None:
        """Give back a charge whose order could not be completed."""
        ...


class SimulatedTerminal:
    """A card terminal simulator. The next outcome comes from ``control`` (a JSON file
    ``{"next": "approve" | "decline" | "timeout"}``, used once), else ``default``."""

    def __init__(
        self, control: Path, *, timeout_s: float, delay_s: float = 0.2, default: str = "approve"
    ):
        self.control, self.timeout_s, self.delay_s, self.default = (
            control,
            timeout_s,
            delay_s,
            default,
        )
        self.voided: list[Charge] = []

    def _next(self) -> str:
        try:
            outcome = json.loads(self.control.read_text(encoding="utf-8")).get("next")
            self.control.unlink()
        except (OSError, ValueError, AttributeError):
            return self.default
        return str(outcome)

    def charge(self, amount: Decimal, reference: str) -> Charge:
        outcome = self._next()
        time.sleep(self.delay_s)
        if outcome == "decline":
            raise Declined("the card was declined")
        if outcome == "timeout":
            time.sleep(max(self.timeout_s - self.delay_s, 0))
            raise TimedOut(f"the card terminal did not answer within {self.timeout_s:g} s")
        charge = Charge(f"SIM-{uuid.uuid4().hex[:12]}", amount)
        log.info("card terminal: %s charged %s for %s", charge.ref, amount, reference)
        return charge

    def void(self, charge: Charge) -> None:
        self.voided.append(charge)
        log.warning("card terminal: charge %s voided", charge.ref)
