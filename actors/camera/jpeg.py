"""A JPEG held as bytes and decoded only when someone looks at its pixels."""

from __future__ import annotations

import threading

from serve.errors import ImageDecodeError
from serve.imaging import Image, decode_image


class Jpeg:
    """One encoded frame; :meth:`image` decodes it on first use, once, and caches the pixels.

    Safe from any thread. A JPEG that does not decode raises :class:`ImageDecodeError` on every call
    (decoded once: the error is cached too).
    """

    __slots__ = ("_error", "_image", "_lock", "data")

    def __init__(self, data: bytes) -> None:
        self.data = data
        self._lock = threading.Lock()
        self._image: Image | None = None
        self._error: ImageDecodeError | None = None

    @property
    def decoded(self) -> bool:
        """Whether :meth:`image` has run (successfully or not)."""
        return self._image is not None or self._error is not None

    def image(self) -> Image:
        """The BGR pixels (treat as read-only)."""
        with self._lock:
            if self._image is None and self._error is None:
                try:
                    self._image = decode_image(self.data, name=f"MJPEG frame of {len(self.data)} bytes")
                except ImageDecodeError as exc:
                    self._error = exc
            if self._error is not None:
                raise ImageDecodeError(str(self._error))
            assert self._image is not None
            return self._image
