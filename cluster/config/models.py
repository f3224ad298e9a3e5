"""``models:`` where weights come from, and the device they run on."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import Field, field_validator, model_validator

from cluster.config.base import Section
from serve.canvas import DEFAULT_CANVAS, STRIDE_PX, Canvas
from serve.models.registry import DEFAULT_CACHE_DIR, ModelRole

if TYPE_CHECKING:  # the store imports httpx and the exporters: loaded when a source is built
    from serve.models.store import ModelSource

_CANVAS_RANGE_PX = (160, 1920)


class ModelFile(Section):
    """The operator's own file for one model role, instead of the pinned default."""

    path: Path | None = Field(None, description="Local path of the weights file.")
    url: str | None = Field(
        None, description="http(s) URL to download the weights from, once, into the cache."
    )
    sha256: str | None = Field(
        None, pattern=r"^[0-9a-f]{64}$", description="Expected SHA-256; the file is refused if it differs."
    )

    @model_validator(mode="after")
    def _one_source(self) -> ModelFile:
        if (self.path is None) == (self.url is None):
            raise ValueError("give exactly one of path or url")
        if self.url is not None and not self.url.startswith(("http://", "https://")):
            raise ValueError("url must start with http:// or https://")
        return self

    def to_source(self) -> ModelSource:
        """The store's view of this override."""
        from serve.models.store import ModelSource

        return ModelSource(path=self.path, url=self.url, sha256=self.sha256)


class ModelsConfig(Section):
    """Model weights and compute device."""

    cache_dir: Path = Field(DEFAULT_CACHE_DIR, description="Where pulled weights are kept (per node).")
    device: str = Field(
        "auto", pattern=r"^(auto|cpu|cuda(:\d+)?)$", description="auto picks a GPU when torch sees one."
    )
    auto_pull: bool = Field(True, description="Pull missing default weights on first use.")
    detector_canvas_px: tuple[int, int] = Field(
        (DEFAULT_CANVAS.width_px, DEFAULT_CANVAS.height_px),
        description="[width, height] the face and plate detectors run at, multiples of 32; frames are "
        "letterboxed onto it. [640, 384] fits 16:9 cameras, [640, 480] 4:3.",
    )
    detector_int8: bool = Field(
        True,
        description="On the CPU, run the face and plate detectors' int8 versions (quantized once per node "
        "into cache_dir, calibrated on bundled frames): about 2x faster, the same detections on the "
        "test frames (`safecity bench stages`). A GPU always runs the float graph.",
    )
    face_detector: ModelFile | None = Field(
        None, description="Own weights for the YOLO face detector (default: pinned)."
    )
    face_landmarks: ModelFile | None = Field(
        None, description="Own weights for the YuNet face landmark model (default: pinned)."
    )
    face_embedder: ModelFile | None = Field(
        None, description="Own weights for the SFace embedder (default: pinned)."
    )
    plate_detector: ModelFile | None = Field(
        None, description="Own weights for the YOLO plate detector (default: pinned)."
    )
    ocr_detector: ModelFile | None = Field(
        None, description="Own weights for EasyOCR's text detector (default: pinned)."
    )
    ocr_recognizer: ModelFile | None = Field(
        None, description="Own weights for EasyOCR's text-line recogniser (default: pinned)."
    )
    rapidocr_recognizer: ModelFile | None = Field(
        None, description="Own weights for RapidOCR's text-line recogniser (default: pinned)."
    )

    @field_validator("detector_canvas_px")
    @classmethod
    def _on_stride(cls, size: tuple[int, int]) -> tuple[int, int]:
        low, high = _CANVAS_RANGE_PX
        if not all(low <= side <= high and side % STRIDE_PX == 0 for side in size):
            raise ValueError(
                f"width and height must be multiples of {STRIDE_PX} from {low} to {high}, "
                f"got [{size[0]}, {size[1]}]"
            )
        return size

    def detector_canvas(self) -> Canvas:
        """The detectors' input canvas."""
        return Canvas(*self.detector_canvas_px)

    def overrides(self) -> dict[ModelRole, ModelSource]:
        """Roles the operator pointed at their own files."""
        out = {}
        for role in ModelRole:
            value = getattr(self, role.value)
            if value is not None:
                out[role] = value.to_source()
        return out
