"""The detectors' input canvas: its size, checked against the YOLO stride.

Apart from :mod:`serve.letterbox` so the config can name the default canvas without importing OpenCV.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from serve.imaging import Image

PAD_VALUE = 114
STRIDE_PX = 32


@dataclass(frozen=True)
class Canvas:
    """The detector input: ``width_px`` x ``height_px``, each a multiple of the YOLO stride (32)."""

    width_px: int
    height_px: int

    def __post_init__(self) -> None:
        for name, value in (("width_px", self.width_px), ("height_px", self.height_px)):
            if value < STRIDE_PX or value % STRIDE_PX:
                raise ValueError(f"canvas {name} must be a positive multiple of {STRIDE_PX}, got {value}")

    @classmethod
    def holding(cls, width_px: int, height_px: int) -> Canvas:
        """The smallest canvas a ``width_px`` x ``height_px`` frame fits on without being shrunk."""
        return cls(-(-width_px // STRIDE_PX) * STRIDE_PX, -(-height_px // STRIDE_PX) * STRIDE_PX)

    @property
    def shape(self) -> tuple[int, int, int]:
        """The (h, w, 3) shape of an image on this canvas."""
        return (self.height_px, self.width_px, 3)

    def fits(self, image: Image) -> bool:
        """Whether ``image`` already is a canvas (no letterbox needed)."""
        return image.shape == self.shape

    def blank(self) -> Image:
        """A grey canvas, for warming a model up."""
        return np.full(self.shape, PAD_VALUE, np.uint8)


# 16:9 cameras at a 640-pixel width: 360 image rows rounded up to the stride, 40% fewer pixels than
# the 640x640 square.
DEFAULT_CANVAS = Canvas(640, 384)
