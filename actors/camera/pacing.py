"""How often a camera is analysed, and how many of its frames may be at the models at once."""

from __future__ import annotations

import threading
from collections.abc import Callable


class AnalysisPacer:
    """At most ``analysis_fps`` analysed frames per camera, never the same frame twice.

    Time is ``clock()`` when given (e.g. ``time.monotonic``: immune to wall-clock steps), else the
    frame's ``captured_at``. The rate holds on average; after a gap it restarts from the frame at
    hand rather than bursting to catch up, and a clock that steps back makes the frame due at once.
    """

    def __init__(self, analysis_fps: float, clock: Callable[[], float] | None = None) -> None:
        if not analysis_fps > 0:
            raise ValueError(f"analysis_fps must be positive, got {analysis_fps}")
        self.interval_s = 1.0 / analysis_fps
        self._clock = clock
        self._last_seq: int | None = None
        self._last_at = 0.0
        self._next_at: float | None = None

    def should_analyse(self, seq: int, captured_at: float) -> bool:
        """Whether the frame numbered ``seq``, decoded at ``captured_at``, is due for analysis now."""
        if self._last_seq is not None and seq <= self._last_seq:
            return False
        now = captured_at if self._clock is None else self._clock()
        if self._next_at is not None and self._last_at <= now < self._next_at:
            return False
        # Schedule from the previous slot so the rate holds on average, but never sooner than half an
        # interval from now; after a gap or a clock step back, start afresh from now (no burst).
        previous = self._next_at
        if previous is not None and self._last_at <= now < previous + self.interval_s:
            self._next_at = max(previous + self.interval_s, now + self.interval_s / 2)
        else:
            self._next_at = now + self.interval_s
        self._last_at = now
        self._last_seq = seq
        return True


class InFlightLimiter:
    """Bounds a camera's frames at the models; when full, a new frame is dropped and counted, never queued.

    Thread-safe.
    """

    def __init__(self, max_in_flight: int) -> None:
        if max_in_flight < 1:
            raise ValueError(f"max_in_flight must be at least 1, got {max_in_flight}")
        self.max_in_flight = max_in_flight
        self.in_flight = 0
        self.acquired = 0
        self.dropped = 0
        self._lock = threading.Lock()

    def try_acquire(self) -> bool:
        """Take a slot (True), or count a drop (False) when all are taken."""
        with self._lock:
            if self.in_flight >= self.max_in_flight:
                self.dropped += 1
                return False
            self.in_flight += 1
            self.acquired += 1
            return True

    def release(self) -> None:
        """Give a slot back; releasing more than was taken is a bug and raises."""
        with self._lock:
            if self.in_flight == 0:
                raise RuntimeError("InFlightLimiter.release() without a matching try_acquire()")
            self.in_flight -= 1
