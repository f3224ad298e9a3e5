"""A per-camera decoding thread that keeps only the newest frame, and reconnects on failure."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from actors.camera.source import FrameCapture, is_file_source, open_capture
from actors.dispatch.backoff import Backoff
from serve.errors import SourceConnectionError
from serve.imaging import Image


@dataclass(frozen=True)
class Frame:
    """A decoded frame: BGR pixels, the unix time it was decoded, and its sequence number."""

    image: Image
    captured_at: float
    seq: int


@dataclass(frozen=True)
class ReaderStats:
    """Counters of one camera's reader."""

    state: str  # connecting | streaming | backoff | ended | stopped
    frames_read: int
    reconnects: int
    errors: int
    last_error: str | None
    last_frame_age_s: float | None


class LatestFrameReader:
    """Decodes one camera continuously in a daemon thread; ``latest()`` is the newest frame only."""

    def __init__(
        self,
        url: str,
        *,
        loop_files: bool = False,
        backoff: Backoff = Backoff(initial_s=1.0, maximum_s=60.0),  # noqa: B008 - frozen
        stall_timeout_s: float = 15.0,
        open_timeout_s: float = 10.0,
        read_timeout_s: float = 10.0,
        opener: Callable[..., FrameCapture] = open_capture,
        rng: random.Random | None = None,
    ) -> None:
        self.url = url
        self.loop_files = loop_files
        self.backoff = backoff
        self.stall_timeout_s = stall_timeout_s
        self.open_timeout_s = open_timeout_s
        self.read_timeout_s = read_timeout_s
        self._opener = opener
        self._rng = rng or random.Random()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._latest: Frame | None = None
        self._seq = 0
        self._state = "connecting"
        self._frames_read = 0
        self._reconnects = 0
        self._errors = 0
        self._failures_in_a_row = 0
        self._last_error: str | None = None
        self._thread = threading.Thread(target=self._run, name=f"camera:{url[:40]}", daemon=True)

    def start(self) -> LatestFrameReader:
        """Start decoding."""
        self._thread.start()
        return self

    def stop(self, timeout_s: float = 15.0) -> None:
        """Stop decoding and wait for the thread (bounded by the read timeout)."""
        self._stop.set()
        self._thread.join(timeout_s)
        self._set_state("stopped")

    def latest(self) -> Frame | None:
        """The newest decoded frame (the same object until a newer one arrives)."""
        with self._lock:
            return self._latest

    def stats(self) -> ReaderStats:
        """Current counters."""
        with self._lock:
            age = None if self._latest is None else max(0.0, time.time() - self._latest.captured_at)
            return ReaderStats(
                self._state, self._frames_read, self._reconnects, self._errors, self._last_error, age
            )

    @property
    def failures_in_a_row(self) -> int:
        """Failed connection attempts since the last good frame (drives the backoff)."""
        return self._failures_in_a_row

    def _set_state(self, state: str) -> None:
        with self._lock:
            self._state = state

    def _fail(self, message: str) -> None:
        with self._lock:
            self._errors += 1
            self._last_error = message
            self._state = "backoff"
        self._failures_in_a_row += 1
        self._stop.wait(self.backoff.delay(self._failures_in_a_row, self._rng))

    def _run(self) -> None:
        connected_before = False
        while not self._stop.is_set():
            self._set_state("connecting")
            try:
                capture = self._opener(
                    self.url, open_timeout_s=self.open_timeout_s, read_timeout_s=self.read_timeout_s
                )
            except SourceConnectionError as exc:
                self._fail(str(exc))
                continue
            if connected_before:
                with self._lock:
                    self._reconnects += 1
            connected_before = True
            try:
                ended = self._stream(capture)
            finally:
                capture.close()
            if ended:
                self._set_state("ended")
                return

    def _stream(self, capture: FrameCapture) -> bool:
        """Decode until an error, a stall or the end; True when a non-looping file ended."""
        self._set_state("streaming")
        paced = is_file_source(self.url)
        interval = 1.0 / capture.fps
        next_due = time.monotonic()
        last_frame_at = time.monotonic()
        while not self._stop.is_set():
            image = capture.read()
            now = time.monotonic()
            if image is None:
                if paced and self.loop_files and capture.rewind():
                    continue
                if paced and not self.loop_files:
                    return True
                self._fail(f"{self.url}: stream interrupted")
                return False
            if now - last_frame_at > self.stall_timeout_s:
                self._fail(f"{self.url}: stalled for {now - last_frame_at:.1f} s")
                return False
            last_frame_at = now
            with self._lock:
                self._seq += 1
                self._latest = Frame(image, time.time(), self._seq)
                self._frames_read += 1
            self._failures_in_a_row = 0
            if paced:  # a file stands in for a live camera: decode it in real time, not faster
                next_due += interval
                self._stop.wait(max(0.0, next_due - time.monotonic()))
        return False
