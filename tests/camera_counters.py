"""A camera's counters for tests: all zero unless a test says otherwise."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from actors.camera.stats import CameraStats, ShedCounts


def camera_stats(camera_id: str, **changes: Any) -> CameraStats:
    """``CameraStats`` of a streaming camera that has counted nothing, with ``changes`` applied."""
    zero = CameraStats(
        camera_id=camera_id,
        state="streaming",
        frames_read=0,
        frames_analysed=0,
        frames_dropped=0,
        shed=ShedCounts(),
        reconnects=0,
        last_frame_age_s=None,
        stream_error=None,
        analysis_errors=0,
        last_analysis_error=None,
        faces_offered=0,
        faces_embedded=0,
        plates_offered=0,
        plates_read=0,
        matcher_retries=0,
    )
    return replace(zero, **changes)
