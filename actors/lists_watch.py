"""Notice when the watchlist or hotlist files change, so long-running matchers reload them."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path


class FileChangeWatch:
    """Compares (mtime, size) of some files with what they were at the last check."""

    def __init__(self, paths: Sequence[Path]) -> None:
        self.paths = tuple(paths)
        self._seen = self._stamp()

    def _stamp(self) -> tuple[tuple[int, int] | None, ...]:
        stamps: list[tuple[int, int] | None] = []
        for path in self.paths:
            try:
                stat = path.stat()
                stamps.append((stat.st_mtime_ns, stat.st_size))
            except FileNotFoundError:
                stamps.append(None)
        return tuple(stamps)

    def changed(self) -> bool:
        """True once after any of the files was written, created or removed."""
        stamp = self._stamp()
        if stamp == self._seen:
            return False
        self._seen = stamp
        return True
