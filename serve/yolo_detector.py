"""YOLO object detection (faces or plates), batch in, batch out."""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from serve.errors import ModelCorruptError
from serve.imaging import Image
from serve.types import Detections

# Ultralytics must never reach for a hub (weights, fonts, version checks): it fails offline.
os.environ.setdefault("YOLO_OFFLINE", "1")


class YoloDetector:
    """Runs one ultralytics YOLO model (``.pt``, ``.onnx``, ...) over batches of BGR images."""

    def __init__(
        self,
        model: Any,
        *,
        device: str,
        confidence: float,
        iou: float,
        image_size_px: int,
    ) -> None:
        self._model = model
        self.device = device
        self.confidence = confidence
        self.iou = iou
        self.image_size_px = image_size_px

    @classmethod
    def load(
        cls,
        path: Path,
        *,
        role: str,
        device: str,
        confidence: float,
        iou: float = 0.5,
        image_size_px: int = 640,
    ) -> YoloDetector:
        """Load weights from ``path``; ``role`` names the model in errors."""
        from ultralytics.models.yolo import YOLO
        from ultralytics.utils import LOGGER

        LOGGER.setLevel(logging.WARNING)  # it logs every model load at INFO
        try:
            model = YOLO(str(path), task="detect")
        except Exception as exc:  # ultralytics raises many types for a bad file
            raise ModelCorruptError(f"model for role '{role}' at {path} does not load: {exc}") from exc
        return cls(model, device=device, confidence=confidence, iou=iou, image_size_px=image_size_px)

    @property
    def class_names(self) -> dict[int, str]:
        """Class ids to names, as stored in the weights."""
        return dict(self._model.names)

    def detect(self, images: Sequence[Image]) -> list[Detections]:
        """Detections for each image, boxes in that image's pixels."""
        if not images:
            return []
        results = self._model.predict(
            list(images),
            conf=self.confidence,
            iou=self.iou,
            imgsz=self.image_size_px,
            device=self.device,
            verbose=False,
        )
        out = []
        for result in results:
            boxes = result.boxes
            out.append(
                Detections(
                    xyxy=boxes.xyxy.cpu().numpy().astype(np.float32).reshape(-1, 4),
                    confidence=boxes.conf.cpu().numpy().astype(np.float32),
                    class_id=boxes.cls.cpu().numpy().astype(np.int64),
                )
            )
        return out
