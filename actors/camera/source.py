"""Opening camera streams (RTSP, HTTP MJPEG, video files) with OpenCV's FFmpeg backend."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from serve.errors import SourceConnectionError
from serve.imaging import Image

# RTSP over TCP: UDP loses packets (smeared frames) on busy city networks and is often firewalled.
os.environ.setdefault("OPENCV_FFMPEG_CAPTURE_OPTIONS", "rtsp_transport;tcp")


def is_file_source(url: str) -> bool:
    """A local video file (plain path or ``file://``) rather than a live stream."""
    return url.startswith("file://") or "://" not in url


def file_path(url: str) -> Path:
    """The path of a file source."""
    return Path(url.removeprefix("file://"))


@dataclass
class FrameCapture:
    """An open stream; ``read`` returns the next decoded frame or raises."""

    url: str
    capture: cv2.VideoCapture
    fps: float

    def read(self) -> Image | None:
        """The next frame, or ``None`` at the end of a file (or a dead stream)."""
        ok, frame = self.capture.read()
        if not ok or frame is None:
            return None
        return np.ascontiguousarray(frame, dtype=np.uint8)

    def rewind(self) -> bool:
        """Back to the first frame of a file."""
        return bool(self.capture.set(cv2.CAP_PROP_POS_FRAMES, 0))

    def close(self) -> None:
        """Release the decoder and the connection."""
        self.capture.release()


def open_capture(url: str, *, open_timeout_s: float, read_timeout_s: float) -> FrameCapture:
    """Open ``url``; :class:`SourceConnectionError` (naming the url) if it cannot be opened."""
    if is_file_source(url):
        path = file_path(url)
        if not path.is_file():
            raise SourceConnectionError(f"{url}: no such video file")
        target = str(path)
    else:
        target = url
    params = [
        cv2.CAP_PROP_OPEN_TIMEOUT_MSEC,
        int(open_timeout_s * 1000),
        cv2.CAP_PROP_READ_TIMEOUT_MSEC,
        int(read_timeout_s * 1000),
    ]
    capture = cv2.VideoCapture(target, cv2.CAP_FFMPEG, params)
    if not capture.isOpened():
        capture.release()
        raise SourceConnectionError(f"{url}: cannot open stream")
    fps = float(capture.get(cv2.CAP_PROP_FPS) or 0.0)
    return FrameCapture(url, capture, fps if 1.0 <= fps <= 120.0 else 25.0)
