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
    """Maps boxes between a frame and its letterboxed canvas."""

    scale: float
    pad_x: float
    pad_y: float
    source_w: int
    source_h: int

    @property
    def _offset(self) -> NDArray[np.float32]:
        return np.array([self.pad_x, self.pad_y, self.pad_x, self.pad_y], np.float32)

    def to_source(self, xyxy: NDArray[np.float32]) -> NDArray[np.float32]:
        """Canvas boxes (n, 4) to frame pixels, clipped to the frame."""
        boxes = (np.asarray(xyxy, np.float32).reshape(-1, 4) - self._offset) / self.scale
        boxes[:, [0, 2]] = boxes[:, [0, 2]].clip(0, self.source_w)
        boxes[:, [1, 3]] = boxes[:, [1, 3]].clip(0, self.source_h)
        return np.asarray(boxes, np.float32)

    def to_canvas(self, xyxy: NDArray[np.float32]) -> NDArray[np.float32]:
        """Frame boxes (n, 4) to canvas pixels."""
        boxes = np.asarray(xyxy, np.float32).reshape(-1, 4) * self.scale
        return np.asarray(boxes + self._offset, np.float32)


def letterbox(image: Image, size_px: int = 640) -> tuple[Image, LetterboxTransform]:
    """Resize keeping the aspect ratio and pad to a ``size_px`` square, centred."""
    height, width = image.shape[:2]
    scale = min(size_px / width, size_px / height)
    new_w, new_h = max(1, round(width * scale)), max(1, round(height * scale))
    interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    resized = cv2.resize(image, (new_w, new_h), interpolation=interpolation)
    canvas = np.full((size_px, size_px, 3), PAD_VALUE, np.uint8)
    pad_x, pad_y = (size_px - new_w) // 2, (size_px - new_h) // 2
    canvas[pad_y : pad_y + new_h, pad_x : pad_x + new_w] = resized
    return canvas, LetterboxTransform(scale, float(pad_x), float(pad_y), width, height)
