"""YOLOv8 detection maths without the model: the input blob, and decoding the raw output into boxes.

The model's output is ``(batch, 4 + classes, anchors)``: per anchor a centre-size box (``cx, cy, w,
h``) in canvas pixels and one sigmoid score per class, no objectness and no NMS (ultralytics' export
layout). Decoding keeps the best class of each anchor above the confidence threshold, then greedy
NMS within each class (or over all, ``class_agnostic``), best first, at most ``max_det``.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np
from numpy.typing import NDArray

from serve.canvas import Canvas
from serve.imaging import Image
from serve.letterbox import LetterboxTransform, letterbox
from serve.types import Detections

MAX_DETECTIONS = 300
# Offsets boxes of different classes apart so one NMS pass never lets them suppress each other
# (ultralytics' trick and value: larger than any canvas side).
_CLASS_OFFSET_PX = 7680.0


def to_canvases(images: Sequence[Image], canvas: Canvas) -> tuple[list[Image], list[LetterboxTransform]]:
    """Each image on ``canvas``: as it is when it already fits, letterboxed otherwise."""
    placed: list[Image] = []
    transforms: list[LetterboxTransform] = []
    for image in images:
        if canvas.fits(image):
            placed.append(image)
            transforms.append(LetterboxTransform.identity(canvas.width_px, canvas.height_px))
        else:
            out, transform = letterbox(image, canvas)
            placed.append(out)
            transforms.append(transform)
    return placed, transforms


def to_blob(canvases: Sequence[Image]) -> NDArray[np.float32]:
    """BGR uint8 canvases of one size to the model input: RGB, 0..1, NCHW float32."""
    if not canvases:
        raise ValueError("to_blob needs at least one image")
    height, width = canvases[0].shape[:2]
    blob = cv2.dnn.blobFromImages(list(canvases), 1.0 / 255.0, (width, height), (0, 0, 0), True, False)
    return np.asarray(blob, np.float32)


def nms(xyxy: NDArray[np.float32], scores: NDArray[np.float32], iou_threshold: float) -> NDArray[np.intp]:
    """Greedy non-maximum suppression: indices of the kept boxes, best score first.

    A box is dropped when its IoU with a better kept box is above ``iou_threshold``.
    """
    order = np.argsort(-scores, kind="stable")
    x1, y1, x2, y2 = (xyxy[:, i].astype(np.float64) for i in range(4))
    areas = np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None)
    keep: list[int] = []
    while order.size:
        best, rest = int(order[0]), order[1:]
        keep.append(best)
        inter_w = np.clip(np.minimum(x2[best], x2[rest]) - np.maximum(x1[best], x1[rest]), 0, None)
        inter_h = np.clip(np.minimum(y2[best], y2[rest]) - np.maximum(y1[best], y1[rest]), 0, None)
        inter = inter_w * inter_h
        union = areas[best] + areas[rest] - inter
        iou = np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)
        order = rest[iou <= iou_threshold]
    return np.asarray(keep, np.intp)


def decode_image(
    raw: NDArray[np.float32],
    *,
    confidence: float,
    iou: float,
    class_agnostic: bool = False,
    max_det: int = MAX_DETECTIONS,
) -> Detections:
    """One image's raw output ``(4 + classes, anchors)`` to detections in canvas pixels."""
    if raw.ndim != 2 or raw.shape[0] < 5:
        raise ValueError(f"expected a (4 + classes, anchors) output, got shape {raw.shape}")
    class_scores = raw[4:]
    class_id = np.argmax(class_scores, axis=0)
    score = class_scores[class_id, np.arange(raw.shape[1])]
    keep = score > confidence
    if not keep.any():
        return Detections.empty()
    cx, cy, w, h = raw[:4, keep]
    xyxy = np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], axis=1).astype(np.float32)
    score, class_id = score[keep].astype(np.float32), class_id[keep].astype(np.int64)
    offset = 0.0 if class_agnostic else _CLASS_OFFSET_PX
    kept = nms(xyxy + (class_id * offset)[:, None].astype(np.float32), score, iou)[:max_det]
    return Detections(xyxy=xyxy[kept], confidence=score[kept], class_id=class_id[kept])


def decode_batch(
    output: NDArray[np.float32],
    transforms: Sequence[LetterboxTransform],
    *,
    confidence: float,
    iou: float,
    class_agnostic: bool = False,
    max_det: int = MAX_DETECTIONS,
) -> list[Detections]:
    """A batch's raw output ``(batch, 4 + classes, anchors)`` to detections in each source image's pixels."""
    if output.ndim != 3 or output.shape[0] != len(transforms):
        raise ValueError(f"expected a ({len(transforms)}, 4 + classes, anchors) output, got {output.shape}")
    out = []
    for raw, transform in zip(output, transforms, strict=True):
        found = decode_image(
            raw, confidence=confidence, iou=iou, class_agnostic=class_agnostic, max_det=max_det
        )
        out.append(Detections(transform.to_source(found.xyxy), found.confidence, found.class_id))
    return out
