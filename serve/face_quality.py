"""Face quality: is a face large, sharp, confidently detected and frontal enough to recognise?"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from serve.face_policy import QualityScale as QualityScale
from serve.imaging import Image, laplacian_variance
from serve.types import Box, FaceQuality


def frontal_score(landmarks: NDArray[np.float32] | None) -> float:
    """1 for a frontal face, falling to 0 as the nose leaves the eyes' midline (yaw); 0 without landmarks."""
    if landmarks is None:
        return 0.0
    right_eye, left_eye, nose = landmarks[0], landmarks[1], landmarks[2]
    eye_distance = float(np.linalg.norm(left_eye - right_eye))
    if eye_distance < 1e-6:
        return 0.0
    offset = abs(float(nose[0] - (right_eye[0] + left_eye[0]) / 2)) / eye_distance
    return float(np.clip(1.0 - 2.0 * offset, 0.0, 1.0))


def face_quality(
    box: Box,
    detector_score: float,
    aligned: Image,
    landmarks: NDArray[np.float32] | None,
    scale: QualityScale = QualityScale(),
) -> FaceQuality:
    """Score a face; ``score`` is the geometric mean of the four parts, each clipped to [0, 1]."""
    size_px = float(min(box[2] - box[0], box[3] - box[1]))
    sharpness = laplacian_variance(aligned)
    frontal = frontal_score(landmarks)
    parts = np.array(
        [
            min(1.0, size_px / scale.full_size_px),
            min(1.0, sharpness / scale.full_sharpness),
            float(np.clip(detector_score, 0.0, 1.0)),
            frontal,
        ]
    )
    score = float(np.prod(np.maximum(parts, 0.0)) ** (1.0 / len(parts)))
    return FaceQuality(
        size_px=size_px, sharpness=sharpness, detector_score=detector_score, frontal=frontal, score=score
    )
