"""``plates:`` plate detection, accepted formats and OCR correction."""

from __future__ import annotations

from pydantic import Field, ValidationInfo, field_validator

from cluster.config.base import Section
from serve.perception import PlateSettings
from serve.plate_reader import DEFAULT_OCR_VIEWS
from serve.plate_text import DEFAULT_PLATE_FORMATS, PlateFormat


class PlateFormatConfig(Section):
    """A named plate format: a regular expression over the normalised text (A-Z, 0-9, no separators)."""

    name: str = Field(min_length=1)
    pattern: str = Field(min_length=1)

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, pattern: str, info: ValidationInfo) -> str:
        PlateFormat(str(info.data.get("name") or "unnamed"), pattern)
        return pattern


class PlatesConfig(Section):
    """How plates are found and read."""

    detector_confidence: float = Field(0.4, gt=0, lt=1, description="Minimum YOLO plate score.")
    detector_image_size_px: int = Field(640, ge=160, le=1920, multiple_of=32)
    formats: list[PlateFormatConfig] = Field(
        default_factory=lambda: [
            PlateFormatConfig(name=f.name, pattern=f.pattern) for f in DEFAULT_PLATE_FORMATS
        ],
        min_length=1,
        description="Plate formats of the region, tried in order; defaults are Pakistani formats.",
    )
    max_corrections: int = Field(
        2, ge=0, le=4, description="Most OCR-confusion swaps (0/O, 1/I, ...) made to fit a read to a format."
    )

    ocr_views: int = Field(
        len(DEFAULT_OCR_VIEWS),
        ge=1,
        le=len(DEFAULT_OCR_VIEWS),
        description="Crops of each plate that OCR reads and votes over; each costs one OCR pass.",
    )

    def settings(self) -> PlateSettings:
        """The serve layer's view."""
        return PlateSettings(
            detector_confidence=self.detector_confidence,
            detector_image_size_px=self.detector_image_size_px,
            formats=tuple(PlateFormat(f.name, f.pattern) for f in self.formats),
            max_corrections=self.max_corrections,
            ocr_views=DEFAULT_OCR_VIEWS[: self.ocr_views],
        )
