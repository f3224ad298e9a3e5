"""Plate reading: the text lines on the detector's crop, read by a text-line recogniser in one batch.

EasyOCR's ``readtext`` first runs CRAFT to find text, then its recogniser on each piece. The plate
detector has already boxed the plate, so this reader skips CRAFT: :mod:`serve.plate_lines` finds the
lines (connected components, about 2 ms) and the recogniser reads each line that can hold the
number, levelled and cut tight. Measured with ``safecity bench plates`` on 2 CPU cores (three runs,
200 generated plates each): 40-46 plates/s against 0.9-1.0 for three ``readtext`` views, and 81-84%
exact single-frame reads against 62-68% (see README). The recogniser is EasyOCR's or RapidOCR's PP-OCRv6
(``plates.ocr_backend``); ``whole_crop`` adds the whole crop read as one line to the vote.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import cv2
import numpy as np

from serve.imaging import Image, crop, expand_box
from serve.ocr_recognizer import LINE_HEIGHT_PX
from serve.plate_lines import Grey, TextLine, find_text_lines, line_image
from serve.plate_options import MAX_VIEWS as MAX_VIEWS
from serve.plate_options import VIEW_SCALES
from serve.types import Box, OcrRead

# Lines whose glyphs are at least this fraction as tall as the tallest line's can hold the number (a
# motorcycle plate's letters over its digits); smaller ones are province headers, left unread. At
# 0.7 a motorcycle plate's smaller letter row was skipped: 73% exact reads against 76% at 0.55.
NUMBER_LINE_MIN_HEIGHT = 0.55
# Margin around a line, in glyph heights. Measured on the generated set (400 plates, one view):
# 0.08 read 82% exactly, 0.15 read 79%, 0.25 read 68%: more margin lets the border and strip in.
LINE_MARGIN = 0.08


class LineRecognizer(Protocol):
    """Reads grey images of single text lines."""

    def recognize(self, lines: Sequence[Grey]) -> list[OcrRead]:
        """Text and confidence of each line, in order."""
        ...


class PlateReader:
    """Reads plates: text lines found on each crop, all lines of all plates recognised in one batch."""

    def __init__(
        self,
        recognizer: LineRecognizer,
        views: int = 1,
        *,
        split_lines: bool = True,
        whole_crop: bool = False,
    ) -> None:
        if not 1 <= views <= MAX_VIEWS:
            raise ValueError(f"views must be 1 to {MAX_VIEWS}, got {views}")
        self._recognizer = recognizer
        self.views = views
        self.split_lines = split_lines
        self.whole_crop = whole_crop  # also read the whole crop as one line: one more read per plate

    def read(self, image: Image, box: Box) -> list[OcrRead]:
        """One read per view of the plate in ``box``: its number lines, top to bottom.

        With ``whole_crop`` a last read follows: the whole crop read as one line.
        """
        return self.read_many([(image, box)])[0]

    def read_many(self, chips: Sequence[tuple[Image, Box]]) -> list[list[OcrRead]]:
        """:meth:`read` for each (image, box), with one recogniser call for every line of every plate."""
        views = [lines for image, box in chips for lines in self._view_images(image, box)]
        reads = iter(self._recognizer.recognize([line for lines in views for line in lines]))
        joined = [_joined([next(reads) for _ in lines]) for lines in views]
        per_plate = self.views + int(self.whole_crop)
        return [joined[i : i + per_plate] for i in range(0, len(joined), per_plate)]

    def _view_images(self, image: Image, box: Box) -> list[list[Grey]]:
        """The line images of each read of one plate: each view's lines, then the whole crop if asked."""
        views = [self.line_images(image, box, scale) for scale in VIEW_SCALES[: self.views]]
        if self.whole_crop:
            grey = _grey_crop(image, box, 1.0)
            views.append([] if grey is None else [grey])
        return views

    def line_images(self, image: Image, box: Box, scale: float = 1.0) -> list[Grey]:
        """The images the recogniser reads for the plate in ``box`` scaled by ``scale``: its number lines.

        Without line splitting, or where no line is found, the whole crop is read as one line.
        """
        grey = _grey_crop(image, box, scale)
        if grey is None:
            return []
        lines = number_lines(find_text_lines(grey)) if self.split_lines else []
        if not lines:
            return [grey]
        return [line_image(grey, line, height_px=LINE_HEIGHT_PX, margin=LINE_MARGIN) for line in lines]


def number_lines(lines: Sequence[TextLine]) -> list[TextLine]:
    """The lines that can hold the plate number: all but those much smaller than the tallest."""
    if not lines:
        return []
    tallest = max(line.char_height_px for line in lines)
    return [line for line in lines if line.char_height_px >= NUMBER_LINE_MIN_HEIGHT * tallest]


def _grey_crop(image: Image, box: Box, scale: float) -> Grey | None:
    """The plate in ``box`` scaled by ``scale``, in grey; None when under 4 pixels on a side."""
    plate = crop(image, expand_box(box, scale))
    if plate.size == 0 or min(plate.shape[:2]) < 4:
        return None
    return np.asarray(cv2.cvtColor(plate, cv2.COLOR_BGR2GRAY) if plate.ndim == 3 else plate, np.uint8)


def _joined(reads: list[OcrRead]) -> OcrRead:
    """The lines of one view as one read: texts top to bottom, the weakest line's confidence."""
    if not reads:
        return OcrRead("", 0.0)
    return OcrRead(" ".join(r.text for r in reads), min(r.confidence for r in reads))
