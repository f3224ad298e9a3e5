"""Opening camera sources (RTSP, HTTP streams, video files) with OpenCV's FFmpeg backend.

Readers open through :func:`actors.camera.capture.open_source`, which reads MJPEG over HTTP without
FFmpeg (``actors/camera/http_mjpeg.py``) and sends everything else here.

OpenCV rather than PyAV: both open all three kinds, honour open and read timeouts and decode 720p
H.264 alike on their own (about 850 frames/s on one core), but ``VideoCapture.read`` releases the
GIL for the whole demux + decode + colour conversion while PyAV takes it back per packet and frame.
With one decoding thread per camera and 10-50 cameras per process that decides it: next to one busy
Python thread, 450 such frames took 2.2 s with OpenCV and 11.1 s with PyAV. PyAV's one advantage,
FFmpeg's error reason, is made up for by :func:`describe_open_failure`.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from pathlib import Path
from urllib.parse import unquote, urlsplit

import cv2
import numpy as np

from serve.errors import EndOfStreamError, SourceConnectionError, StreamError
from serve.imaging import Image

STREAM_SCHEMES = {"rtsp": 554, "rtsps": 322, "http": 80, "https": 443}
DEFAULT_FPS = 25.0
MAX_PACING_LAG_S = 1.0


def _force_rtsp_over_tcp() -> None:
    """RTSP over TCP: UDP loses packets (smeared frames) on busy city networks and is often firewalled.

    OpenCV reads these FFmpeg options from the environment at every open; keep any the operator set.
    """
    current = os.environ.get("OPENCV_FFMPEG_CAPTURE_OPTIONS", "")
    pairs = [pair for pair in current.split("|") if pair and not pair.startswith("rtsp_transport;")]
    os.environ["OPENCV_FFMPEG_CAPTURE_OPTIONS"] = "|".join([*pairs, "rtsp_transport;tcp"])


_force_rtsp_over_tcp()


def is_file_source(url: str) -> bool:
    """A local video file (plain path or ``file://``) rather than a live stream."""
    return url.startswith("file://") or "://" not in url


def file_path(url: str) -> Path:
    """The path of a file source."""
    if url.startswith("file://"):
        return Path(unquote(urlsplit(url).path))
    return Path(url)


def redact(url: str) -> str:
    """``url`` with any password replaced by ``***`` (RTSP URLs often carry credentials)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return parts._replace(netloc=netloc).geturl()


def describe_open_failure(url: str, timeout_s: float) -> str:
    """Why a stream would not open, as far as a TCP connect to its host can tell."""
    parts = urlsplit(url)
    if parts.hostname is None:
        return "no host in the url"
    try:
        port = parts.port or STREAM_SCHEMES.get(parts.scheme, 80)
    except ValueError:
        return "invalid port in the url"
    try:
        with socket.create_connection((parts.hostname, port), timeout=min(timeout_s, 3.0)):
            pass
    except socket.gaierror:
        return f"cannot resolve host {parts.hostname}"
    except ConnectionRefusedError:
        return f"connection refused by {parts.hostname}:{port}"
    except TimeoutError:
        return f"no answer from {parts.hostname}:{port}"
    except OSError as exc:
        return f"cannot connect to {parts.hostname}:{port}: {exc.strerror or exc}"
    return (
        f"{parts.hostname}:{port} accepts connections but sent no video within {timeout_s:g} s "
        "(wrong path, credentials or codec, or a hung server)"
    )


class FrameCapture:
    """An open source. ``read`` returns the next decoded BGR frame or raises a :class:`StreamError`.

    Files are decoded at their native frame rate (they stand in for live cameras) and, with ``loop``,
    start again at the end. Only the thread that reads may call ``read`` and ``close``; ``interrupt``
    may be called from any thread.
    """

    def __init__(
        self,
        url: str,
        capture: cv2.VideoCapture,
        *,
        loop: bool = False,
        read_timeout_s: float = 10.0,
        params: list[int] | None = None,
    ) -> None:
        self.url = url
        self.is_file = is_file_source(url)
        self.loop = loop and self.is_file
        self.paced = self.is_file
        self.read_timeout_s = read_timeout_s
        native = float(capture.get(cv2.CAP_PROP_FPS) or 0.0)
        self.fps = native if 1.0 <= native <= 240.0 else DEFAULT_FPS
        self._capture = capture
        self._params = params or []
        self._interrupted = threading.Event()
        self._due = time.monotonic()

    def read(self) -> Image:
        """The next frame; :class:`EndOfStreamError` at the end of a file that does not loop,
        :class:`SourceConnectionError` when a stream fails or sends no frame within the read timeout."""
        if self.paced:
            self._wait_until_due()
        if self._interrupted.is_set():
            raise StreamError(f"{redact(self.url)}: interrupted")
        ok, frame = self._capture.read()
        if not ok or frame is None:
            if not self.is_file:
                raise SourceConnectionError(
                    f"{redact(self.url)}: no frame within {self.read_timeout_s:g} s (dropped or stalled)"
                )
            if not self.loop:
                raise EndOfStreamError(f"{self.url}: end of video")
            frame = self._rewind_and_read()
        return np.ascontiguousarray(frame, dtype=np.uint8)

    def interrupt(self) -> None:
        """End a pacing wait at once; the next ``read`` raises. Safe from any thread."""
        self._interrupted.set()

    def close(self) -> None:
        """Release the decoder and the connection."""
        self._capture.release()

    def _wait_until_due(self) -> None:
        now = time.monotonic()
        if now - self._due > MAX_PACING_LAG_S:  # decoding fell behind: carry on from now, no burst
            self._due = now
        self._interrupted.wait(max(0.0, self._due - now))
        self._due += 1.0 / self.fps

    def _rewind_and_read(self) -> Image:
        if self._capture.set(cv2.CAP_PROP_POS_FRAMES, 0):
            ok, frame = self._capture.read()
            if ok and frame is not None:
                return np.asarray(frame, np.uint8)
        # Seeking failed (some containers cannot): open the file again instead.
        self._capture.release()
        self._capture = cv2.VideoCapture(str(file_path(self.url)), cv2.CAP_FFMPEG, self._params)
        ok, frame = self._capture.read()
        if not ok or frame is None:
            raise SourceConnectionError(f"{self.url}: cannot read the video again from the start")
        return np.asarray(frame, np.uint8)


def open_capture(
    url: str,
    *,
    open_timeout_s: float,
    read_timeout_s: float,
    loop: bool = False,
    decode_threads: int = 1,
) -> FrameCapture:
    """Open ``url``: ``rtsp://`` (over TCP), ``http(s)://`` MJPEG, or a video file (path or ``file://``).

    ``decode_threads`` is per camera: 1 keeps decode latency at one frame and the thread count at
    one per camera; a process owns many cameras and gets its parallelism from them. Raises
    :class:`SourceConnectionError` naming the url (password redacted) and, where it can tell, why.
    """
    if is_file_source(url):
        path = file_path(url)
        if not path.is_file():
            raise SourceConnectionError(f"{url}: no such video file")
        target = str(path)
    else:
        scheme = urlsplit(url).scheme.lower()
        if scheme not in STREAM_SCHEMES:
            raise SourceConnectionError(f"{redact(url)}: unsupported source (rtsp, http(s) or a file)")
        target = url
    params = [
        cv2.CAP_PROP_OPEN_TIMEOUT_MSEC,
        max(1, round(open_timeout_s * 1000)),
        cv2.CAP_PROP_READ_TIMEOUT_MSEC,
        max(1, round(read_timeout_s * 1000)),
        cv2.CAP_PROP_N_THREADS,
        decode_threads,
    ]
    capture = cv2.VideoCapture(target, cv2.CAP_FFMPEG, params)
    if not capture.isOpened():
        capture.release()
        if is_file_source(url):
            raise SourceConnectionError(f"{url}: not a readable video file")
        reason = describe_open_failure(url, open_timeout_s)
        raise SourceConnectionError(f"{redact(url)}: cannot open stream: {reason}")
    return FrameCapture(url, capture, loop=loop, read_timeout_s=read_timeout_s, params=params)
