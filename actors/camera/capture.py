"""What a camera reader reads from, and which kind a url gets."""

from __future__ import annotations

import logging
from typing import Protocol
from urllib.parse import urlsplit

from actors.camera.http_mjpeg import NotMjpeg, open_mjpeg
from actors.camera.jpeg import Jpeg
from actors.camera.source import open_capture, redact
from serve.errors import SourceConnectionError
from serve.imaging import Image

log = logging.getLogger(__name__)


class Capture(Protocol):
    """An open source: ``read`` gives the next frame, decoded (OpenCV) or as a JPEG decoded on use."""

    def read(self) -> Image | Jpeg: ...

    def interrupt(self) -> None: ...

    def close(self) -> None: ...


def open_source(url: str, *, open_timeout_s: float, read_timeout_s: float, loop: bool = False) -> Capture:
    """Open ``url``: MJPEG over ``http(s)://`` without decoding; anything else (RTSP, files, HTTP
    streams that are not multipart MJPEG) through OpenCV's FFmpeg (:func:`open_capture`).

    Raises :class:`SourceConnectionError` naming the url (password redacted) and why.
    """
    if urlsplit(url).scheme.lower() not in ("http", "https"):
        return open_capture(url, open_timeout_s=open_timeout_s, read_timeout_s=read_timeout_s, loop=loop)
    answer = open_mjpeg(url, open_timeout_s=open_timeout_s, read_timeout_s=read_timeout_s)
    if not isinstance(answer, NotMjpeg):
        return answer
    log.debug("%s: %s, not MJPEG: reading it through FFmpeg", redact(url), answer.answer)
    try:
        return open_capture(url, open_timeout_s=open_timeout_s, read_timeout_s=read_timeout_s)
    except SourceConnectionError as exc:
        raise SourceConnectionError(f"{exc} (the server answered {answer.answer}, not MJPEG)") from None
