"""Faces end to end: detect, find landmarks, align to 112x112, score quality, embed."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from serve.face_align import TEMPLATE_112, align_face
from serve.face_embedder import SFaceEmbedder
from serve.face_landmarks import YuNetLandmarker
from serve.face_policy import FacePolicy
from serve.face_quality import face_quality
from serve.imaging import Image
from serve.types import Box, Detections, Face, FaceCrop
from serve.yolo_detector import YoloDetector


def landmarks_from_box(box: Box) -> NDArray[np.float32]:
    """A rough landmark guess from the box alone, used when the landmark model sees no face."""
    x1, y1, x2, y2 = box
    relative = TEMPLATE_112 / 112.0
    return np.asarray(relative * [x2 - x1, y2 - y1] + [x1, y1], dtype=np.float32)


class FaceAnalyzer:
    """Composes the face models; pure (no Ray), batch in, batch out."""

    def __init__(
        self,
        detector: YoloDetector,
        landmarker: YuNetLandmarker,
        embedder: SFaceEmbedder,
        policy: FacePolicy = FacePolicy(),
    ) -> None:
        self.detector = detector
        self.landmarker = landmarker
        self.embedder = embedder
        self.policy = policy

    def detect(self, images: Sequence[Image]) -> list[Detections]:
        """Face boxes per image."""
        return self.detector.detect(images)

    def crops(self, image: Image, detections: Detections) -> list[FaceCrop]:
        """Landmarks, aligned crop and quality for every detected face of one image."""
        return [
            self.crop(image, detections.box(i), float(detections.confidence[i]))
            for i in range(len(detections))
        ]

    def crop(self, image: Image, box: Box, score: float, size_scale: float = 1.0) -> FaceCrop:
        """Landmarks, aligned crop and quality of the face in ``box``.

        ``size_scale`` is image pixels per camera pixel, for chips cut from a larger frame and shrunk.
        """
        landmarks = self.landmarker.landmarks(image, box)
        aligned = align_face(image, landmarks if landmarks is not None else landmarks_from_box(box))
        camera_box = (box[0] / size_scale, box[1] / size_scale, box[2] / size_scale, box[3] / size_scale)
        quality = face_quality(camera_box, score, aligned, landmarks, self.policy.quality_scale)
        points = landmarks if landmarks is not None else np.full((5, 2), np.nan, np.float32)
        return FaceCrop(box, score, points, aligned, quality)

    def is_usable(self, crop: FaceCrop) -> bool:
        """Whether a face passes the policy and should be embedded and matched."""
        return (
            crop.quality.size_px >= self.policy.min_face_px and crop.quality.score >= self.policy.min_quality
        )

    def embed(self, crops: Sequence[FaceCrop]) -> list[Face]:
        """Embed crops in one batch."""
        embeddings = self.embedder.embed([c.aligned for c in crops])
        return [Face(crop, embedding) for crop, embedding in zip(crops, embeddings, strict=True)]

    def analyze(self, images: Sequence[Image]) -> list[list[tuple[FaceCrop, Face | None]]]:
        """Every face of every image, with an embedding for those that pass the policy."""
        all_crops = [self.crops(image, dets) for image, dets in zip(images, self.detect(images), strict=True)]
        usable = [c for crops in all_crops for c in crops if self.is_usable(c)]
        embedded = {id(face.crop): face for face in self.embed(usable)}
        return [[(c, embedded.get(id(c))) for c in crops] for crops in all_crops]
