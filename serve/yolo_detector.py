"""YOLOv8 detection (faces or plates) in onnxruntime, batch in, batch out, on a fixed canvas."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from serve.canvas import Canvas
from serve.errors import ConfigError
from serve.imaging import Image
from serve.onnx_session import open_session
from serve.types import Detections
from serve.yolo_processing import decode_batch, to_blob, to_canvases


class YoloDetector:
    """Runs one YOLOv8 ONNX graph (ultralytics' export layout) over batches of BGR images.

    Every image is placed on ``canvas`` (letterboxed unless it already is the canvas size), so a batch
    is one tensor and never pads to a square; boxes come back in each input image's own pixels.
    """

    def __init__(
        self,
        session: Any,
        *,
        role: str,
        device: str,
        canvas: Canvas,
        confidence: float,
        iou: float = 0.5,
    ) -> None:
        self._session = session
        self.role = role
        self.device = device
        self.canvas = canvas
        self.confidence = confidence
        self.iou = iou
        [model_input] = session.get_inputs()
        self._input_name: str = model_input.name
        batch, _, height, width = model_input.shape
        fixed_size = isinstance(height, int) and isinstance(width, int)
        if fixed_size and (width, height) != (canvas.width_px, canvas.height_px):
            raise ConfigError(
                f"model for role '{role}' takes a fixed {width}x{height} input, not the "
                f"{canvas.width_px}x{canvas.height_px} canvas; set models.detector_canvas_px: "
                f"[{width}, {height}] or export the model with dynamic input"
            )
        # A graph exported with a fixed batch size is run in chunks of that size.
        self._max_batch: int | None = batch if isinstance(batch, int) else None

    @classmethod
    def load(
        cls,
        path: Path,
        *,
        role: str,
        device: str,
        canvas: Canvas,
        confidence: float,
        iou: float = 0.5,
        cpu_threads: int | None = None,
    ) -> YoloDetector:
        """Load an ONNX graph from ``path``; ``role`` names the model in errors."""
        session = open_session(path, role=role, device=device, cpu_threads=cpu_threads)
        return cls(session, role=role, device=device, canvas=canvas, confidence=confidence, iou=iou)

    def detect(self, images: Sequence[Image]) -> list[Detections]:
        """Detections for each image, boxes in that image's pixels."""
        if not images:
            return []
        step = self._max_batch or len(images)
        out: list[Detections] = []
        for start in range(0, len(images), step):
            canvases, transforms = to_canvases(images[start : start + step], self.canvas)
            [raw] = self._session.run(None, {self._input_name: to_blob(canvases)})
            out.extend(
                decode_batch(
                    np.asarray(raw, np.float32), transforms, confidence=self.confidence, iou=self.iou
                )
            )
        return out

    def warm_up(self) -> Detections:
        """One pass over a blank canvas: the first real batch does not pay for allocation; a health probe."""
        [found] = self.detect([self.canvas.blank()])
        return found
