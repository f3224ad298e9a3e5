"""MJPEG over HTTP read without decoding: each part's JPEG bytes, decoded later only if analysed.

A camera sends every frame as an independent JPEG, so the reader keeps the newest one's bytes and the
shard decodes the few it analyses (``actors/camera/jpeg.py``). Decoding every frame with FFmpeg, as for
RTSP, cost 1,000 cameras at 1 fps about two thirds of a 2-core machine.
"""

from __future__ import annotations

import base64
import contextlib
import http.client
import socket
import ssl
import threading
import time
from dataclasses import dataclass
from email.utils import collapse_rfc2231_value
from urllib.parse import unquote, urlsplit

from actors.camera.jpeg import Jpeg
from actors.camera.multipart import MultipartError, MultipartReader
from actors.camera.source import describe_open_failure, redact
from serve.errors import SourceConnectionError, StreamError

MJPEG_CONTENT_TYPE = "multipart/x-mixed-replace"
JPEG_PART_TYPES = ("image/jpeg", "image/jpg", "image/pjpeg")
USER_AGENT = "SafeCity"


@dataclass(frozen=True)
class NotMjpeg:
    """The server answered, but not with an MJPEG stream this reader takes: FFmpeg should try."""

    answer: str  # what it sent instead, for messages


def _tls_context() -> ssl.SSLContext:
    # As FFmpeg (the path this replaces) does by default: cameras mostly carry self-signed certificates.
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


_TLS = _tls_context()


def _basic_auth(username: str, password: str) -> str:
    token = base64.b64encode(f"{unquote(username)}:{unquote(password)}".encode()).decode("ascii")
    return f"Basic {token}"


class MjpegCapture:
    """An open MJPEG stream. ``read`` returns the next JPEG undecoded or raises a :class:`StreamError`.

    Only the thread that reads may call ``read`` and ``close``; ``interrupt`` (any thread) also ends a
    blocked read at once.
    """

    def __init__(
        self,
        url: str,
        connection: http.client.HTTPConnection,
        response: http.client.HTTPResponse,
        sock: socket.socket,
        boundary: str | None,
        read_timeout_s: float,
    ) -> None:
        self.url = url
        self.read_timeout_s = read_timeout_s
        self._name = redact(url)
        self._connection = connection
        self._response = response
        self._socket = sock  # the connection lets go of it once the response owns it
        self._parts = MultipartReader(self._read1, boundary)
        self._deadline = 0.0
        self._interrupted = threading.Event()

    def read(self) -> Jpeg:
        """The next JPEG; :class:`SourceConnectionError` when the stream fails, ends, or sends no frame
        within the read timeout."""
        self._deadline = time.monotonic() + self.read_timeout_s
        try:
            while not self._interrupted.is_set():
                part = self._parts.next_part()
                kind = part.headers.get("content-type", "image/jpeg").split(";")[0].strip().lower()
                if kind in JPEG_PART_TYPES:
                    return Jpeg(part.body)
        except TimeoutError:
            raise SourceConnectionError(
                f"{self._name}: no frame within {self.read_timeout_s:g} s (dropped or stalled)"
            ) from None
        except EOFError:
            if not self._interrupted.is_set():
                raise SourceConnectionError(f"{self._name}: the camera ended the stream") from None
        except MultipartError as exc:
            raise SourceConnectionError(f"{self._name}: not a valid MJPEG stream: {exc}") from None
        except (OSError, http.client.HTTPException) as exc:
            if not self._interrupted.is_set():
                raise SourceConnectionError(f"{self._name}: connection lost: {exc}") from None
        raise StreamError(f"{self._name}: interrupted")

    def interrupt(self) -> None:
        """End a blocked read now; the next ``read`` raises. Safe from any thread."""
        self._interrupted.set()
        with contextlib.suppress(OSError):
            self._socket.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        """Close the connection."""
        self._response.close()
        self._connection.close()

    def _read1(self, size: int) -> bytes:
        # The read timeout bounds the whole frame, not each recv: a trickling camera is a stalled one.
        remaining = self._deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError
        self._socket.settimeout(remaining)
        return self._response.read1(size)


def open_mjpeg(url: str, *, open_timeout_s: float, read_timeout_s: float) -> MjpegCapture | NotMjpeg:
    """GET ``url`` (``http(s)://``, credentials from the url as basic auth) and, if the answer is
    ``multipart/x-mixed-replace``, the stream; else :class:`NotMjpeg` saying what came instead.

    Connecting and the answer's headers together take at most ``open_timeout_s``. Raises
    :class:`SourceConnectionError` (url redacted) when nothing answers, or the answer is an HTTP error.
    """
    name = redact(url)
    parts = urlsplit(url)
    try:
        host, port = parts.hostname, parts.port
    except ValueError:
        raise SourceConnectionError(f"{name}: invalid port in the url") from None
    if not host:
        raise SourceConnectionError(f"{name}: no host in the url")
    if parts.scheme.lower() == "https":
        connection: http.client.HTTPConnection = http.client.HTTPSConnection(
            host, port, timeout=open_timeout_s, context=_TLS
        )
    else:
        connection = http.client.HTTPConnection(host, port, timeout=open_timeout_s)
    headers = {"User-Agent": USER_AGENT, "Accept": f"{MJPEG_CONTENT_TYPE}, */*"}
    if parts.username is not None:
        headers["Authorization"] = _basic_auth(parts.username, parts.password or "")
    target = parts.path or "/"
    if parts.query:
        target += f"?{parts.query}"
    deadline = time.monotonic() + open_timeout_s
    try:
        connection.connect()
        sock: socket.socket = connection.sock
        sock.settimeout(max(0.001, deadline - time.monotonic()))
        connection.request("GET", target, headers=headers)
        response = connection.getresponse()
    except http.client.HTTPException as exc:
        connection.close()
        raise SourceConnectionError(
            f"{name}: cannot open stream: not an HTTP answer ({type(exc).__name__})"
        ) from None
    except OSError:
        connection.close()
        reason = describe_open_failure(url, open_timeout_s)
        raise SourceConnectionError(f"{name}: cannot open stream: {reason}") from None
    answer = _mjpeg_boundary(response, has_credentials=parts.username is not None, name=name)
    if isinstance(answer, NotMjpeg):
        response.close()
        connection.close()
        return answer
    return MjpegCapture(url, connection, response, sock, answer or None, read_timeout_s)


def _mjpeg_boundary(
    response: http.client.HTTPResponse, *, has_credentials: bool, name: str
) -> str | NotMjpeg:
    """The multipart boundary ("" when the header names none), :class:`NotMjpeg`, or raise for HTTP errors."""
    status = response.status
    if status == 401:
        challenge = response.getheader("WWW-Authenticate", "")
        if challenge and not challenge.lower().startswith("basic"):
            return NotMjpeg(
                f"an HTTP 401 asking for {challenge.split()[0]} authentication"
            )  # FFmpeg does Digest
        needed = (
            "wrong user name or password" if has_credentials else "the camera needs credentials in the url"
        )
        raise SourceConnectionError(f"{name}: cannot open stream: HTTP 401 Unauthorized ({needed})")
    if status >= 400:
        raise SourceConnectionError(f"{name}: cannot open stream: HTTP {status} {response.reason}")
    if status != 200:
        return NotMjpeg(f"HTTP {status} {response.reason}")  # redirects and the like: FFmpeg follows them
    if response.getheader("Content-Type") is None:
        return NotMjpeg("no Content-Type")
    message = response.msg
    kind = message.get_content_type()
    if kind != MJPEG_CONTENT_TYPE:
        return NotMjpeg(f"Content-Type {kind}")
    boundary = message.get_param("boundary")
    if isinstance(boundary, tuple):
        boundary = collapse_rfc2231_value(boundary)
    return boundary or ""
