"""Which faces are good enough: to be searched live, and to be enrolled.

Plain values, apart from the models that measure them, so the config names its defaults from here
without importing OpenCV or the models.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class QualityScale:
    """Values at which each part of the score saturates at 1.

    Measured on the bundled portraits (aligned 112x112 crops): sharp faces have a Laplacian variance
    of 250 to 3,600; blurred with a Gaussian of sigma 5 px (about 2 px at the aligned scale) they fall
    to 39-65, with sigma 8 px to 14-22.
    """

    full_size_px: float = 80.0
    full_sharpness: float = 150.0


@dataclass(frozen=True)
class FacePolicy:
    """Which detected faces are worth embedding."""

    min_face_px: float = 24.0
    min_quality: float = 0.35
    quality_scale: QualityScale = field(default_factory=QualityScale)


@dataclass(frozen=True)
class EnrolmentPolicy:
    """How good an enrolment photo's face must be. Stricter than live matching on purpose."""

    min_face_px: float = 64.0
    min_sharpness: float = 50.0
    min_quality: float = 0.5
