"""A small multi-object tracker for low analysis frame rates (1-5 fps).

Boxes of consecutive analysed frames are associated by an optimal assignment on IoU; when a box moved
too far for any overlap (people cover half a body width between frames at 2 fps), a match by centre
distance relative to box size is allowed as well.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy.optimize import linear_sum_assignment

_NO_MATCH = 1e6
# Track ids of one tracker start at ``start_ms * IDS_PER_MS``: unique across restarts of a shard, a job
# or a cluster as long as a camera starts fewer than 1,000 tracks per millisecond since its start
# (cameras start a few per second), and below 2**53 until the year 2255, so JSON readers in any
# language keep them exact.
IDS_PER_MS = 1000


def track_id_base(started_at: float) -> int:
    """The first track id of a tracker started at ``started_at`` (unix seconds)."""
    return int(started_at * 1000) * IDS_PER_MS


@dataclass
class _Track:
    track_id: int
    xyxy: NDArray[np.float32]
    last_seen: float


def _iou_matrix(a: NDArray[np.float32], b: NDArray[np.float32]) -> NDArray[np.float64]:
    ix1 = np.maximum(a[:, None, 0], b[None, :, 0])
    iy1 = np.maximum(a[:, None, 1], b[None, :, 1])
    ix2 = np.minimum(a[:, None, 2], b[None, :, 2])
    iy2 = np.minimum(a[:, None, 3], b[None, :, 3])
    inter = np.clip(ix2 - ix1, 0, None) * np.clip(iy2 - iy1, 0, None)
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    union = area_a[:, None] + area_b[None, :] - inter
    return np.asarray(np.where(union > 0, inter / np.maximum(union, 1e-9), 0.0), dtype=np.float64)


class IouTracker:
    """Assigns a stable track id to each detection of a camera's analysed frames.

    Ids count up from ``first_id``; a camera shard passes :func:`track_id_base` of its start so that a
    restarted shard never reuses an id the matcher has already decided. ``max_age_s`` is the config's
    ``pipeline.track_max_age_s``.
    """

    def __init__(
        self,
        *,
        max_age_s: float,
        iou_threshold: float = 0.3,
        max_centre_shift: float = 0.75,
        max_size_ratio: float = 2.0,
        first_id: int = 1,
    ) -> None:
        self.iou_threshold = iou_threshold
        self.max_age_s = max_age_s
        self.max_centre_shift = max_centre_shift
        self.max_size_ratio = max_size_ratio
        self._tracks: list[_Track] = []
        self._ended: list[int] = []  # aged out during update(), reported by the next expired()
        self._next_id = first_id

    def _cost(self, tracks: NDArray[np.float32], boxes: NDArray[np.float32]) -> NDArray[np.float64]:
        iou = _iou_matrix(tracks, boxes)
        centre_t = (tracks[:, :2] + tracks[:, 2:]) / 2
        centre_b = (boxes[:, :2] + boxes[:, 2:]) / 2
        shift = np.linalg.norm(centre_t[:, None, :] - centre_b[None, :, :], axis=2)
        diag_t = np.linalg.norm(tracks[:, 2:] - tracks[:, :2], axis=1)
        diag_b = np.linalg.norm(boxes[:, 2:] - boxes[:, :2], axis=1)
        larger = np.maximum(diag_t[:, None], diag_b[None, :])
        ratio = np.maximum(diag_t[:, None], diag_b[None, :]) / np.maximum(
            np.minimum(diag_t[:, None], diag_b[None, :]), 1e-9
        )
        relative_shift = shift / np.maximum(larger, 1e-9)
        near = (relative_shift < self.max_centre_shift) & (ratio <= self.max_size_ratio)
        # IoU matches first (cost in [0, 1)); distance-only matches after them (cost in [1, 2)).
        cost = np.where(iou >= self.iou_threshold, 1.0 - iou, np.where(near, 1.0 + relative_shift, _NO_MATCH))
        return np.asarray(cost, dtype=np.float64)

    def update(self, xyxy: NDArray[np.float32], at: float) -> list[int]:
        """Track ids for the boxes (n, 4) of a frame captured at ``at`` (seconds)."""
        self._ended.extend(self._age_out(at))
        boxes = np.asarray(xyxy, dtype=np.float32).reshape(-1, 4)
        ids = [0] * len(boxes)
        if self._tracks and len(boxes):
            cost = self._cost(np.stack([t.xyxy for t in self._tracks]), boxes)
            rows, cols = linear_sum_assignment(cost)
            for row, col in zip(rows.tolist(), cols.tolist(), strict=True):
                if cost[row, col] >= _NO_MATCH:
                    continue
                track = self._tracks[row]
                track.xyxy, track.last_seen = boxes[col], at
                ids[col] = track.track_id
        for index, track_id in enumerate(ids):
            if track_id == 0:
                track = _Track(self._next_id, boxes[index], at)
                self._next_id += 1
                self._tracks.append(track)
                ids[index] = track.track_id
        return ids

    def expired(self, at: float) -> list[int]:
        """Ids of tracks not seen for ``max_age_s``, including those aged out by ``update``; each once."""
        gone = self._ended + self._age_out(at)
        self._ended = []
        return gone

    def _age_out(self, at: float) -> list[int]:
        gone = [t.track_id for t in self._tracks if at - t.last_seen > self.max_age_s]
        self._tracks = [t for t in self._tracks if at - t.last_seen <= self.max_age_s]
        return gone
