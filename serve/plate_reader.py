"""Plate OCR with EasyOCR, restricted to the plate alphabet, on detector crops."""

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

from serve.errors import ModelCorruptError
from serve.imaging import Image, crop, expand_box
from serve.types import Box

PLATE_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"


@dataclass(frozen=True)
class OcrView:
    """One way of presenting a plate crop to OCR: box scale, resized height, CRAFT magnification."""

    expand: float
    height_px: int
    mag_ratio: float


# EasyOCR is sensitive to the exact crop: on the bundled plates a 2 px shift of the detector box
# turns "MLB 803" into "MB 803" and "NO 23456" into "NO 234561". Measured over 24 jittered boxes
# (+-3 px), one view read 17-21 right; a vote over these three views read 24 of 24.
DEFAULT_OCR_VIEWS = (
    OcrView(expand=1.0, height_px=96, mag_ratio=2.0),
    OcrView(expand=1.1, height_px=80, mag_ratio=2.0),
    OcrView(expand=1.0, height_px=80, mag_ratio=2.0),
)

_EASYOCR_DETECTOR_FILE = "craft_mlt_25k.pth"
_EASYOCR_RECOGNIZER_FILE = "english_g2.pth"


@dataclass(frozen=True)
class OcrResult:
    """What OCR read on one view of a plate: lines joined top to bottom, the weakest line's confidence."""

    text: str
    confidence: float


def easyocr_model_dir(detector_path: Path, recognizer_path: Path, links_root: Path) -> Path:
    """A folder holding both weights under the names EasyOCR looks for (links to the cached files)."""
    key = hashlib.sha256(f"{detector_path.resolve()}|{recognizer_path.resolve()}".encode()).hexdigest()[:16]
    folder = links_root / key
    folder.mkdir(parents=True, exist_ok=True)
    for name, source in (
        (_EASYOCR_DETECTOR_FILE, detector_path),
        (_EASYOCR_RECOGNIZER_FILE, recognizer_path),
    ):
        link = folder / name
        if link.is_symlink() and Path(os.readlink(link)) == source.resolve():
            continue
        temporary = folder / f".{name}.{os.getpid()}"
        temporary.unlink(missing_ok=True)
        temporary.symlink_to(source.resolve())
        os.replace(temporary, link)
    return folder


class EasyOcrPlateReader:
    """Reads plates, each through several :class:`OcrView`; one EasyOCR reader per process."""

    def __init__(self, reader: Any, views: Sequence[OcrView] = DEFAULT_OCR_VIEWS) -> None:
        if not views:
            raise ValueError("at least one OCR view is needed")
        self._reader = reader
        self.views = tuple(views)

    @classmethod
    def load(
        cls,
        detector_path: Path,
        recognizer_path: Path,
        *,
        links_root: Path,
        device: str,
        views: Sequence[OcrView] = DEFAULT_OCR_VIEWS,
    ) -> EasyOcrPlateReader:
        """Load EasyOCR from the two weight files; never downloads."""
        import easyocr

        model_dir = easyocr_model_dir(detector_path, recognizer_path, links_root)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter(
                    "ignore", UserWarning
                )  # torch deprecations inside EasyOCR's quantisation
                reader = easyocr.Reader(
                    ["en"],
                    gpu=device if device.startswith("cuda") else False,
                    model_storage_directory=str(model_dir),
                    download_enabled=False,
                    verbose=False,
                )
        except (AssertionError, FileNotFoundError, RuntimeError) as exc:
            raise ModelCorruptError(
                f"model for roles 'ocr_detector'/'ocr_recognizer' ({detector_path}, {recognizer_path}) "
                f"does not load in EasyOCR: {exc}"
            ) from exc
        return cls(reader, views)

    def read(self, image: Image, box: Box) -> list[OcrResult]:
        """One OCR result per view of the plate in ``box``."""
        return [self.read_crop(crop(image, expand_box(box, view.expand)), view) for view in self.views]

    def read_crop(self, plate: Image, view: OcrView) -> OcrResult:
        """OCR one crop as ``view`` says (its ``expand`` is the caller's business)."""
        if plate.size == 0 or min(plate.shape[:2]) < 4:
            return OcrResult("", 0.0)
        scale = view.height_px / plate.shape[0]
        width = max(1, round(plate.shape[1] * scale))
        resized = cv2.resize(plate, (width, view.height_px), interpolation=cv2.INTER_CUBIC)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # DataLoader pin-memory notice on CPU
            lines = self._reader.readtext(resized, allowlist=PLATE_ALPHABET + " ", mag_ratio=view.mag_ratio)
        if not lines:
            return OcrResult("", 0.0)
        # Two-row plates: order the pieces top to bottom, then left to right.
        row_height = view.height_px / 3
        ordered = sorted(lines, key=lambda line: (round(_centre_y(line[0]) / row_height), line[0][0][0]))
        text = " ".join(str(line[1]) for line in ordered)
        return OcrResult(text, float(min(float(line[2]) for line in ordered)))


def _centre_y(quad: Any) -> float:
    return float(np.mean([point[1] for point in quad]))
