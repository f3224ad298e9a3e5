"""Letterboxing: the detector's square input, and the way back to frame pixels."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from numpy.typing import NDArray

from serve.imaging import Image

PAD_VALUE = 114


@dataclass(frozen=True)
class LetterboxTransform:
    """Maps ``xyxy`` boxes between a frame (``source_w`` x ``source_h``) and its letterboxed canvas.

    ``scale_x``/``scale_y`` are the exact per-axis factors of the resized image (equal up to rounding
    to whole pixels); the image sits at ``(pad_x, pad_y)`` on the ``size_px`` square.
    """

    scale_x: float
    scale_y: float
    pad_x: int
    pad_y: int
    source_w: int
    source_h: int
    size_px: int

    @property
    def scale(self) -> float:
        """The aspect-preserving factor (the smaller of the two per-axis factors)."""
        return min(self.scale_x, self.scale_y)

    def to_source(self, xyxy: NDArray[np.floating] | NDArray[np.integer]) -> NDArray[np.float32]:
        """Canvas boxes (n, 4) to frame pixels, clipped to the frame."""
        boxes = np.array(xyxy, np.float64).reshape(-1, 4)
        boxes[:, [0, 2]] = ((boxes[:, [0, 2]] - self.pad_x) / self.scale_x).clip(0, self.source_w)
        boxes[:, [1, 3]] = ((boxes[:, [1, 3]] - self.pad_y) / self.scale_y).clip(0, self.source_h)
        return boxes.astype(np.float32)

    def to_canvas(self, xyxy: NDArray[np.floating] | NDArray[np.integer]) -> NDArray[np.float32]:
        """Frame boxes (n, 4) to canvas pixels (not clipped)."""
        boxes = np.array(xyxy, np.float64).reshape(-1, 4)
        boxes[:, [0, 2]] = boxes[:, [0, 2]] * self.scale_x + self.pad_x
        boxes[:, [1, 3]] = boxes[:, [1, 3]] * self.scale_y + self.pad_y
        return boxes.astype(np.float32)


def letterbox(image: Image, size_px: int = 640) -> tuple[Image, LetterboxTransform]:
    """Resize keeping the aspect ratio and pad with grey (114) to a centred ``size_px`` square."""
    if image.ndim != 3 or image.shape[2] != 3 or image.shape[0] < 1 or image.shape[1] < 1:
        raise ValueError(f"letterbox needs a non-empty (h, w, 3) image, got shape {image.shape}")
    if size_px < 1:
        raise ValueError(f"size_px must be positive, got {size_px}")
    height, width = image.shape[:2]
    scale = min(size_px / width, size_px / height)
    new_w = min(size_px, max(1, round(width * scale)))
    new_h = min(size_px, max(1, round(height * scale)))
    if (new_w, new_h) == (width, height):
        resized = image
    else:
        interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
        resized = np.asarray(cv2.resize(image, (new_w, new_h), interpolation=interpolation), np.uint8)
    canvas = np.full((size_px, size_px, 3), PAD_VALUE, np.uint8)
    pad_x, pad_y = (size_px - new_w) // 2, (size_px - new_h) // 2
    canvas[pad_y : pad_y + new_h, pad_x : pad_x + new_w] = resized
    transform = LetterboxTransform(new_w / width, new_h / height, pad_x, pad_y, width, height, size_px)
    return canvas, transform
