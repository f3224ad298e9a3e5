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
from serve.imaging import Image

PLATE_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
# Crops are resized to this height before OCR, and CRAFT magnifies them twice more. Measured on the
# bundled plates: at the detector's native crop size (about 45 px high) EasyOCR reads "NO 234561"
# (the plate border as a trailing 1); at 64 px with magnification 2 it reads both plates right.
OCR_HEIGHT_PX = 64
CRAFT_MAG_RATIO = 2.0

_EASYOCR_DETECTOR_FILE = "craft_mlt_25k.pth"
_EASYOCR_RECOGNIZER_FILE = "english_g2.pth"


@dataclass(frozen=True)
class OcrResult:
    """What OCR read on one crop: the text lines joined top to bottom, and the weakest line's confidence."""

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
    """Reads plate crops; one EasyOCR reader per process."""

    def __init__(self, reader: Any) -> None:
        self._reader = reader

    @classmethod
    def load(
        cls, detector_path: Path, recognizer_path: Path, *, links_root: Path, device: str
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
        return cls(reader)

    def read(self, crops: Sequence[Image]) -> list[OcrResult]:
        """OCR each plate crop."""
        return [self._read_one(crop) for crop in crops]

    def _read_one(self, crop: Image) -> OcrResult:
        if crop.size == 0 or min(crop.shape[:2]) < 4:
            return OcrResult("", 0.0)
        scale = OCR_HEIGHT_PX / crop.shape[0]
        resized = cv2.resize(
            crop, (max(1, round(crop.shape[1] * scale)), OCR_HEIGHT_PX), interpolation=cv2.INTER_CUBIC
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # DataLoader pin-memory notice on CPU
            lines = self._reader.readtext(resized, allowlist=PLATE_ALPHABET + " ", mag_ratio=CRAFT_MAG_RATIO)
        if not lines:
            return OcrResult("", 0.0)
        # Two-row plates: order the pieces top to bottom, then left to right.
        ordered = sorted(
            lines, key=lambda line: (round(_centre_y(line[0]) / (OCR_HEIGHT_PX / 3)), line[0][0][0])
        )
        text = " ".join(str(line[1]) for line in ordered)
        confidence = float(min(float(line[2]) for line in ordered))
        return OcrResult(text, confidence)


def _centre_y(quad: Any) -> float:
    return float(np.mean([point[1] for point in quad]))
