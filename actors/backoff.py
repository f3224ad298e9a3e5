"""Exponential backoff with jitter, for webhook retries and camera reconnects."""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True)
class Backoff:
    """Delay before retry ``attempt`` (1 = first retry): ``initial_s * multiplier**(attempt - 1)``,
    capped at ``maximum_s``, then jittered.

    Jitter: a ``jitter`` fraction of the delay is random, the rest fixed, so the delay lies in
    ``[base * (1 - jitter), base]``. The default 0.5 is "equal jitter": retries after an outage spread
    out (no thundering herd when a dispatch system or a network segment comes back) but never come
    back at once. ``jitter=1`` is "full jitter", ``jitter=0`` none. Pure: the caller owns the ``rng``.
    """

    initial_s: float = 1.0
    maximum_s: float = 60.0
    multiplier: float = 2.0
    jitter: float = 0.5

    def __post_init__(self) -> None:
        # initial_s above maximum_s is allowed: every delay is then maximum_s.
        if not (self.initial_s > 0 and self.maximum_s > 0):
            raise ValueError(f"backoff delays must be positive, got {self.initial_s}, {self.maximum_s}")
        if self.multiplier < 1:
            raise ValueError(f"backoff multiplier must be at least 1, got {self.multiplier}")
        if not 0 <= self.jitter <= 1:
            raise ValueError(f"backoff jitter must be within [0, 1], got {self.jitter}")

    def base(self, attempt: int) -> float:
        """The un-jittered delay before ``attempt``."""
        try:
            grown = self.initial_s * self.multiplier ** max(0, attempt - 1)
        except OverflowError:  # a camera that has been down for days: thousands of attempts
            return self.maximum_s
        return min(self.maximum_s, grown)

    def delay(self, attempt: int, rng: random.Random) -> float:
        """Seconds to wait before ``attempt``."""
        base = self.base(attempt)
        return base * (1.0 - self.jitter) + base * self.jitter * rng.random()
