"""Slows down guessing: an address with too many failed sign-ins is refused for a while."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable

_SWEEP_AT = 10_000  # addresses tracked before quiet ones are swept out, so the table stays bounded


class FailureThrottle:
    """Counts failed sign-ins per address over a sliding window.

    Once an address has ``max_failures`` failures within ``window_s``, :meth:`retry_after` says how long
    until the oldest of them leaves the window; the service answers 429 until then without looking
    at the key, so a guesser gets ``max_failures`` tries per window. Thread-safe.
    """

    def __init__(
        self, max_failures: int, window_s: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._max = max_failures
        self._window_s = window_s
        self._clock = clock
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def retry_after(self, address: str) -> float | None:
        """Seconds until ``address`` may try again, or ``None`` if it may try now."""
        with self._lock:
            failures = self._prune(address)
            if failures is None or len(failures) < self._max:
                return None
            return max(failures[0] + self._window_s - self._clock(), 0.0)

    def failed(self, address: str) -> None:
        """Record a failed sign-in from ``address``."""
        with self._lock:
            if len(self._failures) >= _SWEEP_AT:
                for known in list(self._failures):
                    self._prune(known)
            failures = self._prune(address)
            if failures is None:
                failures = self._failures[address] = deque()
            failures.append(self._clock())

    def _prune(self, address: str) -> deque[float] | None:
        """The failures of ``address`` still in the window; quiet addresses are forgotten."""
        failures = self._failures.get(address)
        if failures is None:
            return None
        cutoff = self._clock() - self._window_s
        while failures and failures[0] <= cutoff:
            failures.popleft()
        if not failures:
            del self._failures[address]
            return None
        return failures
