"""How long each camera went without an analysed frame: "each camera analysed at least once a minute".

Pure: fed the shards' :class:`CameraStats` as the bench polls them. A gap runs from the capture time of
one analysed frame to the next one's; the gap still open when the window ends counts too, and the first
one starts at the camera's last analysed frame before the window (the window's start if it had none).
"""

from __future__ import annotations

from collections.abc import Iterable

from actors.camera.stats import CameraStats


class AnalysisGaps:
    """The longest gap between analysed frames of each camera, over a measured window."""

    def __init__(self, rows: Iterable[CameraStats], window_start: float, long_s: float = 60.0) -> None:
        self.window_start = window_start
        self.long_s = long_s
        self._last = {row.camera_id: row.last_analysed_at or window_start for row in rows}
        self._longest: dict[str, tuple[float, float]] = {}  # (start, end) capture times of the longest
        self._long_ended_at: list[float] = []  # when each gap over ``long_s`` ended

    def observe(self, rows: Iterable[CameraStats]) -> None:
        """Take the newest counters (poll often enough that a camera is analysed at most once between)."""
        for row in rows:
            analysed_at = row.last_analysed_at
            last = self._last.setdefault(row.camera_id, self.window_start)
            if analysed_at is not None and analysed_at > last:
                self._grow(row.camera_id, last, analysed_at)
                if analysed_at - last > self.long_s:
                    self._long_ended_at.append(analysed_at)
                self._last[row.camera_id] = analysed_at

    def longest(self, window_end: float) -> dict[str, float]:
        """Each camera's longest gap, the one still open at ``window_end`` included (seconds)."""
        return {camera_id: end - start for camera_id, (start, end) in self.spans(window_end).items()}

    def spans(self, window_end: float) -> dict[str, tuple[float, float]]:
        """When each camera's longest gap began and ended (the one still open ends at ``window_end``)."""
        spans = {}
        for camera_id, last in self._last.items():
            start, end = self._longest.get(camera_id, (last, last))
            spans[camera_id] = (last, window_end) if window_end - last > end - start else (start, end)
        return spans

    def long_gaps_by_minute(self, window_end: float) -> list[int]:
        """Gaps over ``long_s`` by the minute of the window they ended in (still open: the last minute).

        Says whether long gaps come at the start (a gap running in from the warm-up) or all along.
        """
        minutes = max(1, int(-(-(window_end - self.window_start) // 60)))
        counts = [0] * minutes
        still_open = [window_end for last in self._last.values() if window_end - last > self.long_s]
        for ended_at in [*self._long_ended_at, *still_open]:
            counts[min(minutes - 1, max(0, int((ended_at - self.window_start) // 60)))] += 1
        return counts

    def _grow(self, camera_id: str, start: float, end: float) -> None:
        before = self._longest.get(camera_id)
        if before is None or end - start > before[1] - before[0]:
            self._longest[camera_id] = (start, end)
