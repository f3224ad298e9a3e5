"""Sharing the models fairly between camera shards.

Every shard grows its congestion window on its own (AIMD), and AIMD shares the models evenly only on
average: a shard whose window was halved at an unlucky moment (one shed plate chip is enough) serves
its cameras slower for the next minute while the others serve theirs faster. At 1,000 cameras on two
cores that was the whole miss of "each camera analysed once a minute": the mean gap was ~41-49 s, and
the slowest shard's cameras waited 47-64 s within one run.

So each shard tells a board how late its most overdue camera is, and hears the fleet's median back; a
shard behind the fleet grows its window faster and cuts it less, one ahead the reverse. Weighting the
growth alone was tried first: shards 10-25% apart in lateness stayed apart (longest gap 49 s in one
shard, 61 s in another, one run); with the cut weighted too, a weight of 1.1 gets ~1.2x the share
(``tests/test_model_share.py``). The board is advice: without it every weight is 1, as before.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

# A shard at most this many times as eager (or as patient) as the others: a bounded nudge, so one
# shard that reports nonsense cannot take the models or give up its share.
MAX_WEIGHT = 2.0
MIN_WEIGHT = 1 / MAX_WEIGHT
# Lateness is compared with this added to both sides, so shards that are all on time (lateness ~0,
# the shared models not the limit) keep weights near 1 instead of a ratio of noise.
SLACK_S = 1.0
# A shard that has not reported for this long (stopped, restarted under another id) no longer counts.
REPORT_FRESH_S = 10.0
REPORT_INTERVAL_S = 1.0


def share_weight(own_lateness_s: float, fleet_lateness_s: float | None) -> float:
    """The shard's window weight (:class:`actors.camera.pacing.CongestionWindow`): above 1 when it is
    later than the fleet, below 1 when it is earlier, 1 without a fleet to compare with."""
    if fleet_lateness_s is None:
        return 1.0
    ratio = (max(0.0, own_lateness_s) + SLACK_S) / (max(0.0, fleet_lateness_s) + SLACK_S)
    return min(MAX_WEIGHT, max(MIN_WEIGHT, ratio))


@dataclass(frozen=True)
class _Report:
    lateness_s: float
    at: float


class ShareBoard:
    """The shards' latest lateness; answers each report with the median of the fresh ones."""

    def __init__(self, fresh_s: float = REPORT_FRESH_S, clock: Callable[[], float] = time.monotonic) -> None:
        if not fresh_s > 0:
            raise ValueError(f"fresh_s must be positive, got {fresh_s}")
        self.fresh_s = fresh_s
        self._clock = clock
        self._reports: dict[str, _Report] = {}

    def report(self, shard: str, lateness_s: float) -> float:
        """Record ``shard``'s lateness (seconds its most overdue camera is behind); the fleet's median."""
        if not lateness_s >= 0:  # also refuses NaN
            raise ValueError(f"lateness_s must be a number of seconds >= 0, got {lateness_s}")
        self._reports[shard] = _Report(lateness_s, self._clock())
        return statistics.median(r.lateness_s for r in self._fresh())

    def shards(self) -> int:
        """How many shards reported within ``fresh_s``."""
        return len(self._fresh())

    def _fresh(self) -> list[_Report]:
        """The reports younger than ``fresh_s``; older ones are forgotten."""
        now = self._clock()
        self._reports = {k: r for k, r in self._reports.items() if now - r.at <= self.fresh_s}
        return list(self._reports.values())
