"""How often a camera is analysed, and how many of its frames may be at the models at once."""

from __future__ import annotations


class AnalysisPacer:
    """At most ``analysis_fps`` analysed frames per camera, never the same frame twice."""

    def __init__(self, analysis_fps: float) -> None:
        if analysis_fps <= 0:
            raise ValueError(f"analysis_fps must be positive, got {analysis_fps}")
        self.interval_s = 1.0 / analysis_fps
        self._last_seq = 0
        self._next_at = float("-inf")

    def should_analyse(self, seq: int, captured_at: float) -> bool:
        """Whether the frame numbered ``seq``, decoded at ``captured_at``, is due for analysis."""
        if seq <= self._last_seq or captured_at < self._next_at:
            return False
        self._last_seq = seq
        # Schedule from the previous slot, not this frame's time, so the rate holds on average; after a
        # gap (stream stall) restart from this frame rather than bursting to catch up.
        first = self._next_at == float("-inf")
        slot = captured_at + self.interval_s if first else self._next_at + self.interval_s
        self._next_at = max(slot, captured_at + self.interval_s / 2)
        return True


class InFlightLimiter:
    """Bounds a camera's frames at the models; when full, new frames are dropped and counted."""

    def __init__(self, max_in_flight: int) -> None:
        if max_in_flight < 1:
            raise ValueError(f"max_in_flight must be at least 1, got {max_in_flight}")
        self.max_in_flight = max_in_flight
        self.in_flight = 0
        self.dropped = 0

    def try_acquire(self) -> bool:
        """Take a slot, or count a drop."""
        if self.in_flight >= self.max_in_flight:
            self.dropped += 1
            return False
        self.in_flight += 1
        return True

    def release(self) -> None:
        """Give a slot back."""
        self.in_flight = max(0, self.in_flight - 1)
