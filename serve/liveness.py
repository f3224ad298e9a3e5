"""Whether a model still answers, for a deployment's health check.

A batch that went through proves the model answers; a replica with no recent work runs its model on a
tiny input instead, at most once per ``quiet_s``, so an idle replica whose model broke is found too.
Ray-free: the deployments call it from ``check_health``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

# Serve checks health every 10 s; an idle replica pays one tiny model call per 30 s.
DEFAULT_QUIET_S = 30.0


class Liveness:
    """Tracks a model's last answer and probes it when it has been quiet for ``quiet_s``."""

    def __init__(
        self,
        probe: Callable[[], None],
        quiet_s: float = DEFAULT_QUIET_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._probe = probe
        self.quiet_s = quiet_s
        self._clock = clock
        self._lock = threading.Lock()
        self._answered_at = clock()  # the constructor warmed the model up

    def answered(self) -> None:
        """Record that the model just answered real work."""
        with self._lock:
            self._answered_at = self._clock()

    def check(self) -> None:
        """Raise when the model fails its probe; the probe runs only after ``quiet_s`` without work."""
        with self._lock:
            quiet = self._clock() - self._answered_at >= self.quiet_s
        if quiet:
            self._probe()
            self.answered()
