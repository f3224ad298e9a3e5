"""EasyOCR's English recogniser alone (no CRAFT text detector): grey text-line images in, text out.

The plate detector has already found the plate and :mod:`serve.plate_lines` its text lines, so the
text detector EasyOCR's ``readtext`` runs first is redundant; it was about 80% of the cost of a read.
Lines are batched: the recogniser is a CNN and a BiLSTM over the line's width, so each batch holds
lines of similar width (little padding). EasyOCR's second pass on weak reads (``contrast_ths``: read
again with the contrast raised) is not run; each line's contrast is stretched before its one pass.
On 300 generated plates the second pass re-read 16 lines and changed no exact read; the stretch
itself measured neutral there too (82% with and without) and costs nothing, so it stays for dim plates.
Other preprocessing (padding, thinning, CLAHE, sharpening, binarisation) and decoding (beam search,
format-constrained beams) measured no better on held-out generated plates: see the README's benchmarks.
"""

from __future__ import annotations

import hashlib
import logging
import math
import os
import warnings
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from serve.errors import ModelCorruptError
from serve.ocr_features import onnx_feature_extraction
from serve.plate_lines import Grey
from serve.types import OcrRead

log = logging.getLogger(__name__)

PLATE_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
RECOGNIZER_FILE = "english_g2.pth"  # the names EasyOCR looks for
DETECTOR_FILE = "craft_mlt_25k.pth"
LINE_HEIGHT_PX = 64  # the height EasyOCR's English g2 recogniser reads at
MAX_BATCH = 8
# Lines wider than the narrowest of their batch by more than this factor start a new batch: padding a
# 128 px line to 384 px costs as much as reading it twice (measured 9.8 ms at 128 px, 22 ms at 384).
_MAX_WIDTH_SPREAD = 1.5


def easyocr_model_dir(weights: Mapping[str, Path], links_root: Path) -> Path:
    """A folder holding ``weights`` (file name EasyOCR looks for -> cached file) as links."""
    key = hashlib.sha256("|".join(str(path.resolve()) for path in weights.values()).encode()).hexdigest()
    folder = links_root / key[:16]
    folder.mkdir(parents=True, exist_ok=True)
    for name, source in weights.items():
        link = folder / name
        if link.is_symlink() and Path(os.readlink(link)) == source.resolve():
            continue
        temporary = folder / f".{name}.{os.getpid()}"
        temporary.unlink(missing_ok=True)
        temporary.symlink_to(source.resolve())
        os.replace(temporary, link)
    return folder


def open_easyocr(weights: Mapping[str, Path], *, roles: str, links_root: Path, device: str) -> Any:
    """An ``easyocr.Reader`` on ``weights`` alone (CRAFT only if its file is among them); never downloads.

    ``roles`` names the model roles in the error raised when the files do not load.
    """
    import easyocr

    folder = easyocr_model_dir(weights, links_root)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # torch deprecations in EasyOCR's quantisation
            return easyocr.Reader(
                ["en"],
                gpu=device if device.startswith("cuda") else False,
                model_storage_directory=str(folder),
                download_enabled=False,
                detector=DETECTOR_FILE in weights,
                verbose=False,
            )
    except (AssertionError, FileNotFoundError, RuntimeError) as exc:
        paths = ", ".join(str(path) for path in weights.values())
        raise ModelCorruptError(f"model for role {roles} ({paths}) does not load in EasyOCR: {exc}") from exc


class EasyOcrRecognizer:
    """Reads text lines with EasyOCR's recogniser, restricted to ``alphabet`` plus space and hyphen.

    The separators are allowed so that the recogniser need not turn a plate's hyphen into a letter
    (it read "FEC-393" as "FECS393" without it); normalisation drops them afterwards.
    """

    def __init__(self, reader: Any, alphabet: str = PLATE_ALPHABET) -> None:
        self._model = reader.recognizer
        self._converter = reader.converter
        self._device = str(reader.device)
        allowed = set(alphabet + " -")
        # Index 0 of the model's output is CTC's blank; characters follow from 1.
        self._ignore = [i + 1 for i, char in enumerate(reader.character) if char not in allowed]

    @classmethod
    def load(
        cls,
        recognizer_path: Path,
        *,
        links_root: Path,
        device: str,
        cpu_threads: int | None = None,
        onnx_features: bool | None = None,
    ) -> EasyOcrRecognizer:
        """Load the recogniser from its weight file; never downloads, never loads CRAFT.

        ``onnx_features``: run its feature extractor in onnxruntime (:mod:`serve.ocr_features`, same
        features). ``None`` does so on the CPU at one thread, as a replica's default CPU share runs it:
        1.33-1.37x faster a plate there, but 0.81-0.84x at two threads, where torch is kept.
        """
        weights = {RECOGNIZER_FILE: recognizer_path}
        reader = open_easyocr(weights, roles="'ocr_recognizer'", links_root=links_root, device=device)
        if onnx_features is None:
            onnx_features = device == "cpu" and cpu_threads == 1
        if onnx_features:
            model = reader.recognizer
            try:
                model.FeatureExtraction = onnx_feature_extraction(model.FeatureExtraction, cpu_threads)
            except Exception as exc:  # a speed-up only: torch reads the same, a little slower
                log.warning("EasyOCR features stay in torch: exporting them to onnxruntime failed: %s", exc)
        return cls(reader)

    def recognize(self, lines: Sequence[Grey]) -> list[OcrRead]:
        """Text and confidence of each grey line image, in order; an empty image reads as nothing."""
        return read_in_width_batches(lines, _prepare, self._predict)

    def _predict(self, images: list[Grey]) -> list[OcrRead]:
        import torch
        from easyocr.recognition import recognizer_predict

        width = max(image.shape[1] for image in images)
        batch = np.stack([_pad_right(image, width) for image in images]).astype(np.float32)
        tensor = torch.from_numpy((batch / 255.0 - 0.5) / 0.5).unsqueeze(1)
        raw = recognizer_predict(
            self._model, self._converter, [tensor], int(width / 10), self._ignore, {}, device=self._device
        )
        return [OcrRead(str(text), float(confidence)) for text, confidence in raw]


def _prepare(line: Grey) -> Grey:
    """The line at the recogniser's height, its contrast stretched to the full range."""
    height, width = line.shape[:2]
    new_width = max(LINE_HEIGHT_PX // 2, math.ceil(width * LINE_HEIGHT_PX / height))
    resized = np.asarray(
        cv2.resize(line, (new_width, LINE_HEIGHT_PX), interpolation=cv2.INTER_CUBIC), np.uint8
    )
    low, high = float(np.percentile(resized, 2)), float(np.percentile(resized, 98))
    if high - low < 8:
        return resized
    stretched = (resized.astype(np.float32) - low) * (255.0 / (high - low))
    return np.asarray(np.clip(stretched, 0, 255), np.uint8)


def _pad_right(image: Grey, width: int) -> Grey:
    """Pad to ``width`` by repeating the last column, as EasyOCR does."""
    missing = width - image.shape[1]
    return image if missing == 0 else np.pad(image, ((0, 0), (0, missing)), mode="edge")


def read_in_width_batches(
    lines: Sequence[Grey],
    prepare: Callable[[Grey], Grey],
    predict: Callable[[list[Grey]], list[OcrRead]],
) -> list[OcrRead]:
    """Each line prepared and read in batches of similar width, in input order (a recogniser's
    ``recognize``); a line under 4 pixels either way reads as nothing."""
    results = [OcrRead("", 0.0)] * len(lines)
    prepared = {i: prepare(line) for i, line in enumerate(lines) if min(line.shape[:2], default=0) >= 4}
    order = sorted(prepared, key=lambda i: prepared[i].shape[1])
    for batch in width_batches([prepared[i].shape[1] for i in order]):
        indices = [order[k] for k in batch]
        for i, read in zip(indices, predict([prepared[i] for i in indices]), strict=True):
            results[i] = read
    return results


def width_batches(widths: list[int]) -> list[list[int]]:
    """Positions in ``widths`` (ascending) grouped into batches of similar width."""
    batches: list[list[int]] = []
    for position, width in enumerate(widths):
        if batches and len(batches[-1]) < MAX_BATCH and width <= widths[batches[-1][0]] * _MAX_WIDTH_SPREAD:
            batches[-1].append(position)
        else:
            batches.append([position])
    return batches
