"""Real camera streams for tests: video files made from frames, and an RTSP server on loopback.

The server (``tests/rtsp_serve.py``) runs under Debian's ``/usr/bin/python3``, which has the GStreamer
bindings the virtualenv lacks; ``scripts/install-test-services.sh`` installs them. It serves either an
H.264 file or numbered JPEG frames.
"""

from __future__ import annotations

import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path
from types import TracebackType

import av
import cv2
import numpy as np

from serve.imaging import Image

RTSP_SERVE = Path(__file__).with_name("rtsp_serve.py")
SYSTEM_PYTHON = "/usr/bin/python3"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now (bound to port 0, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_accepts(port: int) -> bool:
    """Whether something accepts TCP connections on 127.0.0.1:``port``."""
    with socket.socket() as sock:
        sock.settimeout(1.0)
        return sock.connect_ex(("127.0.0.1", port)) == 0


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


def write_video(path: Path, frames: list[Image], fps: int = 10) -> Path:
    """``frames`` as an MPEG-4 file (OpenCV's writer)."""
    height, width = frames[0].shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"mp4v"), fps, (width, height))
    for frame in frames:
        writer.write(frame)
    writer.release()
    return path


def write_h264_video(path: Path, frames: Sequence[Image], fps: int) -> Path:
    """``frames`` (BGR) as an H.264 mp4 (libx264 from PyAV's FFmpeg): a key frame each second, no
    B-frames, like a live camera."""
    height, width = frames[0].shape[:2]
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=Fraction(fps))
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.options = {"preset": "ultrafast", "tune": "zerolatency", "g": str(fps)}
        for frame in frames:
            container.mux(stream.encode(av.VideoFrame.from_ndarray(frame, format="bgr24")))
        container.mux(stream.encode(None))
    return path


def write_jpeg_frames(folder: Path, frames: list[Image]) -> str:
    """The frames as numbered JPEG files; returns the printf pattern the RTSP server reads."""
    folder.mkdir(parents=True, exist_ok=True)
    for index, frame in enumerate(frames):
        cv2.imwrite(str(folder / f"{index:05d}.jpg"), frame)
    return str(folder / "%05d.jpg")


class RtspServer:
    """Serves a clip in a loop at ``rtsp://127.0.0.1:PORT/cam``.

    The clip is an H.264 video file, paced at its frame rate, or numbered JPEG frames (the pattern of
    :func:`write_jpeg_frames`) at ``fps``. ``stop()`` cuts every stream (the server process ends);
    ``start()`` again serves on the same port.
    """

    def __init__(self, clip: Path | str, fps: int | None = None, port: int | None = None) -> None:
        if not Path(SYSTEM_PYTHON).exists() or shutil.which("gst-inspect-1.0") is None:
            raise RuntimeError("GStreamer RTSP server missing: run scripts/install-test-services.sh")
        frames = "%" in str(clip)
        if frames and fps is None:
            raise ValueError("JPEG frames need an fps")
        if not frames and not Path(clip).is_file():
            raise FileNotFoundError(clip)
        self.port = port or free_port()
        self._arguments = [str(self.port), str(clip), *([str(fps)] if frames else [])]
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """The stream's address."""
        return f"rtsp://127.0.0.1:{self.port}/cam"

    def start(self, timeout_s: float = 20.0) -> RtspServer:
        """Start the server and wait until it accepts connections."""
        if self._process is not None:
            raise RuntimeError("RTSP server already running")
        log = tempfile.TemporaryFile()  # noqa: SIM115 - outlives this call: the server's stderr
        process = subprocess.Popen(
            [SYSTEM_PYTHON, str(RTSP_SERVE), *self._arguments], stdout=subprocess.DEVNULL, stderr=log
        )
        self._process = process
        deadline = time.monotonic() + timeout_s
        while not port_accepts(self.port):
            if process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                log.seek(0)
                raise RuntimeError(f"RTSP server did not start on port {self.port}: {log.read().decode()}")
            time.sleep(0.05)  # polling the port with a deadline
        return self

    def freeze(self) -> None:
        """Suspend the server (SIGSTOP): connections stay open but nothing is sent, a hung camera."""
        assert self._process is not None, "RTSP server not running"
        self._process.send_signal(signal.SIGSTOP)

    def thaw(self) -> None:
        """Resume a frozen server."""
        assert self._process is not None, "RTSP server not running"
        self._process.send_signal(signal.SIGCONT)

    def stop(self) -> None:
        """End the server process, cutting every stream."""
        process, self._process = self._process, None
        if process is None:
            return
        process.send_signal(signal.SIGCONT)  # a frozen server could not act on SIGTERM
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)

    def __enter__(self) -> RtspServer:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def closest(image: Image, frames: list[Image]) -> tuple[int, float]:
    """Index of the source frame ``image`` decodes to, and its mean absolute difference."""
    diffs = [float(np.abs(image.astype(np.int16) - f.astype(np.int16)).mean()) for f in frames]
    return int(np.argmin(diffs)), min(diffs)
