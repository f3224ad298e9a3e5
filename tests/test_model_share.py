"""Sharing the models between shards: the board's median, and the window weight it gives."""

from __future__ import annotations

import pytest

from actors.camera.model_share import MAX_WEIGHT, MIN_WEIGHT, ShareBoard, share_weight
from actors.camera.pacing import CongestionWindow


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_the_board_answers_the_median_of_the_shards_that_reported() -> None:
    board = ShareBoard(clock=Clock())
    assert board.report("a", 10.0) == 10.0
    assert board.report("b", 30.0) == 20.0
    assert board.report("c", 14.0) == 14.0
    assert board.report("a", 40.0) == 30.0  # a shard's newer report replaces its older one
    assert board.shards() == 3


def test_a_shard_that_stopped_reporting_no_longer_counts() -> None:
    clock = Clock()
    board = ShareBoard(fresh_s=10.0, clock=clock)
    board.report("gone", 50.0)
    clock.now += 5
    assert board.report("a", 10.0) == 30.0
    clock.now += 6  # "gone" reported 11 s ago
    assert board.report("a", 10.0) == 10.0
    assert board.shards() == 1


@pytest.mark.parametrize("lateness", [-1.0, float("nan")])
def test_a_report_that_is_not_seconds_is_refused(lateness: float) -> None:
    with pytest.raises(ValueError, match="lateness_s must be"):
        ShareBoard().report("a", lateness)


def test_a_shard_behind_the_fleet_grows_faster_and_one_ahead_slower_within_bounds() -> None:
    assert share_weight(20.0, None) == 1.0  # no board: as before
    assert share_weight(20.0, 20.0) == 1.0
    assert share_weight(32.0, 21.0) == pytest.approx(1.5)  # (32 + 1) / (21 + 1)
    assert share_weight(10.0, 21.0) == pytest.approx(0.5)
    assert share_weight(500.0, 20.0) == MAX_WEIGHT
    assert share_weight(0.0, 500.0) == MIN_WEIGHT
    assert share_weight(0.0, 0.2) == pytest.approx(1 / 1.2)  # all on time: near 1, not 0


def served_ratio(weight_a: float, weight_b: float, capacity: int = 20, rounds: int = 2000) -> float:
    """Two windows on one model of fixed capacity, both halving when it is over-full (as a queue makes
    every frame late); what ``a`` got over what ``b`` got."""
    a, b = CongestionWindow(1.0, 1000, initial=4), CongestionWindow(1.0, 1000, initial=4)
    a.set_weight(weight_a)
    b.set_weight(weight_b)
    served = [0, 0]
    for _ in range(rounds):
        over = int(a.window) + int(b.window) > capacity
        for index, window in enumerate((a, b)):
            sent = int(window.window)
            for _ in range(sent):
                window.try_acquire()
            for _ in range(sent):
                window.release(2.0 if over else 0.5)
            served[index] += sent
    return served[0] / served[1]


def test_a_heavier_shard_gets_a_larger_share_and_equal_ones_equal_shares() -> None:
    assert served_ratio(1.0, 1.0) == pytest.approx(1.0, rel=0.02)
    assert 1.1 < served_ratio(1.1, 1.0) < 1.3  # a 10% nudge: ~1.2x the share
    assert served_ratio(2.0, 0.5) > served_ratio(1.5, 0.75) > served_ratio(1.2, 1.0) > served_ratio(1.1, 1.0)


def test_a_weight_that_is_not_positive_is_refused() -> None:
    with pytest.raises(ValueError, match="weight must be positive"):
        CongestionWindow(1.0, 10).set_weight(0.0)
