"""Camera ingest: sources (file, RTSP, MJPEG), the newest-frame reader, pacing and the in-flight bound."""

from __future__ import annotations

import gc
import logging
import os
import random
import time
import weakref
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest

from actors.backoff import Backoff
from actors.camera.latest_frame import LatestFrameReader
from actors.camera.pacing import AnalysisPacer, InFlightLimiter
from actors.camera.source import FrameCapture, open_capture, redact
from serve.errors import EndOfStreamError, SourceConnectionError
from serve.imaging import Image
from tests.mjpeg_server import MjpegServer
from tests.settings import stream_settings
from tests.streams import RtspServer, closest, free_port, numbered_frames, write_h264_video, write_video
from tests.waiting import poll_until

FAST_RETRY = Backoff(initial_s=0.05, maximum_s=0.2, multiplier=2.0, jitter=0.5)


def latest_seq(reader: LatestFrameReader) -> int:
    frame = reader.latest()
    return 0 if frame is None else frame.seq


@pytest.fixture(scope="module")
def h264_clip(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Image]]:
    frames = numbered_frames(64)
    return write_h264_video(tmp_path_factory.mktemp("rtsp") / "cam.mp4", frames, fps=20), frames


# --- file cameras ---------------------------------------------------------------------------------


@pytest.mark.slow
def test_file_camera_streams_at_native_pace_holding_one_frame(
    tmp_path: Path, readers: list[LatestFrameReader]
) -> None:
    frames = numbered_frames(64)
    video = write_video(tmp_path / "cam.mp4", frames, fps=25)
    reader = LatestFrameReader(str(video), stream_settings(), loop_files=True)
    readers.append(reader.start())
    started = time.monotonic()
    poll_until(lambda: reader.stats().frames_read >= 3, 15, "first frames", interval=0.01)
    first = reader.latest()
    assert first is not None and first.image.shape == (240, 320, 3) and first.image.dtype == np.uint8
    index, diff = closest(first.image, frames)
    assert index == (first.seq - 1) % 64 and diff < 8  # seq n is the file's frame n - 1, decoded right
    poll_until(lambda: reader.stats().frames_read >= 25, 15, "25 frames", interval=0.01)
    elapsed = time.monotonic() - started
    # 25 frames at 25 fps span 0.96 s: decoded in real time like a live camera, not flat out.
    assert elapsed >= 0.9, f"25 frames in {elapsed:.2f} s: faster than the file's 25 fps"
    previous = reader.latest()
    assert previous is not None and previous.seq > first.seq
    held, previous_seq = weakref.ref(previous.image), previous.seq
    del previous, first
    poll_until(lambda: latest_seq(reader) > previous_seq, 15, "the next frame", interval=0.01)
    gc.collect()
    assert held() is None, "the frame before the newest is still held: only the newest may be kept"
    stats = reader.stats()
    assert stats.state == "streaming" and stats.errors == 0 and stats.reconnects == 0
    assert stats.last_frame_age_s is not None and stats.last_frame_age_s < 1.0


@pytest.mark.slow
def test_file_camera_that_does_not_loop_ends_without_reconnecting(
    tmp_path: Path, readers: list[LatestFrameReader]
) -> None:
    video = write_video(tmp_path / "cam.mp4", numbered_frames(20), fps=40)
    reader = LatestFrameReader(f"file://{video}", stream_settings(reconnect=FAST_RETRY))
    readers.append(reader.start())
    poll_until(lambda: reader.stats().state == "ended", 15, "end of the file", interval=0.01)
    stats = reader.stats()
    assert (stats.frames_read, stats.reconnects, stats.errors) == (20, 0, 0)
    latest = reader.latest()
    assert latest is not None and latest.seq == 20 and latest.image.shape == (240, 320, 3)
    assert reader.stop() and reader.stats().state == "stopped"


@pytest.mark.slow
def test_looping_file_keeps_going_past_its_length(tmp_path: Path, readers: list[LatestFrameReader]) -> None:
    frames = numbered_frames(10)
    video = write_video(tmp_path / "cam.mp4", frames, fps=50)
    reader = LatestFrameReader(str(video), stream_settings(), loop_files=True)
    readers.append(reader.start())
    poll_until(lambda: reader.stats().frames_read > 25, 15, "frames past two loops", interval=0.01)
    latest = reader.latest()
    assert latest is not None and latest.seq > 25
    index, diff = closest(latest.image, frames)
    assert index == (latest.seq - 1) % 10 and diff < 8  # started again at the first frame
    stats = reader.stats()
    assert stats.state == "streaming" and stats.reconnects == 0 and stats.errors == 0
    assert reader.stop() and reader.stats().state == "stopped"


def test_capture_time_comes_from_the_given_clock(tmp_path: Path, readers: list[LatestFrameReader]) -> None:
    video = write_video(tmp_path / "cam.mp4", numbered_frames(3), fps=50)
    now = [1_700_000_000.0]
    reader = LatestFrameReader(str(video), stream_settings(), clock=lambda: now[0])
    readers.append(reader.start())
    poll_until(lambda: reader.stats().state == "ended", 15, "end of the file", interval=0.01)
    latest = reader.latest()
    assert latest is not None and latest.captured_at == 1_700_000_000.0
    now[0] += 4.5
    assert reader.stats().last_frame_age_s == pytest.approx(4.5)


def test_stop_interrupts_a_slow_file_at_once(tmp_path: Path, readers: list[LatestFrameReader]) -> None:
    video = write_video(tmp_path / "cam.mp4", numbered_frames(5), fps=1)
    reader = LatestFrameReader(str(video), stream_settings(), loop_files=True)
    readers.append(reader.start())
    poll_until(lambda: reader.stats().frames_read == 1, 15, "the first frame", interval=0.01)
    started = time.monotonic()
    assert reader.stop(timeout_s=5.0)
    assert time.monotonic() - started < 0.5  # not the 1 s until the next frame is due
    stats = reader.stats()
    assert stats.state == "stopped" and stats.errors == 0


def test_missing_video_file_is_reported_by_name(tmp_path: Path, readers: list[LatestFrameReader]) -> None:
    reader = LatestFrameReader(str(tmp_path / "nope.mp4"), stream_settings(reconnect=FAST_RETRY))
    readers.append(reader.start())
    poll_until(lambda: reader.stats().errors >= 1, 15, "an error", interval=0.01)
    assert f"{tmp_path / 'nope.mp4'}: no such video file" == reader.stats().last_error


def test_open_capture_reads_a_file_url_and_ends(tmp_path: Path) -> None:
    video = write_video(tmp_path / "my cam.mp4", numbered_frames(4), fps=50)
    capture = open_capture(f"file://{str(video).replace(' ', '%20')}", open_timeout_s=5, read_timeout_s=5)
    try:
        assert capture.fps == 50 and capture.is_file and capture.paced
        assert [capture.read().shape for _ in range(4)] == [(240, 320, 3)] * 4
        with pytest.raises(EndOfStreamError):
            capture.read()
    finally:
        capture.close()


def test_open_capture_refuses_an_unsupported_scheme() -> None:
    with pytest.raises(SourceConnectionError, match=r"udp://127.0.0.1:5000: unsupported source"):
        open_capture("udp://127.0.0.1:5000", open_timeout_s=1, read_timeout_s=1)


def test_rtsp_is_forced_over_tcp_and_passwords_are_redacted() -> None:
    assert "rtsp_transport;tcp" in os.environ["OPENCV_FFMPEG_CAPTURE_OPTIONS"].split("|")
    assert redact("rtsp://admin:s3cret@10.0.0.7:554/live") == "rtsp://admin:***@10.0.0.7:554/live"
    assert redact("http://10.0.0.7/video.mjpg") == "http://10.0.0.7/video.mjpg"


# --- live streams ---------------------------------------------------------------------------------


def test_unreachable_camera_backs_off_with_growing_delays(readers: list[LatestFrameReader]) -> None:
    url = f"rtsp://user:pw@127.0.0.1:{free_port()}/cam"
    backoff = Backoff(initial_s=0.01, maximum_s=10.0, multiplier=2.0, jitter=0.0)
    reader = LatestFrameReader(
        url, stream_settings(reconnect=backoff, open_timeout_s=2, read_timeout_s=2), rng=random.Random(7)
    )
    readers.append(reader.start())
    poll_until(lambda: reader.stats().backoff_attempt >= 2, 15, "two failed attempts", interval=0.01)
    early = reader.stats()
    poll_until(lambda: reader.stats().backoff_attempt >= 5, 15, "five failed attempts", interval=0.01)
    late = reader.stats()
    assert early.retry_delay_s is not None and late.retry_delay_s is not None
    assert late.retry_delay_s > early.retry_delay_s
    assert late.retry_delay_s == pytest.approx(0.01 * 2 ** (late.backoff_attempt - 1))
    assert late.state in ("backoff", "connecting") and late.frames_read == 0 and late.reconnects == 0
    assert late.errors >= 5 and late.last_error is not None
    assert redact(url) in late.last_error and "connection refused" in late.last_error
    assert "pw" not in late.last_error


@pytest.mark.slow
def test_rtsp_camera_streams_from_a_real_server(
    h264_clip: tuple[Path, list[Image]], readers: list[LatestFrameReader]
) -> None:
    video, frames = h264_clip
    with RtspServer(video) as server:
        reader = LatestFrameReader(server.url, stream_settings(open_timeout_s=5, read_timeout_s=5))
        readers.append(reader.start())
        poll_until(lambda: reader.stats().frames_read >= 10, 15, "10 RTSP frames", interval=0.01)
        latest = reader.latest()
        assert latest is not None and latest.image.shape == (240, 320, 3)
        assert closest(latest.image, frames)[1] < 8  # a real frame of the clip, decoded
        poll_until(lambda: latest_seq(reader) > latest.seq + 5, 15, "newer frames", interval=0.01)
        stats = reader.stats()
        assert stats.state == "streaming" and stats.errors == 0 and stats.reconnects == 0


@pytest.mark.slow
def test_rtsp_camera_reconnects_after_the_server_comes_back(
    h264_clip: tuple[Path, list[Image]], readers: list[LatestFrameReader]
) -> None:
    video, _ = h264_clip
    server = RtspServer(video).start()
    try:
        reader = LatestFrameReader(
            server.url, stream_settings(reconnect=FAST_RETRY, open_timeout_s=3, read_timeout_s=3)
        )
        readers.append(reader.start())
        poll_until(lambda: reader.stats().frames_read >= 5, 15, "first RTSP frames", interval=0.01)
        server.stop()  # the stream is cut
        poll_until(lambda: reader.stats().errors >= 1, 15, "the cut noticed", interval=0.01)
        poll_until(lambda: reader.stats().backoff_attempt >= 2, 15, "failed reconnects", interval=0.01)
        cut = reader.stats()
        assert cut.state in ("backoff", "connecting") and cut.reconnects == 0
        assert cut.last_error is not None and server.url in cut.last_error
        server.start()  # the same port again
        poll_until(lambda: reader.stats().reconnects >= 1, 15, "a reconnect", interval=0.01)
        poll_until(
            lambda: reader.stats().frames_read >= cut.frames_read + 5,
            15,
            "frames after the reconnect",
            interval=0.01,
        )
        back = reader.stats()
        assert back.state == "streaming" and back.backoff_attempt == 0
    finally:
        server.stop()


@pytest.mark.slow
def test_hung_rtsp_server_is_noticed_and_stop_stays_prompt(
    h264_clip: tuple[Path, list[Image]], readers: list[LatestFrameReader]
) -> None:
    video, _ = h264_clip
    with RtspServer(video) as server:
        reader = LatestFrameReader(
            server.url,
            stream_settings(reconnect=FAST_RETRY, stall_timeout_s=1, open_timeout_s=1, read_timeout_s=1),
        )
        readers.append(reader.start())
        poll_until(lambda: reader.stats().frames_read >= 5, 15, "first RTSP frames", interval=0.01)
        server.freeze()  # the connection stays open; nothing more comes
        poll_until(lambda: reader.stats().errors >= 1, 6, "the hang noticed", interval=0.01)
        hung = reader.stats()
        assert hung.state in ("backoff", "connecting") and hung.last_error is not None
        server.thaw()
        poll_until(lambda: reader.stats().reconnects >= 1, 15, "a reconnect", interval=0.01)
        poll_until(
            lambda: reader.stats().frames_read >= hung.frames_read + 5, 15, "frames again", interval=0.01
        )
        server.freeze()
        poll_until(lambda: reader.stats().errors > hung.errors, 6, "the second hang noticed", interval=0.01)
        started = time.monotonic()
        assert reader.stop()  # never blocked for good in a read or an open
        assert time.monotonic() - started < 3.5


@pytest.mark.slow
def test_mjpeg_http_camera_streams(readers: list[LatestFrameReader]) -> None:
    frames = numbered_frames(12)
    with MjpegServer(frames, fps=25) as server:
        reader = LatestFrameReader(server.url, stream_settings(open_timeout_s=5, read_timeout_s=5))
        readers.append(reader.start())
        poll_until(lambda: reader.stats().frames_read >= 10, 15, "10 MJPEG frames", interval=0.01)
        latest = reader.latest()
        assert latest is not None and latest.image.shape == (240, 320, 3)
        assert closest(latest.image, frames)[1] < 8
        stats = reader.stats()
        assert stats.state == "streaming" and stats.errors == 0 and server.connections == 1


class _BrokenCapture(FrameCapture):
    """A decoder that fails with an unexpected exception: a fault real streams rarely produce on cue."""

    def __init__(self) -> None:
        self.reads = 0

    def read(self) -> Image:
        self.reads += 1
        if self.reads > 2:
            raise cv2.error("corrupt bitstream")
        return np.zeros((4, 4, 3), np.uint8)

    def interrupt(self) -> None:
        pass

    def close(self) -> None:
        pass


def test_an_unexpected_decoder_fault_reconnects_instead_of_killing_the_thread(
    readers: list[LatestFrameReader],
) -> None:
    opened: list[_BrokenCapture] = []

    def opener(url: str, **_: Any) -> FrameCapture:
        opened.append(_BrokenCapture())
        return opened[-1]

    reader = LatestFrameReader(
        "rtsp://camera.invalid/cam", stream_settings(reconnect=FAST_RETRY), opener=opener
    )
    readers.append(reader.start())
    poll_until(lambda: reader.stats().reconnects >= 2, 15, "two reconnects", interval=0.01)
    stats = reader.stats()
    assert stats.frames_read >= 6 and stats.errors >= 2
    assert stats.last_error is not None and "corrupt bitstream" in stats.last_error
    assert reader.stop() and len(opened) >= 3  # the thread lived on; it stops on request


def test_failures_and_recoveries_are_logged_with_the_camera_id(
    readers: list[LatestFrameReader], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="actors.camera.latest_frame")
    named = LatestFrameReader(
        "rtsp://cam.invalid/1",
        stream_settings(reconnect=FAST_RETRY),
        camera_id="gate-1",
        opener=lambda *_, **__: _BrokenCapture(),
    )
    unnamed = LatestFrameReader(
        "rtsp://officer:hunter2@cam.invalid/2",
        stream_settings(reconnect=FAST_RETRY),
        opener=lambda *_, **__: _BrokenCapture(),
    )
    readers.extend([named.start(), unnamed.start()])
    poll_until(
        lambda: min(named.stats().reconnects, unnamed.stats().reconnects) >= 2,
        15,
        "two reconnects",
        interval=0.01,
    )
    assert named.stop() and unnamed.stop()
    lines = [(r.levelno, r.getMessage()) for r in caplog.records]
    failures = [m for level, m in lines if level == logging.WARNING and m.startswith("camera gate-1: ")]
    assert failures and all("corrupt bitstream" in m and "retry" in m for m in failures), lines
    assert (logging.INFO, "camera gate-1: streaming again after 1 failure(s)") in lines
    unnamed_lines = [m for _, m in lines if "cam.invalid/2" in m]
    assert unnamed_lines and all("officer:***@" in m and "hunter2" not in m for m in unnamed_lines)


# --- pacing ---------------------------------------------------------------------------------------


class FakeClock:
    def __init__(self, now: float = 100.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_pacer_holds_the_analysis_rate_on_average() -> None:
    clock = FakeClock()
    pacer = AnalysisPacer(analysis_fps=3.0, clock=clock)
    analysed = 0
    for seq in range(1, 101):  # a 10 fps camera for 10 s
        clock.now += 0.1
        analysed += pacer.should_analyse(seq, captured_at=0.0)
    assert 29 <= analysed <= 31


def test_pacer_never_analyses_a_frame_twice() -> None:
    clock = FakeClock()
    pacer = AnalysisPacer(analysis_fps=5.0, clock=clock)
    assert pacer.should_analyse(7, 0.0)
    clock.now += 10.0
    assert not pacer.should_analyse(7, 0.0)  # the camera sent nothing new
    assert not pacer.should_analyse(6, 0.0)
    assert pacer.should_analyse(8, 0.0)


def test_pacer_does_not_burst_after_a_gap_and_survives_a_clock_step_back() -> None:
    clock = FakeClock()
    pacer = AnalysisPacer(analysis_fps=2.0, clock=clock)
    assert pacer.should_analyse(1, 0.0)
    clock.now += 30.0  # the stream stalled
    assert pacer.should_analyse(2, 0.0)
    clock.now += 0.05
    assert not pacer.should_analyse(3, 0.0)  # no catching up on the missed slots
    clock.now -= 3600.0  # the clock stepped back an hour
    assert pacer.should_analyse(4, 0.0)
    clock.now += 0.1
    assert not pacer.should_analyse(5, 0.0)
    clock.now += 0.45
    assert pacer.should_analyse(6, 0.0)  # the rate goes on from the new time, not an hour later


def test_pacer_without_a_clock_paces_by_capture_time() -> None:
    pacer = AnalysisPacer(analysis_fps=2.0)
    decisions = [pacer.should_analyse(seq, seq * 0.1) for seq in range(1, 31)]  # 10 fps for 3 s
    assert sum(decisions) == 6 and decisions[0]
    assert not pacer.should_analyse(26, 100.0)  # a frame already analysed (2.6 s) is never analysed twice


def test_pacer_refuses_a_rate_that_is_not_positive() -> None:
    with pytest.raises(ValueError, match="analysis_fps"):
        AnalysisPacer(0.0)


def test_in_flight_limiter_drops_and_counts_when_busy() -> None:
    limiter = InFlightLimiter(2)
    assert [limiter.try_acquire() for _ in range(4)] == [True, True, False, False]
    assert (limiter.in_flight, limiter.dropped) == (2, 2)
    limiter.release()
    assert limiter.try_acquire() and (limiter.acquired, limiter.dropped) == (3, 2)
    limiter.release()
    limiter.release()
    with pytest.raises(RuntimeError, match="without a matching"):
        limiter.release()
