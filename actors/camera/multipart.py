"""Parts of a ``multipart/x-mixed-replace`` body (an MJPEG stream), read as they arrive.

Each part is ``--BOUNDARY``, header lines, a blank line, then the body: ``Content-Length`` bytes when
the part says how many, else everything up to the next boundary line. Cameras bend the format: some
declare ``boundary=--x`` and then write ``--x`` lines, some omit the boundary from the header. Both are
accepted.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

MAX_LINE_BYTES = 8192
MAX_HEADER_LINES = 64
MAX_PREAMBLE_BYTES = 64 * 1024
MAX_PART_BYTES = 32 * 1024 * 1024  # a 4K JPEG is a few MB: anything bigger is a broken stream
CHUNK_BYTES = 64 * 1024


class MultipartError(ValueError):
    """The body is not a multipart stream this reader understands."""


@dataclass(frozen=True)
class Part:
    """One part: its headers (names lower-cased) and its body."""

    headers: dict[str, str]
    body: bytes


class MultipartReader:
    """Reads parts from ``read1`` (returns up to n bytes, at least one, or ``b""`` at the end).

    :meth:`next_part` raises :class:`EOFError` when the stream ends (closing boundary or connection),
    :class:`MultipartError` when it is malformed; whatever ``read1`` raises (timeouts) passes through.
    """

    def __init__(self, read1: Callable[[int], bytes], boundary: str | None) -> None:
        self._read1 = read1
        self._boundary = boundary.encode("latin-1") if boundary else None
        self._delimiter: bytes | None = None  # the boundary line as this server writes it
        self._buffer = bytearray()
        self._pos = 0

    def next_part(self) -> Part:
        """The next part, whole."""
        self._skip_to_delimiter()
        headers = self._headers()
        length = headers.get("content-length", "").strip()
        if length.isdigit():
            size = int(length)
            if size > MAX_PART_BYTES:
                raise MultipartError(f"a part of {size} bytes is larger than {MAX_PART_BYTES}")
            body = self._read_exactly(size)
        else:
            body = self._read_to_delimiter()
        return Part(headers, body)

    def _skip_to_delimiter(self) -> None:
        """Consume lines up to and including the next boundary line (the CRLF after a body, a preamble)."""
        skipped = 0
        while True:
            line = self._readline().strip()
            if self._is_delimiter(line):
                return
            if line.endswith(b"--") and self._is_delimiter(line[:-2]):
                raise EOFError("closing boundary")
            skipped += len(line) + 2
            if skipped > MAX_PREAMBLE_BYTES:
                raise MultipartError(f"no boundary line in {MAX_PREAMBLE_BYTES} bytes")

    def _is_delimiter(self, line: bytes) -> bool:
        if self._delimiter is not None:
            return line == self._delimiter
        if self._boundary is None:
            if line.startswith(b"--") and len(line) > 2 and b" " not in line:
                self._delimiter = line  # no boundary in the header: the first boundary line names it
        elif line == b"--" + self._boundary or (self._boundary.startswith(b"--") and line == self._boundary):
            self._delimiter = line
        return self._delimiter is not None

    def _headers(self) -> dict[str, str]:
        headers: dict[str, str] = {}
        for _ in range(MAX_HEADER_LINES):
            line = self._readline().strip()
            if not line:
                return headers
            name, colon, value = line.decode("latin-1").partition(":")
            if colon:
                headers[name.strip().lower()] = value.strip()
        raise MultipartError(f"a part with more than {MAX_HEADER_LINES} header lines")

    def _readline(self) -> bytes:
        scanned = 0  # bytes past ``_pos`` already searched (``_fill`` may move ``_pos``)
        while True:
            end = self._buffer.find(b"\n", self._pos + scanned)
            if end >= 0:
                line = bytes(self._buffer[self._pos : end + 1])
                self._pos = end + 1
                return line
            scanned = len(self._buffer) - self._pos
            if scanned > MAX_LINE_BYTES:
                raise MultipartError(f"a header line longer than {MAX_LINE_BYTES} bytes")
            self._fill()

    def _read_exactly(self, size: int) -> bytes:
        while len(self._buffer) - self._pos < size:
            self._fill(size - (len(self._buffer) - self._pos))
        body = bytes(self._buffer[self._pos : self._pos + size])
        self._pos += size
        return body

    def _read_to_delimiter(self) -> bytes:
        """The body up to the next boundary line, which is left for :meth:`_skip_to_delimiter`."""
        assert self._delimiter is not None
        marker = b"\n" + self._delimiter
        scanned = 0  # bytes past ``_pos`` already searched (``_fill`` may move ``_pos``)
        while True:
            found = self._buffer.find(marker, self._pos + scanned)
            if found >= 0:
                body = bytes(self._buffer[self._pos : found])
                self._pos = found + 1
                return body.removesuffix(b"\r")
            pending = len(self._buffer) - self._pos
            if pending > MAX_PART_BYTES:
                raise MultipartError(f"no boundary within {MAX_PART_BYTES} bytes")
            scanned = max(0, pending - len(marker) + 1)
            self._fill()

    def _fill(self, wanted: int = CHUNK_BYTES) -> None:
        if self._pos > CHUNK_BYTES and self._pos * 2 > len(self._buffer):
            del self._buffer[: self._pos]  # drop what was consumed, not on every read
            self._pos = 0
        chunk = self._read1(max(wanted, CHUNK_BYTES))
        if not chunk:
            raise EOFError("connection closed")
        self._buffer += chunk
