"""Plates end to end: detect, crop, OCR, normalise and correct against the configured formats."""

from __future__ import annotations

from collections.abc import Sequence

from serve.imaging import Image, crop
from serve.plate_reader import EasyOcrPlateReader
from serve.plate_text import DEFAULT_PLATE_FORMATS, PlateFormat, correct_plate
from serve.types import Detections, PlateRead
from serve.yolo_detector import YoloDetector


class PlateAnalyzer:
    """Composes the plate detector and reader; pure (no Ray), batch in, batch out."""

    def __init__(
        self,
        detector: YoloDetector,
        reader: EasyOcrPlateReader,
        formats: Sequence[PlateFormat] = DEFAULT_PLATE_FORMATS,
        max_corrections: int = 2,
    ) -> None:
        self.detector = detector
        self.reader = reader
        self.formats = tuple(formats)
        self.max_corrections = max_corrections

    def detect(self, images: Sequence[Image]) -> list[Detections]:
        """Plate boxes per image."""
        return self.detector.detect(images)

    def read(self, image: Image, detections: Detections) -> list[PlateRead]:
        """OCR every detected plate of one image."""
        crops = [crop(image, detections.box(i)) for i in range(len(detections))]
        reads = []
        for index, (plate_crop, ocr) in enumerate(zip(crops, self.reader.read(crops), strict=True)):
            corrected = correct_plate(ocr.text, self.formats, self.max_corrections)
            reads.append(
                PlateRead(
                    xyxy=detections.box(index),
                    detector_score=float(detections.confidence[index]),
                    text=corrected.text,
                    raw_text=ocr.text,
                    confidence=ocr.confidence,
                    format_ok=corrected.format_name is not None,
                    format_name=corrected.format_name,
                    crop=plate_crop,
                )
            )
        return reads

    def analyze(self, images: Sequence[Image]) -> list[list[PlateRead]]:
        """Every plate of every image, read."""
        return [self.read(image, dets) for image, dets in zip(images, self.detect(images), strict=True)]
