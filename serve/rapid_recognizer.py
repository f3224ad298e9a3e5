"""RapidOCR's PP-OCRv6 small text recogniser (ONNX) on plate text lines: grey lines in, text out.

Only the recogniser: lines come from :mod:`serve.plate_lines` as for EasyOCR, and neither the
rapidocr package nor a hub is used; the ONNX file is the pinned one of the model store and its
character list is in the model's metadata (``character``). Preprocessing follows PaddleOCR: each
line resized to height 48 (aspect kept), scaled to [-1, 1], batches padded on the right with mid
grey. No minimum width: on 600 generated plates (``safecity bench plates``, three seeds) PaddleOCR's
320 px and 240 px both read 92.2% exactly, none 91.7% (3 plates fewer) at 50 plates/s against 29 and
37 (a shared 2-core box), and the lines-plus-whole-crop vote (97.0%) was measured without one.

The model is multilingual (18,708 characters); :class:`PlateCtcDecoder` restricts it to the plate
alphabet before decoding, as EasyOcrRecognizer's ignore list does for EasyOCR.
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from serve.errors import ModelCorruptError
from serve.models.registry import ModelRole
from serve.ocr_recognizer import PLATE_ALPHABET, read_in_width_batches
from serve.onnx_session import open_session
from serve.plate_lines import Grey
from serve.types import OcrRead

LINE_HEIGHT_PX = 48  # the height PP-OCR recognisers read at
MIN_WIDTH_PX = 0
SEPARATOR = " "
_ROLE = ModelRole.RAPIDOCR_RECOGNIZER.value


def plate_symbol(char: str, alphabet: str = PLATE_ALPHABET) -> str | None:
    """The plate symbol a model character stands for: an alphabet character, SEPARATOR, or None.

    Characters are NFKC-normalised and upper-cased first, so 'o' and a full-width O count as 'O'.
    """
    norm = unicodedata.normalize("NFKC", char).upper()
    if norm in (" ", "-"):
        return SEPARATOR
    return norm if len(norm) == 1 and norm in alphabet else None


class PlateCtcDecoder:
    """Greedy CTC over the plate alphabet for a recogniser whose classes are blank, characters, space.

    At each time step the probabilities of all classes standing for one plate symbol are summed,
    classes standing for none are removed, and the best of {blank, alphabet, separator} is taken.
    """

    def __init__(self, characters: Sequence[str], alphabet: str = PLATE_ALPHABET) -> None:
        classes = ["", *characters, " "]  # CTC blank first, the model's space last (PaddleOCR's layout)
        self.symbols = ["", *alphabet, SEPARATOR]
        groups = [0] + [_symbol_index(self.symbols, plate_symbol(c, alphabet)) for c in classes[1:]]
        self._kept = np.array([i for i, group in enumerate(groups) if group >= 0], np.int64)
        membership = np.zeros((len(self._kept), len(self.symbols)), np.float32)
        membership[np.arange(len(self._kept)), [groups[i] for i in self._kept]] = 1.0
        self._membership = membership
        self.num_classes = len(classes)

    def decode(self, probs: np.ndarray) -> OcrRead:
        """The read of one line's (time steps, classes) softmax output.

        Confidence is the mean over the chosen symbols of their share of the kept probability.
        """
        grouped = probs[:, self._kept] @ self._membership
        best = grouped.argmax(axis=1)
        share = grouped.max(axis=1) / np.maximum(grouped.sum(axis=1), 1e-9)
        fresh = np.ones(len(best), bool)
        fresh[1:] = best[1:] != best[:-1]
        chosen = np.flatnonzero(fresh & (best != 0))
        text = " ".join("".join(self.symbols[best[t]] for t in chosen).split())
        confidence = float(share[chosen].mean()) if len(chosen) else 0.0
        return OcrRead(text, confidence)


def _symbol_index(symbols: list[str], symbol: str | None) -> int:
    return -1 if symbol is None else symbols.index(symbol)


class RapidOcrRecognizer:
    """Reads grey text-line images with the PP-OCR recogniser, restricted to the plate alphabet."""

    def __init__(self, session: Any, decoder: PlateCtcDecoder, *, min_width_px: int = MIN_WIDTH_PX) -> None:
        self._session = session
        self._input = session.get_inputs()[0].name
        self._decoder = decoder
        self.min_width_px = min_width_px

    @classmethod
    def load(cls, path: Path, *, device: str, cpu_threads: int | None = None) -> RapidOcrRecognizer:
        """The recogniser at ``path`` on a resolved ``device``, ``cpu_threads`` intra-op threads."""
        session = open_session(path, role=_ROLE, device=device, cpu_threads=cpu_threads)
        return cls(session, PlateCtcDecoder(model_characters(session, path)))

    def recognize(self, lines: Sequence[Grey]) -> list[OcrRead]:
        """Text and confidence of each grey line image, in order; an empty image reads as nothing."""
        return read_in_width_batches(lines, _prepare, self._predict)

    def _predict(self, images: list[Grey]) -> list[OcrRead]:
        width = max(self.min_width_px, *(image.shape[1] for image in images))
        batch = np.zeros((len(images), 3, LINE_HEIGHT_PX, width), np.float32)  # 0: mid grey
        for k, image in enumerate(images):
            batch[k, :, :, : image.shape[1]] = image.astype(np.float32) / 127.5 - 1.0
        probs = self._session.run(None, {self._input: batch})[0]  # (lines, time steps, classes)
        return [self._decoder.decode(p) for p in probs]


def model_characters(session: Any, path: Path) -> list[str]:
    """The character list in the model's metadata, checked against its number of output classes."""
    metadata = session.get_modelmeta().custom_metadata_map
    if "character" not in metadata:
        raise ModelCorruptError(f"model for role '{_ROLE}' at {path} has no 'character' metadata")
    characters: list[str] = metadata["character"].splitlines()
    classes = session.get_outputs()[0].shape[-1]
    if isinstance(classes, int) and classes != len(characters) + 2:
        raise ModelCorruptError(
            f"model for role '{_ROLE}' at {path} has {classes} classes for {len(characters)} characters"
        )
    return characters


def _prepare(line: Grey) -> Grey:
    """The line at the recogniser's height, its aspect ratio kept."""
    height, width = line.shape[:2]
    new_width = max(8, math.ceil(width * LINE_HEIGHT_PX / height))
    return np.asarray(cv2.resize(line, (new_width, LINE_HEIGHT_PX), interpolation=cv2.INTER_LINEAR), np.uint8)
