"""The camera shard's congestion window: grows while frames come back fresh, halves when they do not."""

from __future__ import annotations

import pytest

from actors.camera.pacing import CongestionWindow


def fill(window: CongestionWindow) -> int:
    taken = 0
    while window.try_acquire():
        taken += 1
    return taken


def test_a_window_of_fresh_frames_grows_it_by_one() -> None:
    window = CongestionWindow(target_age_s=1.0, maximum=100, initial=4)
    assert fill(window) == 4 and not window.has_room()
    for _ in range(4):
        window.release(0.3)
    assert window.window == pytest.approx(5.0, abs=0.1)  # 1/window a frame: about one a window
    assert fill(window) == 4  # 4.97: slots are whole frames
    for _ in range(4):
        window.release(0.3)
    assert fill(window) == 5


def test_old_or_shed_frames_halve_it_once_per_window() -> None:
    window = CongestionWindow(target_age_s=1.0, maximum=100, initial=8)
    assert fill(window) == 8
    window.release(2.5)  # back too old: queues are building
    assert window.window == 4.0 and window.decreases == 1
    for _ in range(7):  # the rest of that window was sent before the decrease: no second halving
        window.release(None)
    assert window.window == 4.0 and window.decreases == 1
    assert fill(window) == 4
    window.release(None)  # shed, from a window sent after the decrease
    assert window.window == 2.0 and window.decreases == 2


def test_it_stays_between_one_and_the_maximum() -> None:
    window = CongestionWindow(target_age_s=1.0, maximum=3, initial=10)
    assert window.window == 3.0
    for _ in range(50):
        fill(window)
        while window.in_flight:
            window.release(0.1)
    assert window.window == 3.0
    for _ in range(10):
        assert window.try_acquire()
        window.release(9.0)
    assert window.window == 1.0 and fill(window) == 1


def test_an_error_gives_the_slot_back_without_a_signal() -> None:
    window = CongestionWindow(target_age_s=1.0, maximum=10, initial=2)
    fill(window)
    window.neutral()
    assert window.window == 2.0 and window.in_flight == 1
    window.neutral()
    with pytest.raises(RuntimeError, match="without a matching try_acquire"):
        window.neutral()
    with pytest.raises(RuntimeError, match="without a matching try_acquire"):
        window.release(0.1)


@pytest.mark.parametrize(("target", "maximum"), [(0.0, 4), (1.0, 0)])
def test_bad_settings_are_refused(target: float, maximum: int) -> None:
    with pytest.raises(ValueError, match="must be"):
        CongestionWindow(target_age_s=target, maximum=maximum)


@pytest.mark.parametrize(("weight", "grown", "kept"), [(1.0, 9.0, 0.5), (2.0, 9.8, 0.707), (0.5, 8.5, 0.25)])
def test_a_weight_grows_it_faster_and_cuts_it_less(weight: float, grown: float, kept: float) -> None:
    window = CongestionWindow(target_age_s=1.0, maximum=100, initial=8)
    window.set_weight(weight)
    for _ in range(fill(window)):
        window.release(0.3)  # a window of fresh frames: about ``weight`` frames more
    assert window.window == pytest.approx(grown, abs=0.1)
    window.try_acquire()
    window.release(5.0)  # one old frame: cut to 0.5 ** (1 / weight) of itself
    assert window.window == pytest.approx(kept * grown, abs=0.1)
