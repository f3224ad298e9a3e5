"""An MJPEG-over-HTTP camera on loopback for the tests (standard library only).

``GET /`` answers ``multipart/x-mixed-replace`` with the given frames as JPEG parts, in a loop, at
``fps`` (each part with a ``Content-Length``, or without when ``content_length`` is False); a frame
given as bytes is sent as it is (a corrupt part). ``files`` maps other paths to (Content-Type, body),
answered whole; any other path is a 404. With ``credentials`` (user, password) every request needs
them as basic auth, else 401 (with ``challenge``). ``pause()`` keeps every connection open but sends
nothing (a stalled camera) until ``resume()``; ``show()`` changes the scene.
"""

from __future__ import annotations

import base64
import threading
import time
from collections.abc import Mapping, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType

import cv2

from serve.imaging import Image

BOUNDARY = "safecityframe"


def _encoded(frames: Sequence[Image | bytes]) -> list[bytes]:
    if not frames:
        raise ValueError("an MJPEG camera needs at least one frame")
    return [f if isinstance(f, bytes) else bytes(cv2.imencode(".jpg", f)[1]) for f in frames]


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_GET(self) -> None:
        owner = self.server.owner
        owner.requests += 1
        if owner.credentials is not None:
            user, password = owner.credentials
            expected = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
            if self.headers.get("Authorization") != expected:
                self.send_response(401)
                self.send_header("WWW-Authenticate", owner.challenge)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
        if self.path in owner.files:
            kind, body = owner.files[self.path]
            self.send_response(200)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        if self.path != "/":
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Type", f"multipart/x-mixed-replace;boundary={BOUNDARY}")
        self.send_header("Cache-Control", "no-cache")
        self.end_headers()
        owner.connections += 1
        interval = 1.0 / owner.fps
        due = time.monotonic()
        index = 0
        try:
            while not owner.closing.is_set():
                if not owner.running.is_set():  # paused: hold the connection, send nothing
                    owner.running.wait(0.1)
                    due = time.monotonic()
                    continue
                jpegs = owner.jpegs  # one list, even if show() replaces it meanwhile
                jpeg = jpegs[index % len(jpegs)]
                length = f"Content-Length: {len(jpeg)}\r\n" if owner.content_length else ""
                head = f"--{BOUNDARY}\r\nContent-Type: image/jpeg\r\n{length}\r\n"
                self.wfile.write(head.encode() + jpeg + b"\r\n")
                self.wfile.flush()
                owner.frames_sent += 1
                index += 1
                due += interval
                owner.closing.wait(max(0.0, due - time.monotonic()))  # real-time pace, like a camera
        except (BrokenPipeError, ConnectionResetError):
            return  # the client went away

    def log_message(self, format: str, *args: object) -> None:
        return


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, port: int, owner: MjpegServer) -> None:
        super().__init__(("127.0.0.1", port), _Handler)
        self.owner = owner


class MjpegServer:
    """Serves ``frames`` as an MJPEG stream at ``http://127.0.0.1:PORT/``."""

    def __init__(
        self,
        frames: Sequence[Image | bytes],
        fps: float = 10.0,
        port: int = 0,
        *,
        content_length: bool = True,
        files: Mapping[str, tuple[str, bytes]] | None = None,
        credentials: tuple[str, str] | None = None,
        challenge: str = 'Basic realm="camera"',
    ) -> None:
        self.jpegs = _encoded(frames)
        self.fps = fps
        self.port = port
        self.content_length = content_length
        self.files = dict(files or {})
        self.credentials = credentials
        self.challenge = challenge  # the WWW-Authenticate of a 401
        self.frames_sent = 0
        self.connections = 0  # MJPEG streams served
        self.requests = 0
        self.closing = threading.Event()
        self.running = threading.Event()
        self.running.set()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """The stream's address."""
        return f"http://127.0.0.1:{self.port}/"

    def start(self) -> MjpegServer:
        """Listen (on ``port``, or a free one) and serve in a background thread."""
        self.closing.clear()
        self._server = _Server(self.port, self)
        self.port = int(self._server.server_address[1])
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def show(self, frames: Sequence[Image | bytes]) -> None:
        """Stream these frames from now on (every connection)."""
        self.jpegs = _encoded(frames)

    def pause(self) -> None:
        """Keep connections open but send no more frames."""
        self.running.clear()

    def resume(self) -> None:
        """Send frames again."""
        self.running.set()

    def stop(self) -> None:
        """Close the listener and end every stream."""
        self.closing.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None

    def __enter__(self) -> MjpegServer:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
