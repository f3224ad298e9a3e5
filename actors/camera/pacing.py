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

    def set_rate(self, analysis_fps: float) -> None:
        """Analyse at ``analysis_fps`` from the next frame on (an operator changed the camera)."""
        if not analysis_fps > 0:
            raise ValueError(f"analysis_fps must be positive, got {analysis_fps}")
        self.interval_s = 1.0 / analysis_fps

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


class CongestionWindow:
    """How many frames a whole shard may have at the models: additive increase, multiplicative decrease.

    Many shards share the same model replicas, and each camera's own limit lets hundreds of frames
    queue in front of them at city scale, where most go stale and are shed. Like TCP, each shard grows
    its window by one frame per window of frames that came back fresh (younger than ``target_age_s``
    at detection), and halves it when one came back old or was shed, at most once per window, so the
    shards settle on sharing what the models can do with short queues. A ``weight`` above 1 grows the
    window faster and cuts it less (``weight`` frames per window; to ``0.5 ** (1 / weight)`` of itself),
    below 1 the reverse, so a shard can be given a larger or smaller share (``actors/camera/model_share.py``).
    Not thread-safe: the shard's event loop owns it.
    """

    def __init__(self, target_age_s: float, maximum: int, initial: float = 4.0) -> None:
        if not target_age_s > 0:
            raise ValueError(f"target_age_s must be positive, got {target_age_s}")
        if maximum < 1:
            raise ValueError(f"maximum must be at least 1, got {maximum}")
        self.target_age_s = target_age_s
        self.maximum = maximum
        self.window = min(float(maximum), max(1.0, initial))
        self.in_flight = 0
        self.decreases = 0
        self.weight = 1.0
        self._sent = 0
        self._decrease_after = 0  # frames sent before the last decrease do not decrease it again

    def resize(self, maximum: int) -> None:
        """A new ceiling (the shard's cameras changed); the window shrinks to it if above."""
        if maximum < 1:
            raise ValueError(f"maximum must be at least 1, got {maximum}")
        self.maximum = maximum
        self.window = min(self.window, float(maximum))

    def set_weight(self, weight: float) -> None:
        """Grow by ``weight`` frames a window of fresh frames from now on; cut to ``0.5 ** (1 / weight)``."""
        if not weight > 0:
            raise ValueError(f"weight must be positive, got {weight}")
        self.weight = weight

    def has_room(self) -> bool:
        """Whether another frame may go to the models now."""
        return self.in_flight < int(self.window)

    def try_acquire(self) -> bool:
        """Take a slot if the window has one."""
        if not self.has_room():
            return False
        self.in_flight += 1
        self._sent += 1
        return True

    def release(self, age_s: float | None) -> None:
        """A frame came back: ``age_s`` old at detection, or ``None`` when it was shed as stale."""
        if self.in_flight == 0:
            raise RuntimeError("CongestionWindow.release() without a matching try_acquire()")
        self.in_flight -= 1
        if age_s is not None and age_s <= self.target_age_s:
            self.window = min(float(self.maximum), self.window + self.weight / self.window)
        elif self._sent > self._decrease_after:  # one decrease per window of frames, not per late frame
            self.window = max(1.0, self.window * 0.5 ** (1 / self.weight))
            self.decreases += 1
            self._decrease_after = self._sent

    def neutral(self) -> None:
        """A frame came back without a signal (an error): give its slot back only."""
        if self.in_flight == 0:
            raise RuntimeError("CongestionWindow.neutral() without a matching try_acquire()")
        self.in_flight -= 1
