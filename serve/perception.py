"""Factories that build the face and plate analyzers from a model store and plain settings."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from serve.device import onnx_providers, resolve_device
from serve.face_analyzer import FaceAnalyzer, FacePolicy
from serve.face_embedder import SFaceEmbedder
from serve.face_landmarks import YuNetLandmarker
from serve.models.registry import ModelRole
from serve.models.store import ModelStore
from serve.plate_analyzer import PlateAnalyzer
from serve.plate_reader import DEFAULT_OCR_VIEWS, EasyOcrPlateReader, OcrView
from serve.plate_text import DEFAULT_PLATE_FORMATS, PlateFormat
from serve.yolo_detector import YoloDetector


@dataclass(frozen=True)
class FaceSettings:
    """How faces are detected and which are embedded."""

    detector_confidence: float = 0.4
    detector_image_size_px: int = 640
    policy: FacePolicy = field(default_factory=FacePolicy)


@dataclass(frozen=True)
class PlateSettings:
    """How plates are detected and read."""

    detector_confidence: float = 0.4
    detector_image_size_px: int = 640
    formats: Sequence[PlateFormat] = DEFAULT_PLATE_FORMATS
    max_corrections: int = 2
    ocr_views: Sequence[OcrView] = DEFAULT_OCR_VIEWS


def build_face_detector(store: ModelStore, device: str, settings: FaceSettings) -> YoloDetector:
    """The YOLO face detector."""
    return YoloDetector.load(
        store.path(ModelRole.FACE_DETECTOR),
        role=ModelRole.FACE_DETECTOR.value,
        device=resolve_device(device),
        confidence=settings.detector_confidence,
        image_size_px=settings.detector_image_size_px,
    )


def build_face_analyzer(store: ModelStore, device: str, settings: FaceSettings) -> FaceAnalyzer:
    """Face detector, landmarker and embedder on ``device`` (auto, cpu, cuda)."""
    resolved = resolve_device(device)
    return FaceAnalyzer(
        detector=build_face_detector(store, resolved, settings),
        landmarker=YuNetLandmarker.load(store.path(ModelRole.FACE_LANDMARKS)),
        embedder=SFaceEmbedder.load(store.path(ModelRole.FACE_EMBEDDER), providers=onnx_providers(resolved)),
        policy=settings.policy,
    )


def build_plate_detector(store: ModelStore, device: str, settings: PlateSettings) -> YoloDetector:
    """The YOLO plate detector."""
    return YoloDetector.load(
        store.path(ModelRole.PLATE_DETECTOR),
        role=ModelRole.PLATE_DETECTOR.value,
        device=resolve_device(device),
        confidence=settings.detector_confidence,
        image_size_px=settings.detector_image_size_px,
    )


def build_plate_reader(
    store: ModelStore, device: str, views: Sequence[OcrView] = DEFAULT_OCR_VIEWS
) -> EasyOcrPlateReader:
    """EasyOCR from the cached CRAFT and recogniser weights."""
    return EasyOcrPlateReader.load(
        store.path(ModelRole.OCR_DETECTOR),
        store.path(ModelRole.OCR_RECOGNIZER),
        links_root=store.cache_dir / "easyocr",
        device=resolve_device(device),
        views=views,
    )


def build_plate_analyzer(store: ModelStore, device: str, settings: PlateSettings) -> PlateAnalyzer:
    """Plate detector and reader on ``device``."""
    resolved = resolve_device(device)
    return PlateAnalyzer(
        detector=build_plate_detector(store, resolved, settings),
        reader=build_plate_reader(store, resolved, settings.ocr_views),
        formats=settings.formats,
        max_corrections=settings.max_corrections,
    )
