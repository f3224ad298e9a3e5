"""Face quality: is a face large, sharp, confidently detected and frontal enough to recognise?"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from serve.imaging import Image, laplacian_variance
from serve.types import Box, FaceQuality


@dataclass(frozen=True)
class QualityScale:
    """Values at which each part of the score saturates at 1.

    Measured on the bundled portraits (aligned 112x112 crops): sharp faces have a Laplacian variance
    of 250 to 3,600; blurred with a Gaussian of sigma 5 px (about 2 px at the aligned scale) they fall
    to 39-65, with sigma 8 px to 14-22.
    """

    full_size_px: float = 80.0
    full_sharpness: float = 150.0


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
