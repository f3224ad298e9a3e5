"""A per-camera reading thread that keeps only the newest frame, and reconnects on failure."""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from actors.backoff import Backoff
from actors.camera.capture import Capture, open_source
from actors.camera.jpeg import Jpeg
from actors.camera.source import redact
from serve.errors import EndOfStreamError, StreamError
from serve.imaging import Image

log = logging.getLogger(__name__)

ReaderState = Literal["connecting", "streaming", "backoff", "ended", "stopped"]
Opener = Callable[..., Capture]


@dataclass(frozen=True)
class Frame:
    """A frame: pixels (decoded, or a JPEG decoded on first use), the unix time it was read, its number."""

    pixels: Image | Jpeg
    captured_at: float
    seq: int

    @property
    def image(self) -> Image:
        """BGR pixels (treat as read-only). An MJPEG frame decodes here, once; a corrupt one raises
        :class:`~serve.errors.ImageDecodeError`."""
        pixels = self.pixels
        return pixels.image() if isinstance(pixels, Jpeg) else pixels

    @property
    def decoded(self) -> bool:
        """Whether reading :attr:`image` costs nothing more (decoded already, or tried and failed)."""
        pixels = self.pixels
        return pixels.decoded if isinstance(pixels, Jpeg) else True


@dataclass(frozen=True)
class StreamSettings:
    """How a camera's stream is opened, read and reconnected (the config's ``pipeline`` section)."""

    open_timeout_s: float
    read_timeout_s: float
    stall_timeout_s: float
    reconnect: Backoff


@dataclass(frozen=True)
class ReaderStats:
    """Counters of one camera's reader."""

    state: ReaderState
    frames_read: int
    reconnects: int
    errors: int
    last_error: str | None
    last_frame_age_s: float | None
    backoff_attempt: int = 0  # failures since the last decoded frame
    retry_delay_s: float | None = None  # the backoff delay chosen after the latest failure


class LatestFrameReader:
    """Reads one camera continuously in a daemon thread; ``latest()`` is the newest frame only.

    RTSP and files are decoded frame by frame; MJPEG over HTTP is not: each frame keeps its JPEG and
    decodes when someone reads its ``image`` (most frames of a busy shard are never analysed).

    After an open or read error, or a stall (frames more than ``stall_timeout_s`` apart; a read
    already gives up after ``min(read_timeout_s, stall_timeout_s)``), the capture is closed and opened
    again after an exponential, jittered ``reconnect`` delay (all four from ``settings``). A file that
    does not loop ends the reader (state ``ended``). ``seq`` grows by one per frame read across
    reconnects; ``captured_at`` is ``clock()`` (unix seconds) when the frame was read. Failures,
    recoveries and the end of a file are logged under ``camera_id`` (the redacted url when none is
    given).
    """

    def __init__(
        self,
        url: str,
        settings: StreamSettings,
        *,
        camera_id: str | None = None,
        loop_files: bool = False,
        clock: Callable[[], float] = time.time,
        rng: random.Random | None = None,
        opener: Opener = open_source,
    ) -> None:
        self.url = url
        self.camera_id = camera_id
        self.loop_files = loop_files
        self.settings = settings
        self._clock = clock
        self._rng = rng or random.Random()
        self._opener = opener
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._capture: Capture | None = None
        self._latest: Frame | None = None
        self._state: ReaderState = "connecting"
        self._frames_read = 0
        self._reconnects = 0
        self._errors = 0
        self._failures_in_a_row = 0
        self._retry_delay_s: float | None = None
        self._last_error: str | None = None
        self._thread = threading.Thread(target=self._run, name=f"camera {self._name()[:48]}", daemon=True)

    def start(self) -> LatestFrameReader:
        """Start decoding; returns ``self``."""
        self._thread.start()
        return self

    def stop(self, timeout_s: float | None = None) -> bool:
        """Stop decoding and wait for the thread; True when it has ended.

        The wait is bounded: a blocked open or read gives up within its timeout, which bounds the
        default wait.
        """
        self._stop.set()
        with self._lock:
            capture = self._capture
        if capture is not None:
            capture.interrupt()  # a file waiting for its next frame's time
        if self._thread.is_alive():
            opening, reading = self.settings.open_timeout_s, self.settings.read_timeout_s
            blocked_s = max(opening + min(opening, 3.0), reading)
            limit = blocked_s + 2.0 if timeout_s is None else timeout_s
            self._thread.join(limit)
        with self._lock:
            self._state = "stopped"
        return not self._thread.is_alive()

    def latest(self) -> Frame | None:
        """The newest decoded frame (the same object until a newer one arrives)."""
        with self._lock:
            return self._latest

    def stats(self) -> ReaderStats:
        """Current counters."""
        with self._lock:
            latest = self._latest
            age = None if latest is None else max(0.0, self._clock() - latest.captured_at)
            return ReaderStats(
                self._state,
                self._frames_read,
                self._reconnects,
                self._errors,
                self._last_error,
                age,
                self._failures_in_a_row,
                self._retry_delay_s,
            )

    def _set_state(self, state: ReaderState) -> None:
        with self._lock:
            if self._state != "stopped":
                self._state = state

    def _fail(self, message: str) -> None:
        """Count a failure, then wait out the backoff (or until stopped)."""
        if self._stop.is_set():
            return  # stopping interrupts reads: not a camera fault
        with self._lock:
            self._errors += 1
            self._last_error = message
            self._failures_in_a_row += 1
            delay = self.settings.reconnect.delay(self._failures_in_a_row, self._rng)
            self._retry_delay_s = delay
            if self._state != "stopped":
                self._state = "backoff"
            attempt = self._failures_in_a_row
        # One line per failure: the backoff spaces them (at most one a minute per camera by default).
        log.warning("camera %s: %s; retry %d in %.1f s", self._name(), message, attempt, delay)
        self._stop.wait(delay)

    def _name(self) -> str:
        return self.camera_id or redact(self.url)

    def _run(self) -> None:
        connected_before = False
        settings = self.settings
        while not self._stop.is_set():
            self._set_state("connecting")
            try:
                capture = self._opener(
                    self.url,
                    open_timeout_s=settings.open_timeout_s,
                    read_timeout_s=min(settings.read_timeout_s, settings.stall_timeout_s),
                    loop=self.loop_files,
                )
            except StreamError as exc:
                self._fail(str(exc))
                continue
            except Exception as exc:  # an unexpected decoder fault must not kill the camera
                self._fail(f"{redact(self.url)}: cannot open: {type(exc).__name__}: {exc}")
                continue
            with self._lock:
                self._capture = capture
                if connected_before:
                    self._reconnects += 1
            connected_before = True
            try:
                ended = self._stream(capture)
            finally:
                with self._lock:
                    self._capture = None
                capture.close()
            if ended:
                self._set_state("ended")
                log.info("camera %s: end of video file", self._name())
                return

    def _stream(self, capture: Capture) -> bool:
        """Read until an error, a stall, a stop or the end; True when a file that does not loop ended."""
        self._set_state("streaming")
        last_frame_at = time.monotonic()
        while not self._stop.is_set():
            try:
                pixels = capture.read()
            except EndOfStreamError:
                return True
            except StreamError as exc:
                self._fail(str(exc))
                return False
            except Exception as exc:  # e.g. cv2.error from a corrupt stream
                self._fail(f"{redact(self.url)}: read failed: {type(exc).__name__}: {exc}")
                return False
            now = time.monotonic()
            with self._lock:
                self._frames_read += 1
                self._latest = Frame(pixels, self._clock(), self._frames_read)
                recovered_after, self._failures_in_a_row = self._failures_in_a_row, 0
            if recovered_after:
                log.info("camera %s: streaming again after %d failure(s)", self._name(), recovered_after)
            gap = now - last_frame_at
            last_frame_at = now
            if gap > self.settings.stall_timeout_s:
                self._fail(f"{redact(self.url)}: stalled: {gap:.1f} s without a new frame")
                return False
        return False
