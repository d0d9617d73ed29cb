"""What every instrument kind's verification result shares (fuel JJG 443, taxi JJG 517):
the verdict from the list of reasons, the Beijing calendar day of the result, and the
wall-clock timing of a run measured on a serial standard.

Why one module: each kind's model (``app.models.<kind>.verification``) differs in its
readings and arithmetic, never in "no reasons means pass", in which day a certificate is
dated, or in how long a worker waits for a run. Kind-free and Qt-free.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from app.models.verification_parts import CST

__all__ = ["RunTiming", "VerdictMixin"]


class VerdictMixin:
    """For a frozen result dataclass with ``reasons``, ``finished_ms`` and a class-level
    ``cycle`` (verification day → 有效期至)."""

    reasons: tuple[str, ...]
    finished_ms: int
    cycle: Callable[[dt.date], dt.date]

    @property
    def passed(self) -> bool:
        return not self.reasons

    @property
    def verdict(self) -> str:
        return "pass" if self.passed else "fail"

    @property
    def day(self) -> dt.date:
        """The verification day in Beijing time (what the certificate is dated)."""
        return dt.datetime.fromtimestamp(self.finished_ms / 1000, CST).date()

    def valid_until(self) -> dt.date | None:
        """有效期至 of a pass; None for a fail."""
        return type(self).cycle(self.day) if self.passed else None


@dataclass
class RunTiming:
    """How long to wait for a run to end (wall seconds) and how often to poll."""

    timeout_s: float = 600.0
    poll_s: float = 0.05
    sleep: Callable[[float], None] = field(default=time.sleep)
