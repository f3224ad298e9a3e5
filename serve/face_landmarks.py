"""Five face landmarks for each detected face box, from YuNet run on a crop around the box."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
from numpy.typing import NDArray

from serve.errors import ModelCorruptError
from serve.imaging import Image, box_iou, clip_box, expand_box
from serve.types import Box

_CROP_EXPAND = 1.6
_MAX_CROP_SIDE_PX = 320
_MIN_IOU = 0.3


class YuNetLandmarker:
    """Finds the five landmarks of the face inside each box (``None`` where YuNet sees none)."""

    def __init__(self, detector: cv2.FaceDetectorYN) -> None:
        self._detector = detector

    @classmethod
    def load(cls, path: Path, *, score_threshold: float = 0.5) -> YuNetLandmarker:
        """Load YuNet weights from ``path``."""
        try:
            detector = cv2.FaceDetectorYN.create(str(path), "", (320, 320), score_threshold, 0.3, 50)
        except cv2.error as exc:
            raise ModelCorruptError(
                f"model for role 'face_landmarks' at {path} does not load: {exc}"
            ) from exc
        return cls(detector)

    def landmarks(self, image: Image, box: Box) -> NDArray[np.float32] | None:
        """Landmarks (5, 2) in image pixels for the face in ``box``, or ``None``."""
        height, width = image.shape[:2]
        x1, y1, x2, y2 = clip_box(expand_box(box, _CROP_EXPAND), width, height)
        if x2 - x1 < 8 or y2 - y1 < 8:
            return None
        region: Image = image[y1:y2, x1:x2]
        scale = min(1.0, _MAX_CROP_SIDE_PX / max(region.shape[:2]))
        if scale < 1.0:
            region = np.asarray(cv2.resize(region, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA))
        self._detector.setInputSize((region.shape[1], region.shape[0]))
        _, faces = self._detector.detect(region)
        if faces is None or len(faces) == 0:
            return None
        target = ((box[0] - x1) * scale, (box[1] - y1) * scale, (box[2] - x1) * scale, (box[3] - y1) * scale)
        overlaps = [box_iou(target, (f[0], f[1], f[0] + f[2], f[1] + f[3])) for f in faces]
        best = int(np.argmax(overlaps))
        if overlaps[best] < _MIN_IOU:
            return None
        points = np.asarray(faces[best][4:14], np.float32).reshape(5, 2) / scale + np.array(
            [x1, y1], np.float32
        )
        return np.asarray(points, dtype=np.float32)
