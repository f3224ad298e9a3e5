"""``plates:`` plate detection, accepted formats and OCR correction."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import Field, ValidationInfo, field_validator

from cluster.config.base import Section
from serve.plate_options import MAX_VIEWS, OcrBackend
from serve.plate_text import DEFAULT_PLATE_FORMATS, PlateFormat

if TYPE_CHECKING:  # the serve factories import OpenCV and onnx: loaded when settings are built
    from serve.canvas import Canvas
    from serve.perception import PlateSettings


class PlateFormatConfig(Section):
    """A named plate format: a regular expression over the normalised text (A-Z, 0-9, no separators)."""

    name: str = Field(min_length=1, description="Name of the format, shown with reads that fit it.")
    pattern: str = Field(min_length=1, description="Regular expression over the normalised text (A-Z, 0-9).")

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, pattern: str, info: ValidationInfo) -> str:
        PlateFormat(str(info.data.get("name") or "unnamed"), pattern)
        return pattern


class PlatesConfig(Section):
    """How plates are found and read."""

    detector_confidence: float = Field(0.4, gt=0, lt=1, description="Minimum YOLO plate score.")
    formats: list[PlateFormatConfig] = Field(
        default_factory=lambda: [
            PlateFormatConfig(name=f.name, pattern=f.pattern) for f in DEFAULT_PLATE_FORMATS
        ],
        min_length=1,
        description=(
            "Plate formats of the region; a read is fitted to the cheapest, then longest, then first."
            " Defaults: Pakistani ABC-1234, ABC-123, AB-1234, AB-123."
        ),
    )
    max_corrections: int = Field(
        2,
        ge=0,
        le=4,
        description=(
            "Most changes made to fit a read to a format: OCR-confusion swaps (0/O, 1/I, ...) and"
            " stray characters dropped from its ends."
        ),
    )

    ocr_views: int = Field(
        1,
        ge=1,
        le=MAX_VIEWS,
        description=(
            "Crops of each plate (box scaled 1.0, 1.04, 0.96) read and voted over; each costs one"
            " recogniser pass. 3 views read 84.0% of generated plates exactly against 82.2% for 1,"
            " at 2.4x the cost (`safecity bench plates`); a plate track votes over its frames anyway."
        ),
    )

    ocr_backend: OcrBackend = Field(
        "easyocr",
        description=(
            "Text-line recogniser: easyocr (EasyOCR's English g2, torch) or rapidocr (PaddleOCR's"
            " PP-OCRv6 small from the rapidocr 3.10.0 wheel, onnxruntime, 21 MB, pinned like the other"
            " models). On 600 generated plates (`safecity bench plates`, seeds 0-2) rapidocr read 91.7%"
            " exactly against 82.2% for easyocr, at 69-79 plates/s against 40-48 on 2 CPU cores."
        ),
    )
    ocr_whole_crop: bool = Field(
        False,
        description=(
            "Also read the whole plate crop as one line, in the same recogniser call, and vote over it"
            " with the line reads. With rapidocr it read 97.0% of 600 generated plates exactly against"
            " 91.7% without, at 48-53 plates/s (1.5x the cost); easyocr gains nothing from it (82.0%)."
        ),
    )

    def plate_formats(self) -> tuple[PlateFormat, ...]:
        """The formats as the plate vote uses them."""
        return tuple(PlateFormat(f.name, f.pattern) for f in self.formats)

    def settings(self, detector_canvas: Canvas, detector_int8: bool) -> PlateSettings:
        """The serve layer's view, with the detector canvas and precision of the ``models`` section."""
        from serve.perception import PlateSettings

        return PlateSettings(
            detector_confidence=self.detector_confidence,
            detector_canvas=detector_canvas,
            detector_int8=detector_int8,
            formats=self.plate_formats(),
            max_corrections=self.max_corrections,
            ocr_views=self.ocr_views,
            ocr_backend=self.ocr_backend,
            ocr_whole_crop=self.ocr_whole_crop,
        )
