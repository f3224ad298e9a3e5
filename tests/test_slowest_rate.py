"""The slowest stretch of a counter: what bench scale reports per shard and for the fleet."""

from __future__ import annotations

import pytest

from cluster.bench.slowest_rate import counted_between, slowest_rate


def test_steady_counter_has_its_rate_everywhere() -> None:
    marks = [(t * 5.0, t * 5.0 * 4.0) for t in range(30)]  # 4 a second, polled every 5 s

    assert slowest_rate(marks, 60.0) == pytest.approx(4.0)


def test_a_slow_minute_is_found_among_fast_ones() -> None:
    rates = [5.0] * 24 + [2.0] * 12 + [5.0] * 24  # a minute at 2 a second, polled every 5 s
    marks, total = [(0.0, 0.0)], 0.0
    for step, rate in enumerate(rates, start=1):
        total += rate * 5.0
        marks.append((step * 5.0, total))

    assert slowest_rate(marks, 60.0) == pytest.approx(2.0)
    assert slowest_rate(marks, 120.0) == pytest.approx(3.5)  # the slow minute and a fast one


def test_uneven_polls_pair_each_start_with_the_first_mark_far_enough() -> None:
    marks = [(0.0, 0.0), (40.0, 40.0), (61.0, 61.0), (70.0, 130.0), (125.0, 140.0)]

    assert slowest_rate(marks, 60.0) == pytest.approx(min(61 / 61, 100 / 85, 79 / 64))


def test_marks_spanning_less_than_the_window_give_none() -> None:
    assert slowest_rate([(0.0, 0.0), (30.0, 90.0)], 60.0) is None
    assert slowest_rate([], 60.0) is None


def test_window_must_be_positive() -> None:
    with pytest.raises(ValueError, match="window_s"):
        slowest_rate([(0.0, 0.0)], 0.0)


def test_counted_between_interpolates_between_marks() -> None:
    marks = [(0.0, 0.0), (10.0, 100.0), (20.0, 120.0)]

    assert counted_between(marks, 0.0, 10.0) == pytest.approx(100.0)
    assert counted_between(marks, 5.0, 15.0) == pytest.approx(60.0)  # 50 then 10
    assert counted_between(marks, 12.0, 12.0) == pytest.approx(0.0)


def test_counted_between_outside_the_marks_is_unknown() -> None:
    marks = [(0.0, 0.0), (10.0, 100.0)]

    assert counted_between(marks, -1.0, 5.0) is None
    assert counted_between(marks, 5.0, 11.0) is None
    assert counted_between(marks, 6.0, 5.0) is None
    assert counted_between([], 0.0, 0.0) is None
