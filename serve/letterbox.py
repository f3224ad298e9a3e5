"""Letterboxing: the detector's fixed rectangular canvas, and the exact way back to frame pixels.

Pure geometry (numpy and one OpenCV resize). It lives in ``serve`` because the detectors letterbox
images that are not yet on their canvas; camera actors import it through ``actors.camera.letterbox``.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from numpy.typing import NDArray

from serve.canvas import DEFAULT_CANVAS, PAD_VALUE, Canvas
from serve.imaging import Image


@dataclass(frozen=True)
class LetterboxTransform:
    """Maps ``xyxy`` boxes between a frame (``source_w`` x ``source_h``) and its letterboxed canvas.

    ``scale_x``/``scale_y`` are the exact per-axis factors of the resized image (equal up to rounding
    to whole pixels); the image sits at ``(pad_x, pad_y)`` on the ``canvas_w`` x ``canvas_h`` canvas.
    """

    scale_x: float
    scale_y: float
    pad_x: int
    pad_y: int
    source_w: int
    source_h: int
    canvas_w: int
    canvas_h: int

    @classmethod
    def identity(cls, width: int, height: int) -> LetterboxTransform:
        """The transform of an image that already is the canvas."""
        return cls(1.0, 1.0, 0, 0, width, height, width, height)

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


def letterbox(image: Image, canvas: Canvas = DEFAULT_CANVAS) -> tuple[Image, LetterboxTransform]:
    """Resize keeping the aspect ratio and pad with grey (114) to the centre of ``canvas``."""
    if image.ndim != 3 or image.shape[2] != 3 or image.shape[0] < 1 or image.shape[1] < 1:
        raise ValueError(f"letterbox needs a non-empty (h, w, 3) image, got shape {image.shape}")
    height, width = image.shape[:2]
    canvas_w, canvas_h = canvas.width_px, canvas.height_px
    scale = min(canvas_w / width, canvas_h / height)
    new_w = min(canvas_w, max(1, round(width * scale)))
    new_h = min(canvas_h, max(1, round(height * scale)))
    if (new_w, new_h) == (width, height):
        resized = image
    else:
        interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
        resized = np.asarray(cv2.resize(image, (new_w, new_h), interpolation=interpolation), np.uint8)
    out = np.full(canvas.shape, PAD_VALUE, np.uint8)
    pad_x, pad_y = (canvas_w - new_w) // 2, (canvas_h - new_h) // 2
    out[pad_y : pad_y + new_h, pad_x : pad_x + new_w] = resized
    transform = LetterboxTransform(
        new_w / width, new_h / height, pad_x, pad_y, width, height, canvas_w, canvas_h
    )
    return out, transform
