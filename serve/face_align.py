"""Five-point face alignment to the 112x112 template that ArcFace-style embedders (SFace) expect."""

from __future__ import annotations

import cv2
import numpy as np
from numpy.typing import NDArray

from serve.imaging import Image

ALIGNED_SIZE_PX = 112

# Right eye, left eye, nose tip, right mouth corner, left mouth corner (subject's sides), 112x112.
TEMPLATE_112 = np.array(
    [
        [38.2946, 51.6963],
        [73.5318, 51.5014],
        [56.0252, 71.7366],
        [41.5493, 92.3655],
        [70.7299, 92.2041],
    ],
    dtype=np.float64,
)


def similarity_transform(source: NDArray[np.float64], target: NDArray[np.float64]) -> NDArray[np.float64]:
    """Least-squares similarity (rotation, uniform scale, translation) mapping ``source`` onto ``target``.

    Umeyama's method; returns the 2x3 matrix for :func:`cv2.warpAffine`.
    """
    if source.shape != target.shape or source.ndim != 2 or source.shape[1] != 2:
        raise ValueError(f"need two (n, 2) point sets, got {source.shape} and {target.shape}")
    src_mean, dst_mean = source.mean(axis=0), target.mean(axis=0)
    src_c, dst_c = source - src_mean, target - dst_mean
    covariance = dst_c.T @ src_c / len(source)
    u, singular, vt = np.linalg.svd(covariance)
    sign = np.eye(2)
    if np.linalg.det(u) * np.linalg.det(vt) < 0:
        sign[1, 1] = -1
    rotation = u @ sign @ vt
    variance = (src_c**2).sum() / len(source)
    scale = float(np.trace(np.diag(singular) @ sign) / variance) if variance > 0 else 1.0
    translation = dst_mean - scale * rotation @ src_mean
    return np.hstack([scale * rotation, translation[:, None]])


def align_face(image: Image, landmarks: NDArray[np.float32]) -> Image:
    """Warp the face with these five landmarks (image pixels) to the 112x112 template."""
    matrix = similarity_transform(landmarks.astype(np.float64), TEMPLATE_112)
    aligned = cv2.warpAffine(
        image, matrix, (ALIGNED_SIZE_PX, ALIGNED_SIZE_PX), borderMode=cv2.BORDER_REPLICATE
    )
    return np.ascontiguousarray(aligned, dtype=np.uint8)
