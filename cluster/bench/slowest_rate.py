"""The slowest rate over any stretch of a given length: whether a long gap came from a slow stretch.

Pure: fed ``(time, total)`` marks, e.g. frames analysed by a shard at each poll of ``bench scale``.
A camera served in turn with 199 others waits 200 frames of its shard: its longest gap follows the
shard's slowest stretch, not its mean rate. Comparing each shard's slowest minute with the whole
fleet's says whether shards dipped on their own (sharing) or the machine slowed for all (capacity).
"""

from __future__ import annotations

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
