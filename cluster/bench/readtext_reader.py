"""The plate reader as it was before issue 6, kept for ``safecity bench plates`` to compare against.

EasyOCR's full ``readtext`` (CRAFT text detection, then the recogniser) on three crops of each plate,
restricted to the plate alphabet; lines of a view joined top to bottom. Nothing in the pipeline uses
it: it is the baseline of the benchmark only.
"""

from __future__ import annotations

import hashlib
import os
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from serve.imaging import Image, crop, expand_box
from serve.ocr_recognizer import PLATE_ALPHABET, RECOGNIZER_FILE
from serve.types import Box, OcrRead

_DETECTOR_FILE = "craft_mlt_25k.pth"


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
        import easyocr

        folder = _model_dir(detector_path, recognizer_path, links_root)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # torch deprecations in EasyOCR's quantisation
            reader = easyocr.Reader(
                ["en"],
                gpu=device if device.startswith("cuda") else False,
                model_storage_directory=str(folder),
                download_enabled=False,
                verbose=False,
            )
        return cls(reader)

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


def _model_dir(detector_path: Path, recognizer_path: Path, links_root: Path) -> Path:
    """A folder holding both weights under the names EasyOCR looks for (links to the cached files)."""
    key = hashlib.sha256(f"{detector_path.resolve()}|{recognizer_path.resolve()}".encode()).hexdigest()[:16]
    folder = links_root / key
    folder.mkdir(parents=True, exist_ok=True)
    for name, source in ((_DETECTOR_FILE, detector_path), (RECOGNIZER_FILE, recognizer_path)):
        link = folder / name
        if link.is_symlink() and Path(os.readlink(link)) == source.resolve():
            continue
        temporary = folder / f".{name}.{os.getpid()}"
        temporary.unlink(missing_ok=True)
        temporary.symlink_to(source.resolve())
        os.replace(temporary, link)
    return folder
