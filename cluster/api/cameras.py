"""The cameras as the API shows them: the config's list, with each camera's live counters when a
pipeline is running on the cluster (asked of its camera shard actors)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

from actors.camera.source import redact
from actors.camera.stats import CameraStats
from cluster.api.schemas import CameraCounters, CameraInfo
from cluster.config.cameras import CameraConfig

log = logging.getLogger(__name__)
SHARD_PREFIX = "safecity-cameras-"  # cluster.pipeline.shard_name, without importing the pipeline
STATS_TIMEOUT_S = 5.0  # a shard that does not answer in this time is left out, not waited for

StatsSource = Callable[[], list[CameraStats]]


def ray_camera_stats(namespace: str) -> StatsSource:
    """Counters from every camera shard actor in ``namespace``; none when Ray or the pipeline is not up."""

    def stats() -> list[CameraStats]:
        import ray

        if not ray.is_initialized():
            return []
        names = [
            entry["name"]
            for entry in ray.util.list_named_actors(all_namespaces=True)
            if entry["namespace"] == namespace and str(entry["name"]).startswith(SHARD_PREFIX)
        ]
        rows: list[CameraStats] = []
        for name in names:
            try:
                shard: Any = ray.get_actor(name, namespace=namespace)
                rows.extend(ray.get(shard.stats.remote(), timeout=STATS_TIMEOUT_S))
            except (ray.exceptions.RayError, ValueError) as exc:  # restarting, or gone since listed
                log.warning("camera shard %s: no counters this time: %s", name, type(exc).__name__)
        return rows

    return stats


def camera_infos(cameras: Sequence[CameraConfig], live: Sequence[CameraStats]) -> list[CameraInfo]:
    """Each configured camera, its url without a password, and its counters if a shard reported them."""
    by_id = {row.camera_id: row for row in live}
    return [
        CameraInfo(
            id=camera.id,
            name=camera.name,
            kind=camera.kind,
            zone=camera.zone,
            url=redact(camera.url),
            enabled=camera.enabled,
            analysis_fps=camera.analysis_fps,
            live=_counters(by_id.get(camera.id)),
        )
        for camera in cameras
    ]


def _counters(row: CameraStats | None) -> CameraCounters | None:
    if row is None:
        return None
    return CameraCounters(
        state=row.state,
        frames_read=row.frames_read,
        frames_analysed=row.frames_analysed,
        frames_dropped=row.frames_dropped,
        frames_shed=row.shed.total,
        reconnects=row.reconnects,
        last_frame_age_s=row.last_frame_age_s,
        stream_error=row.stream_error,
    )
