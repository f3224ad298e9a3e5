"""Factories that build the face and plate analyzers from a model store and plain settings."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from serve.canvas import Canvas
from serve.device import limit_library_threads, resolve_device
from serve.face_analyzer import FaceAnalyzer
from serve.face_embedder import SFaceEmbedder
from serve.face_landmarks import YuNetLandmarker
from serve.face_policy import FacePolicy
from serve.models.registry import ModelRole
from serve.models.store import ModelStore
from serve.ocr_recognizer import EasyOcrRecognizer
from serve.plate_analyzer import PlateAnalyzer
from serve.plate_options import OcrBackend
from serve.plate_reader import LineRecognizer, PlateReader
from serve.plate_text import PlateFormat
from serve.rapid_recognizer import RapidOcrRecognizer
from serve.yolo_detector import YoloDetector


@dataclass(frozen=True)
class FaceSettings:
    """How faces are detected and which are embedded; built from the config (``face_settings()``)."""

    detector_confidence: float
    detector_canvas: Canvas
    detector_int8: bool  # on the CPU, the int8 version of the detector
    policy: FacePolicy


@dataclass(frozen=True)
class PlateSettings:
    """How plates are detected and read; built from the config (``plate_settings()``)."""

    detector_confidence: float
    detector_canvas: Canvas
    detector_int8: bool  # on the CPU, the int8 version of the detector
    formats: Sequence[PlateFormat]
    max_corrections: int
    ocr_views: int  # crops of each plate read and voted over (serve.plate_options.VIEW_SCALES)
    ocr_backend: OcrBackend  # the text-line recogniser
    ocr_whole_crop: bool  # also read the whole crop as one line, one more read in the vote


def build_face_detector(
    store: ModelStore, device: str, settings: FaceSettings, *, cpu_threads: int | None = None
) -> YoloDetector:
    """The YOLO face detector (onnxruntime); ``cpu_threads`` ``None`` keeps the libraries' defaults."""
    return _build_detector(store, ModelRole.FACE_DETECTOR, device, settings, cpu_threads)


def build_face_analyzer(
    store: ModelStore, device: str, settings: FaceSettings, *, cpu_threads: int | None = None
) -> FaceAnalyzer:
    """Face detector, landmarker and embedder on ``device`` (auto, cpu, cuda), ``cpu_threads`` each."""
    resolved = resolve_device(device)
    return FaceAnalyzer(
        detector=build_face_detector(store, resolved, settings, cpu_threads=cpu_threads),
        landmarker=YuNetLandmarker.load(store.path(ModelRole.FACE_LANDMARKS)),
        embedder=SFaceEmbedder.load(
            store.path(ModelRole.FACE_EMBEDDER), device=resolved, cpu_threads=cpu_threads
        ),
        policy=settings.policy,
    )


def build_plate_detector(
    store: ModelStore, device: str, settings: PlateSettings, *, cpu_threads: int | None = None
) -> YoloDetector:
    """The YOLO plate detector (onnxruntime, exported once from the pinned ``.pt``)."""
    return _build_detector(store, ModelRole.PLATE_DETECTOR, device, settings, cpu_threads)


def _build_detector(
    store: ModelStore,
    role: ModelRole,
    device: str,
    settings: FaceSettings | PlateSettings,
    cpu_threads: int | None,
) -> YoloDetector:
    limit_library_threads(cpu_threads)  # OpenCV letterboxes inside the detector
    resolved = resolve_device(device)
    int8 = settings.detector_int8 and resolved == "cpu"  # int8 QDQ pays on the CPU; a GPU runs float
    return YoloDetector.load(
        store.int8_path(role) if int8 else store.onnx_path(role),
        role=role.value,
        device=resolved,
        canvas=settings.detector_canvas,
        confidence=settings.detector_confidence,
        cpu_threads=cpu_threads,
    )


def build_plate_reader(
    store: ModelStore, device: str, settings: PlateSettings, *, cpu_threads: int | None = None
) -> PlateReader:
    """The configured recogniser on the cached weights (no CRAFT: lines come from serve.plate_lines)."""
    limit_library_threads(cpu_threads)  # torch runs EasyOCR's recogniser, OpenCV resizes the lines
    recognizer = build_line_recognizer(store, device, settings.ocr_backend, cpu_threads=cpu_threads)
    return PlateReader(recognizer, settings.ocr_views, whole_crop=settings.ocr_whole_crop)


def build_line_recognizer(
    store: ModelStore, device: str, backend: OcrBackend, *, cpu_threads: int | None = None
) -> LineRecognizer:
    """``backend``'s text-line recogniser on ``device``: EasyOCR's (torch) or PP-OCRv6 (onnxruntime)."""
    resolved = resolve_device(device)
    if backend == "rapidocr":
        path = store.path(ModelRole.RAPIDOCR_RECOGNIZER)
        return RapidOcrRecognizer.load(path, device=resolved, cpu_threads=cpu_threads)
    return EasyOcrRecognizer.load(
        store.path(ModelRole.OCR_RECOGNIZER),
        links_root=store.cache_dir / "easyocr",
        device=resolved,
        cpu_threads=cpu_threads,
    )


def build_plate_analyzer(
    store: ModelStore, device: str, settings: PlateSettings, *, cpu_threads: int | None = None
) -> PlateAnalyzer:
    """Plate detector and reader on ``device``, ``cpu_threads`` each (torch's pool too, for OCR)."""
    resolved = resolve_device(device)
    return PlateAnalyzer(
        detector=build_plate_detector(store, resolved, settings, cpu_threads=cpu_threads),
        reader=build_plate_reader(store, resolved, settings),
        formats=settings.formats,
        max_corrections=settings.max_corrections,
    )
