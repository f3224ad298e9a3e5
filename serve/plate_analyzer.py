"""Plates end to end: detect, crop, OCR, normalise and correct against the configured formats."""

from __future__ import annotations

from collections.abc import Sequence

from serve.imaging import Image, crop
from serve.plate_reader import PlateReader
from serve.plate_text import DEFAULT_PLATE_FORMATS, PlateFormat
from serve.plate_vote import candidate, vote
from serve.types import Detections, PlateRead
from serve.yolo_detector import YoloDetector


class PlateAnalyzer:
    """Composes the plate detector and reader; pure (no Ray), batch in, batch out."""

    def __init__(
        self,
        detector: YoloDetector,
        reader: PlateReader,
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
        """OCR every detected plate of one image (one batched recogniser call), voting over views."""
        boxes = [detections.box(index) for index in range(len(detections))]
        views_per_plate = self.reader.read_many([(image, box) for box in boxes])
        reads = []
        for index, (box, views) in enumerate(zip(boxes, views_per_plate, strict=True)):
            verdict = vote(
                [candidate(v.text, v.confidence, self.formats, self.max_corrections) for v in views]
            )
            reads.append(
                PlateRead(
                    xyxy=box,
                    detector_score=float(detections.confidence[index]),
                    text=verdict.text if verdict else "",
                    raw_text=verdict.raw_text if verdict else "",
                    confidence=verdict.confidence if verdict else 0.0,
                    format_ok=verdict is not None and verdict.format_name is not None,
                    format_name=verdict.format_name if verdict else None,
                    crop=crop(image, box),
                )
            )
        return reads

    def analyze(self, images: Sequence[Image]) -> list[list[PlateRead]]:
        """Every plate of every image, read."""
        return [self.read(image, dets) for image, dets in zip(images, self.detect(images), strict=True)]
