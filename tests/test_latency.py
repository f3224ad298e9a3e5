"""Frame-to-webhook latency per alert kind, as the demo and the pipeline benchmark report it."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import pytest

from cluster.latency import LatencyLog, nearest_rank

CAPTURED = datetime(2026, 11, 25, 5, 0, 0, tzinfo=UTC)


def alert(kind: str) -> dict[str, str]:
    return {"kind": kind, "captured_at": CAPTURED.isoformat()}


def test_nearest_rank_percentiles() -> None:
    values = [float(v) for v in range(1, 21)]  # 1..20
    assert nearest_rank(values, 50) == 10.0
    assert nearest_rank(values, 95) == 19.0
    assert nearest_rank([3.0], 95) == 3.0
    assert math.isnan(nearest_rank([], 50))


def test_latency_is_kept_per_kind_and_described_in_one_line() -> None:
    log = LatencyLog()
    for seconds in (0.4, 0.6, 0.5):
        log.record(alert("face"), CAPTURED.timestamp() + seconds)
    assert log.by_kind["face"] == pytest.approx([0.4, 0.6, 0.5], abs=1e-5)
    assert log.describe() == "face (3) p50 0.50 s, p95 0.60 s; plate (0)"
