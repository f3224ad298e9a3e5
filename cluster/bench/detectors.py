"""The detector rows of ``safecity bench stages``: the old path against the new one, in one run.

Old: ultralytics' predictor on frames letterboxed to the 640x640 square (the pipeline before the
fixed canvas; the plate detector as its PyTorch ``.pt``). New: the onnxruntime detectors on frames
letterboxed to ``models.detector_canvas_px``, as configured (int8 on the CPU by default); beside them
the float onnxruntime graph on the same canvas, so the int8 gain is measured in the same run. All
get frames already on their canvas, as the Serve deployments do, so the rows time detection alone.
Rounds alternate, so a load that comes and goes on a shared machine weighs on both sides alike.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cluster.runtime import Runtime
from serve.canvas import Canvas
from serve.imaging import Image
from serve.letterbox import letterbox
from serve.models.registry import ModelRole
from serve.yolo_detector import YoloDetector

OLD_CANVAS = Canvas(640, 640)

Work = Callable[[], object]
Detect = Callable[[list[Image]], object]


@dataclass(frozen=True)
class Comparison:
    """One detector at batch 1 and batch 8, old path and new."""

    stage: str
    old: tuple[float, float]
    new: tuple[float, float]
    float_graph: tuple[float, float]  # the float onnxruntime graph on the new canvas


def _ultralytics(weights: Path) -> Any:
    os.environ.setdefault("YOLO_OFFLINE", "1")
    from ultralytics.models.yolo import YOLO
    from ultralytics.utils import LOGGER

    LOGGER.setLevel(logging.WARNING)  # it logs every model load at INFO
    return YOLO(str(weights), task="detect")


def interleaved_rates(old: Work, new: Work, items: int, repeat: int) -> tuple[float, float]:
    """Items per second of ``old`` and ``new``, each warmed up, timed in alternating rounds."""
    old(), new()  # warm-up: first calls allocate
    spent = [0.0, 0.0]
    for _ in range(repeat):
        for side, work in enumerate((old, new)):
            start = time.perf_counter()
            work()
            spent[side] += time.perf_counter() - start
    return items * repeat / spent[0], items * repeat / spent[1]


def _measure(
    other: Detect, other_canvas: Canvas, new: YoloDetector, images: Sequence[Image], repeat: int
) -> tuple[tuple[float, float], tuple[float, float]]:
    """Items/s at batch 1 and batch ``len(images)`` of ``other`` (on its canvas) and ``new``, alternating."""
    other_in = [letterbox(image, other_canvas)[0] for image in images]
    new_in = [letterbox(image, new.canvas)[0] for image in images]
    n = len(images)
    other_1, new_1 = interleaved_rates(
        lambda: [other([im]) for im in other_in], lambda: [new.detect([im]) for im in new_in], n, repeat
    )
    other_n, new_n = interleaved_rates(lambda: other(other_in), lambda: new.detect(new_in), n, repeat)
    return (other_1, other_n), (new_1, new_n)


def _ultralytics_predict(model: Any, like: YoloDetector) -> Detect:
    """The ultralytics model's prediction with ``like``'s thresholds, on the CPU at 640."""

    def predict(batch: list[Image]) -> object:
        return model.predict(
            batch, conf=like.confidence, iou=like.iou, imgsz=640, device="cpu", verbose=False
        )

    return predict


def compare_detectors(
    runtime: Runtime, face_images: Sequence[Image], plate_images: Sequence[Image], repeat: int
) -> list[Comparison]:
    """Face and plate detection, old path and new, batch 1 and batch 8 (``len`` of each image list)."""
    out = []
    for stage, role, detector, images in (
        ("face detect", ModelRole.FACE_DETECTOR, runtime.faces.detector, face_images),
        ("plate detect", ModelRole.PLATE_DETECTOR, runtime.plates.detector, plate_images),
    ):
        old_model = _ultralytics(runtime.models.path(role))
        old, new = _measure(_ultralytics_predict(old_model, detector), OLD_CANVAS, detector, images, repeat)
        as_float = YoloDetector.load(
            runtime.models.onnx_path(role),
            role=role.value,
            device=detector.device,
            canvas=detector.canvas,
            confidence=detector.confidence,
            cpu_threads=None,  # as the runtime's own detectors (one thread per core)
        )
        float_graph, _ = _measure(as_float.detect, detector.canvas, detector, images, repeat)
        out.append(Comparison(stage, old, new, float_graph))
    return out


def comparison_rows(c: Comparison) -> list[tuple[str, float]]:
    """Table rows of one detector; the new path keeps the plain ``<stage>, batch N`` names."""
    return [
        (f"{c.stage}, batch 1", c.new[0]),
        (f"{c.stage}, batch 8", c.new[1]),
        (f"{c.stage}, old (ultralytics 640x640), batch 1", c.old[0]),
        (f"{c.stage}, old (ultralytics 640x640), batch 8", c.old[1]),
        (f"{c.stage}, float onnxruntime, batch 1", c.float_graph[0]),
        (f"{c.stage}, float onnxruntime, batch 8", c.float_graph[1]),
    ]


def ratio_lines(comparisons: Sequence[Comparison], canvas: Canvas) -> list[str]:
    """New over old, per detector and batch size, from the same run."""
    new_name = f"onnxruntime {canvas.width_px}x{canvas.height_px}"
    return [
        line
        for c in comparisons
        for i, size in ((0, 1), (1, 8))
        for line in (
            f"{new_name} / ultralytics 640x640, {c.stage}, batch {size}: {c.new[i] / c.old[i]:.2f}x",
            f"{new_name} as configured / float graph, {c.stage}, batch {size}: "
            f"{c.new[i] / c.float_graph[i]:.2f}x",
        )
    ]
