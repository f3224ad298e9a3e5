"""Per-camera counters, as a shard reports them to the job, the demo, the benchmarks and operators."""

from __future__ import annotations

from dataclasses import dataclass

from actors.camera.latest_frame import ReaderState


@dataclass(frozen=True)
class ShedCounts:
    """Requests of one camera dropped unprocessed by the models because they had gone stale."""

    detect: int = 0
    embed: int = 0
    read: int = 0

    @property
    def total(self) -> int:
        """All shed requests."""
        return self.detect + self.embed + self.read


@dataclass(frozen=True)
class CameraStats:
    """One camera's counters since its shard started.

    ``frames_dropped`` counts frames never sent to the models (work in flight was at its bound, or an
    older frame finished after a newer one); ``shed`` counts requests the models dropped as stale.
    """

    camera_id: str
    state: ReaderState
    frames_read: int
    frames_analysed: int
    frames_dropped: int
    shed: ShedCounts
    reconnects: int
    last_frame_age_s: float | None
    stream_error: str | None
    analysis_errors: int
    last_analysis_error: str | None
    faces_offered: int
    faces_embedded: int
    plates_offered: int
    plates_read: int
    matcher_retries: int  # observations handed to the matcher again after it failed to take them
    analysed_frame_age_s: float | None = None  # the last analysed frame's age when its detections came
    last_analysed_at: float | None = None  # unix time the last analysed frame was captured
