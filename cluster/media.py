"""Frames from the files ``safecity analyze`` is given: images, or every Nth frame of a video."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from serve.errors import ImageDecodeError, SafeCityError
from serve.imaging import Image, read_image

VIDEO_SUFFIXES = frozenset({".mp4", ".avi", ".mkv", ".mov", ".webm", ".ts", ".m4v", ".mpg", ".mpeg"})


@dataclass(frozen=True)
class SourceFrame:
    """One frame to analyse and where it came from."""

    source: str
    frame: int
    image: Image


def check_sources(paths: Sequence[Path]) -> None:
    """Refuse, before any work, paths that do not exist or are not files."""
    for path in paths:
        if not path.exists():
            raise SafeCityError(f"{path}: no such file")
        if not path.is_file():
            raise SafeCityError(f"{path}: not a file")


def iter_video(path: Path, every: int) -> Iterator[SourceFrame]:
    """Every ``every``-th frame of a video file, numbered from 0."""
    capture = cv2.VideoCapture(str(path))
    try:
        if not capture.isOpened():
            raise ImageDecodeError(f"{path}: not a readable video")
        index = 0
        produced = 0
        while True:
            ok = capture.grab()
            if not ok:
                break
            if index % every == 0:
                ok, image = capture.retrieve()
                if ok and image is not None:
                    produced += 1
                    yield SourceFrame(str(path), index, np.ascontiguousarray(image, dtype=np.uint8))
            index += 1
        if produced == 0:
            raise ImageDecodeError(f"{path}: no decodable video frames")
    finally:
        capture.release()


def iter_frames(paths: Sequence[Path], every: int = 1) -> Iterator[SourceFrame]:
    """Frames of every path in order: an image is one frame, a video gives every ``every``-th frame."""
    if every < 1:
        raise SafeCityError(f"--every must be 1 or more, got {every}")
    check_sources(paths)
    for path in paths:
        if path.suffix.lower() in VIDEO_SUFFIXES:
            yield from iter_video(path, every)
        else:
            yield SourceFrame(str(path), 0, read_image(path))


def batched(frames: Iterator[SourceFrame], size: int) -> Iterator[list[SourceFrame]]:
    """Group frames into lists of at most ``size``."""
    batch: list[SourceFrame] = []
    for frame in frames:
        batch.append(frame)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch
