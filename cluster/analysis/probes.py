"""Score sets from photos: each photo, degraded as cameras degrade faces, searched against the watchlist.

A probe is one photo under one degradation (blur, small size, JPEG, noise, light, pose). It is
*mated* to the subject it shows (``subject_id``) and non-mated to everyone else; photos of people
not enrolled are non-mated to all. An enrolment photo is never scored against its own subject (that
would be the same picture), only against the others. A probe whose face is not found, or falls below
the live quality gate, is not searched in the live system either: it is counted, not scored.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from actors.watchlist import WatchlistSnapshot
from cluster.analysis.scores import Comparison
from serve.face_analyzer import FaceAnalyzer
from serve.imaging import Image, read_image

Degradation = Callable[[Image], Image]


def _blur(sigma: float) -> Degradation:
    return lambda image: np.asarray(cv2.GaussianBlur(image, (0, 0), sigma), np.uint8)


def _scale(factor: float) -> Degradation:
    return lambda image: np.asarray(
        cv2.resize(image, None, fx=factor, fy=factor, interpolation=cv2.INTER_AREA), np.uint8
    )


def _jpeg(quality: int) -> Degradation:
    def degrade(image: Image) -> Image:
        ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
        assert ok
        return np.asarray(cv2.imdecode(data, cv2.IMREAD_COLOR), np.uint8)

    return degrade


def _noise(sigma: float) -> Degradation:
    def degrade(image: Image) -> Image:
        rng = np.random.default_rng(int(sigma * 1000))
        return np.asarray(np.clip(image + rng.normal(0, sigma, image.shape), 0, 255), np.uint8)

    return degrade


def _gain(factor: float) -> Degradation:
    return lambda image: np.asarray(np.clip(image.astype(np.float32) * factor, 0, 255), np.uint8)


def _rotate(degrees: float) -> Degradation:
    def degrade(image: Image) -> Image:
        h, w = image.shape[:2]
        matrix = cv2.getRotationMatrix2D((w / 2, h / 2), degrees, 1.0)
        return np.asarray(cv2.warpAffine(image, matrix, (w, h), borderMode=cv2.BORDER_REFLECT), np.uint8)

    return degrade


DEGRADATIONS: dict[str, Degradation] = {
    "original": lambda image: image,
    "blur-2": _blur(2.0),
    "blur-4": _blur(4.0),
    "scale-0.25": _scale(0.25),
    "scale-0.12": _scale(0.12),
    "jpeg-15": _jpeg(15),
    "noise-15": _noise(15.0),
    "dark-0.45": _gain(0.45),
    "bright-1.6": _gain(1.6),
    "flip": lambda image: np.ascontiguousarray(image[:, ::-1]),
    "rotate-12": _rotate(12.0),
    "rotate-minus-12": _rotate(-12.0),
    "blur-2-scale-0.25-jpeg-30": lambda image: _jpeg(30)(_scale(0.25)(_blur(2.0)(image))),
}


@dataclass(frozen=True)
class ProbePhoto:
    """A photo to search with, and who it shows (``None``: someone not on the watchlist)."""

    path: Path
    subject_id: str | None


@dataclass(frozen=True)
class ScoredProbes:
    """Comparisons made, and the probes that could not be searched (no usable face)."""

    comparisons: list[Comparison] = field(default_factory=list)
    unsearchable: list[str] = field(default_factory=list)


def photo_id(data: bytes) -> str:
    """The id the watchlist gives an enrolment photo (first 24 hex digits of its SHA-256)."""
    return hashlib.sha256(data).hexdigest()[:24]


def score_photos(
    analyzer: FaceAnalyzer,
    snapshot: WatchlistSnapshot,
    photos: Sequence[ProbePhoto],
    degradations: dict[str, Degradation] = DEGRADATIONS,
) -> ScoredProbes:
    """Every photo under every degradation, compared with every subject of ``snapshot``."""
    if len(snapshot.embeddings) == 0:
        raise ValueError("the watchlist is empty: enrol subjects before scoring probes against it")
    subjects = sorted(set(snapshot.row_subject))
    result = ScoredProbes()
    for photo in photos:
        own_photo = photo_id(photo.path.read_bytes())
        original = read_image(photo.path)
        for name, degrade in degradations.items():
            probe_id = f"{photo.path.name}:{name}"
            image = degrade(original)
            crops = [c for c in analyzer.analyze([image])[0] if c[1] is not None]
            if not crops:
                result.unsearchable.append(probe_id)
                continue
            _, face = max(crops, key=lambda pair: pair[0].quality.size_px)
            assert face is not None
            similarities = snapshot.embeddings @ face.embedding
            for subject in subjects:
                rows = [
                    i
                    for i, (s, p) in enumerate(zip(snapshot.row_subject, snapshot.row_photo, strict=True))
                    if s == subject and not (p == own_photo and s == photo.subject_id)
                ]
                if rows:
                    result.comparisons.append(
                        Comparison(
                            probe_id=probe_id,
                            photo=photo.path.name,
                            degradation=name,
                            subject_id=subject,
                            mated=subject == photo.subject_id,
                            similarity=round(float(similarities[rows].max()), 5),
                        )
                    )
    return result
