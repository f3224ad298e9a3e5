"""The bench's starvation measure: the longest time each camera went without an analysed frame."""

from __future__ import annotations

import pytest

from actors.camera.stats import CameraStats
from cluster.bench.analysis_gaps import AnalysisGaps
from tests.camera_counters import camera_stats


def row(camera_id: str, last_analysed_at: float | None) -> CameraStats:
    return camera_stats(camera_id, last_analysed_at=last_analysed_at)


def test_the_longest_gap_is_between_analysed_frames_and_the_first_starts_before_the_window() -> None:
    gaps = AnalysisGaps([row("a", 990.0), row("b", None)], window_start=1000.0)
    for t_a, t_b in ((1030.0, None), (1030.0, 1050.0), (1100.0, 1060.0)):
        gaps.observe([row("a", t_a), row("b", t_b)])
    assert gaps.longest(window_end=1120.0) == {"a": pytest.approx(70.0), "b": pytest.approx(60.0)}


def test_spans_say_when_each_longest_gap_began_and_ended() -> None:
    gaps = AnalysisGaps([row("a", 990.0), row("b", None)], window_start=1000.0)
    for t_a, t_b in ((1030.0, None), (1030.0, 1050.0), (1100.0, 1060.0)):
        gaps.observe([row("a", t_a), row("b", t_b)])
    assert gaps.spans(window_end=1120.0) == {"a": (1030.0, 1100.0), "b": (1060.0, 1120.0)}  # b: still open


def test_a_camera_never_analysed_in_the_window_has_the_whole_window_as_its_gap() -> None:
    gaps = AnalysisGaps([row("a", 990.0)], window_start=1000.0)
    gaps.observe([row("a", 990.0), row("late", None)])  # "late" was added during the window
    assert gaps.longest(window_end=1240.0) == {"a": pytest.approx(250.0), "late": pytest.approx(240.0)}


def test_the_gap_still_open_at_the_end_counts_when_it_is_the_longest() -> None:
    gaps = AnalysisGaps([row("a", 1000.0)], window_start=1000.0)
    gaps.observe([row("a", 1010.0)])
    assert gaps.longest(window_end=1100.0)["a"] == pytest.approx(90.0)
    assert gaps.longest(window_end=1015.0)["a"] == pytest.approx(10.0)


def test_gaps_over_a_minute_are_counted_by_the_minute_of_the_window_they_ended_in() -> None:
    gaps = AnalysisGaps([row("a", 950.0), row("b", 1000.0), row("c", 1000.0)], window_start=1000.0)
    gaps.observe([row("a", 1015.0), row("b", 1050.0), row("c", 1010.0)])  # a: 65 s, from the warm-up
    gaps.observe([row("a", 1100.0), row("b", 1140.0), row("c", 1010.0)])  # a: 85 s; b: 90 s, in minute 3
    assert gaps.long_gaps_by_minute(window_end=1150.0) == [1, 1, 2]  # c: still open after 140 s
