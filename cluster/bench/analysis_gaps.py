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

    def __init__(self, rows: Iterable[CameraStats], window_start: float) -> None:
        self.window_start = window_start
        self._last = {row.camera_id: row.last_analysed_at or window_start for row in rows}
        self._longest: dict[str, float] = {}

    def observe(self, rows: Iterable[CameraStats]) -> None:
        """Take the newest counters (poll often enough that a camera is analysed at most once between)."""
        for row in rows:
            analysed_at = row.last_analysed_at
            last = self._last.setdefault(row.camera_id, self.window_start)
            if analysed_at is not None and analysed_at > last:
                self._grow(row.camera_id, analysed_at - last)
                self._last[row.camera_id] = analysed_at

    def longest(self, window_end: float) -> dict[str, float]:
        """Each camera's longest gap, the one still open at ``window_end`` included (seconds)."""
        return {
            camera_id: max(self._longest.get(camera_id, 0.0), window_end - last)
            for camera_id, last in self._last.items()
        }

    def _grow(self, camera_id: str, gap_s: float) -> None:
        self._longest[camera_id] = max(self._longest.get(camera_id, 0.0), gap_s)
