"""The plate reader as it was before issue 6, kept for ``safecity bench plates`` to compare against.

EasyOCR's full ``readtext`` (CRAFT text detection, then the recogniser) on three crops of each plate,
restricted to the plate alphabet; lines of a view joined top to bottom. Nothing in the pipeline uses
it: it is the baseline of the benchmark only.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from serve.imaging import Image, crop, expand_box
from serve.ocr_recognizer import DETECTOR_FILE, PLATE_ALPHABET, RECOGNIZER_FILE, open_easyocr
from serve.types import Box, OcrRead


@dataclass(frozen=True)
class ReadtextView:
    """One way of presenting a plate crop to ``readtext``: box scale, resized height, CRAFT magnification."""

    expand: float
    height_px: int
    mag_ratio: float


# The three views of the old reader (its measurement: one view read 17-21 of 24 jittered boxes of the
# bundled plates right, the vote over three 24 of 24).
READTEXT_VIEWS = (
    ReadtextView(expand=1.0, height_px=96, mag_ratio=2.0),
    ReadtextView(expand=1.1, height_px=80, mag_ratio=2.0),
    ReadtextView(expand=1.0, height_px=80, mag_ratio=2.0),
)


class ReadtextPlateReader:
    """EasyOCR ``readtext`` over several views of each plate."""

    def __init__(self, reader: Any, views: Sequence[ReadtextView] = READTEXT_VIEWS) -> None:
        self._reader = reader
        self.views = tuple(views)

    @classmethod
    def load(
        cls, detector_path: Path, recognizer_path: Path, *, links_root: Path, device: str
    ) -> ReadtextPlateReader:
        """EasyOCR with CRAFT and the recogniser from their weight files; never downloads."""
        weights = {DETECTOR_FILE: detector_path, RECOGNIZER_FILE: recognizer_path}
        roles = "'ocr_detector'/'ocr_recognizer'"
        return cls(open_easyocr(weights, roles=roles, links_root=links_root, device=device))

    def read_many(self, chips: Sequence[tuple[Image, Box]]) -> list[list[OcrRead]]:
        """One read per view of each plate."""
        return [[self._read_view(image, box, view) for view in self.views] for image, box in chips]

    def _read_view(self, image: Image, box: Box, view: ReadtextView) -> OcrRead:
        plate = crop(image, expand_box(box, view.expand))
        if plate.size == 0 or min(plate.shape[:2]) < 4:
            return OcrRead("", 0.0)
        scale = view.height_px / plate.shape[0]
        resized = cv2.resize(
            plate, (max(1, round(plate.shape[1] * scale)), view.height_px), interpolation=cv2.INTER_CUBIC
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # DataLoader pin-memory notice on CPU
            pieces = self._reader.readtext(resized, allowlist=PLATE_ALPHABET + " ", mag_ratio=view.mag_ratio)
        if not pieces:
            return OcrRead("", 0.0)
        row_height = view.height_px / 3  # two-row plates: top to bottom, then left to right
        ordered = sorted(pieces, key=lambda p: (round(_centre_y(p[0]) / row_height), p[0][0][0]))
        return OcrRead(" ".join(str(p[1]) for p in ordered), min(float(p[2]) for p in ordered))


def _centre_y(quad: Any) -> float:
    return float(np.mean([point[1] for point in quad]))
