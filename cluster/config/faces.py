"""``faces:`` face detection, quality gates and the watchlist match threshold."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import Field

from actors.gallery import SCANN_MIN_SIZE
from cluster.config.base import Section
from serve.face_policy import EnrolmentPolicy, FacePolicy, QualityScale

if TYPE_CHECKING:  # the serve factories import OpenCV and onnx: loaded when settings are built
    from serve.canvas import Canvas
    from serve.perception import FaceSettings

# 1:N threshold. Genuine pairs of the bundled portraits score 0.59 and 0.74, impostors at most 0.24;
# the README's threshold table gives the false-match rate this implies at each gallery size.
DEFAULT_MATCH_THRESHOLD = 0.5
_LIVE = FacePolicy()
_ENROL = EnrolmentPolicy()


class FacesConfig(Section):
    """How faces are found, which are good enough, and when one matches a subject."""

    detector_confidence: float = Field(0.4, gt=0, lt=1, description="Minimum YOLO face score.")
    min_face_px: float = Field(
        _LIVE.min_face_px, ge=8, description="Faces smaller than this (shorter side) are not matched."
    )
    min_quality: float = Field(
        _LIVE.min_quality, ge=0, le=1, description="Faces below this quality score are not matched."
    )
    match_threshold: float = Field(
        DEFAULT_MATCH_THRESHOLD, gt=0, lt=1, description="Cosine similarity for a 1:N watchlist match."
    )
    enrol_min_face_px: float = Field(
        _ENROL.min_face_px, ge=16, description="Smallest face accepted for enrolment."
    )
    enrol_min_sharpness: float = Field(
        _ENROL.min_sharpness, ge=0, description="Least Laplacian variance accepted for enrolment."
    )
    enrol_min_quality: float = Field(
        _ENROL.min_quality, ge=0, le=1, description="Least quality score accepted for enrolment."
    )
    scann_min_size: int = Field(
        SCANN_MIN_SIZE, ge=1, description="Watchlist photos from which ScaNN replaces exact search."
    )

    def policy(self) -> FacePolicy:
        """Which live faces are embedded and matched."""
        return FacePolicy(
            min_face_px=self.min_face_px, min_quality=self.min_quality, quality_scale=QualityScale()
        )

    def settings(self, detector_canvas: Canvas, detector_int8: bool) -> FaceSettings:
        """The serve layer's view, with the detector canvas and precision of the ``models`` section."""
        from serve.perception import FaceSettings

        return FaceSettings(
            detector_confidence=self.detector_confidence,
            detector_canvas=detector_canvas,
            detector_int8=detector_int8,
            policy=self.policy(),
        )
