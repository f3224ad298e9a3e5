"""Real camera streams for tests: an RTSP server (GStreamer) and video files made from the bundled images."""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

import cv2
import numpy as np

from serve.imaging import Image
from tests.rtsp_server import RTSP_SERVE, SYSTEM_PYTHON, free_port, port_accepts

__all__ = ["RtspServer", "free_port", "numbered_frames", "write_jpeg_frames", "write_video"]


def write_jpeg_frames(folder: Path, frames: list[Image]) -> str:
    """The frames as numbered JPEG files; returns the printf pattern GStreamer reads."""
    folder.mkdir(parents=True, exist_ok=True)
    for index, frame in enumerate(frames):
        cv2.imwrite(str(folder / f"{index:05d}.jpg"), frame)
    return str(folder / "%05d.jpg")


def write_video(path: Path, frames: list[Image], fps: int = 10) -> Path:
    height, width = frames[0].shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"mp4v"), fps, (width, height))
    for frame in frames:
        writer.write(frame)
    writer.release()
    return path


def numbered_frames(count: int, size: tuple[int, int] = (320, 240)) -> list[Image]:
    """Frames with a moving square and their number drawn, to tell them apart."""
    width, height = size
    frames = []
    for index in range(count):
        frame = np.full((height, width, 3), 60, np.uint8)
        x = (index * 7) % (width - 40)
        cv2.rectangle(frame, (x, 100), (x + 40, 140), (0, 200, 255), -1)
        cv2.putText(frame, str(index), (10, 40), cv2.FONT_HERSHEY_SIMPLEX, 1.2, (255, 255, 255), 2)
        frames.append(frame)
    return frames


class RtspServer:
    """GStreamer's RTSP server serving JPEG frames in a loop at ``rtsp://127.0.0.1:PORT/cam``."""

    def __init__(self, pattern: str, fps: int = 10, port: int | None = None) -> None:
        if not Path(SYSTEM_PYTHON).exists() or shutil.which("gst-inspect-1.0") is None:
            raise RuntimeError("GStreamer RTSP server missing: run scripts/install-test-services.sh")
        self.pattern = pattern
        self.fps = fps
        self.port = port or free_port()
        self._process: subprocess.Popen[str] | None = None

    @property
    def url(self) -> str:
        return f"rtsp://127.0.0.1:{self.port}/cam"

    def start(self, timeout_s: float = 20.0) -> RtspServer:
        self._process = subprocess.Popen(
            [SYSTEM_PYTHON, str(RTSP_SERVE), str(self.port), self.pattern, str(self.fps)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert self._process.stdout is not None
        line = self._process.stdout.readline()  # the server prints "ready" once it listens
        if line.strip() != "ready":
            errors = self._process.stderr.read() if self._process.stderr else ""
            raise RuntimeError(f"RTSP server did not start: {line!r} {errors}")
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if port_accepts(self.port):
                return self
            time.sleep(0.05)
        raise RuntimeError(f"RTSP server not accepting on port {self.port}")

    def stop(self) -> None:
        if self._process is not None:
            self._process.terminate()
            self._process.wait(timeout=10)
            self._process = None
