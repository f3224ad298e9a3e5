"""The slowest rate over any stretch of a given length: whether a long gap came from a slow stretch.

Pure: fed ``(time, total)`` marks, e.g. frames analysed by a shard at each poll of ``bench scale``.
A camera served in turn with 199 others waits 200 frames of its shard: its longest gap follows the
shard's slowest stretch, not its mean rate. Comparing each shard's slowest minute with the whole
fleet's says whether shards dipped on their own (sharing) or the machine slowed for all (capacity);
and counting what a camera's shard analysed during the camera's longest gap says whether the camera
waited one round of its shard (the shard was slow) or more (it was passed over).
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence


def slowest_rate(marks: Sequence[tuple[float, float]], window_s: float) -> float | None:
    """The lowest ``(total_j - total_i) / (t_j - t_i)`` over mark pairs at least ``window_s`` apart,
    each ``i`` paired with the first ``j`` that far on; ``None`` if the marks span less."""
    if not window_s > 0:
        raise ValueError(f"window_s must be positive, got {window_s}")
    slowest: float | None = None
    j = 0
    for i, (start, total_start) in enumerate(marks):
        j = max(j, i + 1)
        while j < len(marks) and marks[j][0] - start < window_s:
            j += 1
        if j == len(marks):
            break
        end, total_end = marks[j]
        rate = (total_end - total_start) / (end - start)
        slowest = rate if slowest is None else min(slowest, rate)
    return slowest


def counted_between(marks: Sequence[tuple[float, float]], start: float, end: float) -> float | None:
    """How much the total grew from ``start`` to ``end``, linear between marks; ``None`` outside them."""
    if not marks or start < marks[0][0] or end > marks[-1][0] or end < start:
        return None
    return _total_at(marks, end) - _total_at(marks, start)


def _total_at(marks: Sequence[tuple[float, float]], at: float) -> float:
    i = bisect.bisect_left(marks, at, key=lambda mark: mark[0])
    if marks[i][0] == at:
        return marks[i][1]
    (t0, v0), (t1, v1) = marks[i - 1], marks[i]
    return v0 + (v1 - v0) * (at - t0) / (t1 - t0)
