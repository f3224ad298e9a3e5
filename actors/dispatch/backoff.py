"""Exponential backoff with jitter, for webhook retries and camera reconnects."""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True)
class Backoff:
    """Delay before retry ``attempt`` (1 = first retry): ``initial * multiplier**(attempt-1)``, capped.

    "Equal jitter": half the delay is fixed and half random, so retries spread out (no thundering herd
    after a dispatch outage or a network blip that cut many cameras) but never come back immediately.
    """

    initial_s: float = 1.0
    maximum_s: float = 60.0
    multiplier: float = 2.0
    jitter: float = 0.5

    def delay(self, attempt: int, rng: random.Random) -> float:
        """Seconds to wait before ``attempt``."""
        base = min(self.maximum_s, self.initial_s * self.multiplier ** max(0, attempt - 1))
        return base * (1.0 - self.jitter) + base * self.jitter * rng.random()
