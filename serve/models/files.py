"""File plumbing of the model cache: checksums (memoised), atomic replacement, a writer lock."""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

_CHUNK = 1 << 20


def sha256_of(path: Path) -> str:
    """Hex SHA-256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def is_verified(path: Path, expected: str) -> bool:
    """Whether ``path`` has SHA-256 ``expected``, memoised in a sidecar keyed by size and mtime."""
    if not path.is_file():
        return False
    stat = path.stat()
    stamp = {"sha256": expected, "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}
    sidecar = path.with_name(path.name + ".verified")
    with contextlib.suppress(OSError, ValueError):
        if json.loads(sidecar.read_text()) == stamp:
            return True
    if sha256_of(path) != expected:
        return False
    with contextlib.suppress(OSError):
        sidecar.write_text(json.dumps(stamp))
    return True


def fsync_directory(directory: Path) -> None:
    """Make a rename inside ``directory`` durable."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def temporary_path(target: Path) -> Path:
    """A fresh, empty path beside ``target`` (same file system), for a file that is renamed over it."""
    fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    os.close(fd)
    return Path(name)


def replace_durably(source: Path, target: Path) -> None:
    """Rename a fully written ``source`` over ``target``: readers see the old file or the new one."""
    with open(source, "rb") as handle:
        os.fsync(handle.fileno())
    os.replace(source, target)
    fsync_directory(target.parent)


@contextlib.contextmanager
def atomic_file(target: Path) -> Iterator[BinaryIO]:
    """A handle whose content replaces ``target`` only when the block ends without an error."""
    tmp = temporary_path(target)
    try:
        with open(tmp, "wb") as handle:
            yield handle
        replace_durably(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise


@contextlib.contextmanager
def exclusive_lock(lock_path: Path) -> Iterator[None]:
    """Hold an exclusive advisory lock: processes on one node (Serve replicas) take turns."""
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path, "a+b") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
