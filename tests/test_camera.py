"""Camera ingest pieces: pacing, in-flight bound, and the frame reader on files."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from actors.camera.latest_frame import LatestFrameReader
from actors.camera.pacing import AnalysisPacer, InFlightLimiter
from actors.dispatch.backoff import Backoff
from tests.streams import free_port, numbered_frames, write_video


def wait_for(condition: Callable[[], bool], timeout_s: float = 20.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.02)


def test_pacer_limits_rate_and_skips_repeats() -> None:
    pacer = AnalysisPacer(analysis_fps=2.0)
    decisions = [pacer.should_analyse(seq, seq * 0.1) for seq in range(1, 31)]  # 10 fps for 3 s
    assert 5 <= sum(decisions) <= 7
    assert not pacer.should_analyse(26, 100.0)  # a frame already analysed (2.6 s) is never analysed twice


def test_in_flight_limiter_drops_and_counts() -> None:
    limiter = InFlightLimiter(2)
    assert [limiter.try_acquire() for _ in range(4)] == [True, True, False, False]
    limiter.release()
    assert limiter.try_acquire() and limiter.dropped == 2


@pytest.mark.slow
def test_file_camera_streams_in_real_time_and_ends(tmp_path: Path) -> None:
    video = write_video(tmp_path / "cam.mp4", numbered_frames(20), fps=20)
    reader = LatestFrameReader(str(video)).start()
    started = time.monotonic()
    wait_for(lambda: reader.stats().state == "ended")
    elapsed = time.monotonic() - started
    stats = reader.stats()
    assert stats.frames_read == 20 and stats.reconnects == 0
    assert elapsed >= 0.8  # 20 frames at 20 fps: paced like a live camera, not decoded flat out
    frame = reader.latest()
    assert frame is not None and frame.seq == 20 and frame.image.shape == (240, 320, 3)
    reader.stop()


@pytest.mark.slow
def test_looping_file_keeps_going(tmp_path: Path) -> None:
    video = write_video(tmp_path / "cam.mp4", numbered_frames(10), fps=25)
    reader = LatestFrameReader(str(video), loop_files=True).start()
    wait_for(lambda: reader.stats().frames_read > 25)
    assert reader.stats().state == "streaming"
    reader.stop()
    assert reader.stats().state == "stopped"


def test_unreachable_camera_backs_off_with_growing_delays() -> None:
    url = f"rtsp://127.0.0.1:{free_port()}/nothing"
    reader = LatestFrameReader(
        url, backoff=Backoff(0.01, 0.05), open_timeout_s=1, read_timeout_s=1, rng=random.Random(0)
    ).start()
    wait_for(lambda: reader.failures_in_a_row >= 3)
    stats = reader.stats()
    assert stats.frames_read == 0 and stats.errors >= 3
    assert stats.last_error is not None and url in stats.last_error
    reader.stop()


def test_missing_video_file_is_reported_by_name(tmp_path: Path) -> None:
    reader = LatestFrameReader(str(tmp_path / "nope.mp4"), backoff=Backoff(0.01, 0.02)).start()
    wait_for(lambda: reader.stats().errors >= 1)
    assert "nope.mp4: no such video file" in (reader.stats().last_error or "")
    reader.stop()
