"""bench scale's frames/s by minute, from the counts it polled."""

from __future__ import annotations

import pytest

from cluster.bench.scale import _Poll, _rates_by_minute


def _polls(times: list[float], totals: list[int]) -> list[_Poll]:
    return [
        _Poll(1000.0 + t, t, [total // 2, total - total // 2]) for t, total in zip(times, totals, strict=True)
    ]


def test_rates_between_polls_a_minute_apart_with_the_last_stretch() -> None:
    times = [0.0, 30.0, 60.0, 95.0, 125.0, 165.0]
    totals = [0, 300, 600, 900, 1300, 1700]

    assert _rates_by_minute(_polls(times, totals)) == [
        pytest.approx(10.0),
        pytest.approx(round(700 / 65, 2)),
        pytest.approx(10.0),
    ]


def test_a_last_stretch_under_30_s_is_left_out() -> None:
    assert _rates_by_minute(_polls([0.0, 60.0, 80.0], [0, 600, 1000])) == [pytest.approx(10.0)]
