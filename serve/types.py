"""Value types shared by every layer: detections, faces, plate reads and matches.

Ray-free and dependency-light on purpose: these cross process boundaries (Ray object store, Serve
requests) and sit at the bottom of the import graph. Units are in the names: ``xyxy`` is pixels in
the source image, ``*_px`` are pixels, similarities are cosines in [-1, 1].
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

Box = tuple[float, float, float, float]


@dataclass(frozen=True)
class Detections:
    """Columnar detections of one image: ``xyxy`` (n, 4), ``confidence`` (n,), ``class_id`` (n,)."""

    xyxy: NDArray[np.float32]
    confidence: NDArray[np.float32]
    class_id: NDArray[np.int64]

    def __post_init__(self) -> None:
        n = len(self.confidence)
        if self.xyxy.shape != (n, 4):
            raise ValueError(f"xyxy must have shape ({n}, 4), got {self.xyxy.shape}")
        if self.class_id.shape != (n,):
            raise ValueError(f"class_id must have shape ({n},), got {self.class_id.shape}")

    @classmethod
    def empty(cls) -> Detections:
        """No detections."""
        return cls(
            xyxy=np.zeros((0, 4), np.float32),
            confidence=np.zeros((0,), np.float32),
            class_id=np.zeros((0,), np.int64),
        )

    def __len__(self) -> int:
        return len(self.confidence)

    def box(self, index: int) -> Box:
        """The ``index``-th box as a plain tuple of floats."""
        x1, y1, x2, y2 = (float(v) for v in self.xyxy[index])
        return (x1, y1, x2, y2)


@dataclass(frozen=True)
class FaceQuality:
    """How usable a face is for recognition, each part in its own unit, ``score`` in [0, 1]."""

    size_px: float
    sharpness: float
    detector_score: float
    frontal: float
    score: float


@dataclass(frozen=True)
class FaceCrop:
    """A detected face: its box, five landmarks, the aligned 112x112 BGR crop and its quality."""

    xyxy: Box
    detector_score: float
    landmarks: NDArray[np.float32]  # (5, 2): right eye, left eye, nose, right mouth, left mouth; image px
    aligned: NDArray[np.uint8]  # (112, 112, 3) BGR
    quality: FaceQuality


@dataclass(frozen=True)
class Face:
    """A face crop with its L2-normalised embedding."""

    crop: FaceCrop
    embedding: NDArray[np.float32]  # (dim,), unit norm


@dataclass(frozen=True)
class PlateRead:
    """A detected plate and what OCR read on it.

    ``text`` is normalised (A-Z, 0-9) and, where a configured format allowed it, corrected for the
    usual OCR confusions; ``raw_text`` is what OCR returned.
    """

    xyxy: Box
    detector_score: float
    text: str
    raw_text: str
    confidence: float
    format_ok: bool
    format_name: str | None = None
    crop: NDArray[np.uint8] | None = field(default=None, repr=False, compare=False)


@dataclass(frozen=True)
class SubjectMatch:
    """A face that scored at or above its threshold against a watchlist subject."""

    subject_id: str
    label: str
    category: str
    similarity: float
    threshold: float
    photo_id: str


@dataclass(frozen=True)
class PlateMatch:
    """A plate read that matches a hotlist entry, exactly or within the allowed OCR confusions."""

    plate: str
    reason: str
    exact: bool
    read_text: str
    edits: int


@dataclass(frozen=True)
class FaceChip:
    """A small region of a full-resolution frame around one detected face, sent for embedding.

    ``box`` is the face in chip pixels; ``size_scale`` is chip pixels per frame pixel (below 1 when
    the chip was shrunk), so that face size is judged in the camera's own pixels.
    """

    image: NDArray[np.uint8]
    box: Box
    detector_score: float
    captured_at: float  # unix seconds of the frame, for shedding stale work
    size_scale: float = 1.0


@dataclass(frozen=True)
class PlateChip:
    """A region of a full-resolution frame around one detected plate, sent for OCR; ``box`` in chip pixels."""

    image: NDArray[np.uint8]
    box: Box
    detector_score: float
    captured_at: float  # unix seconds of the frame, for shedding stale work


@dataclass(frozen=True)
class DetectorFrame:
    """A letterboxed frame sent to the detectors once, saying which of them it needs.

    ``captured_at`` is the unix time its frame was captured, for shedding stale work.
    """

    canvas: NDArray[np.uint8]
    captured_at: float
    faces: bool = True
    plates: bool = True


@dataclass(frozen=True)
class FrameDetections:
    """What the detectors found on one canvas: ``None`` for a detector the frame did not ask for."""

    faces: Detections | None
    plates: Detections | None


@dataclass(frozen=True)
class Shed:
    """A model request dropped unprocessed: it was ``age_s`` old when its turn came, over the bound."""

    age_s: float


@dataclass(frozen=True)
class OcrRead:
    """One OCR view's raw text and confidence."""

    text: str
    confidence: float


@dataclass(frozen=True)
class EmbeddedFace:
    """What the embedder returns for one chip: the analysed crop, and its embedding if usable."""

    crop: FaceCrop
    embedding: NDArray[np.float32] | None
