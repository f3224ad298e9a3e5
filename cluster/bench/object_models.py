"""The per-object rows of ``safecity bench stages``: how the embedder and the reader run, before and now.

SFace with its int8 weights dequantised once at load (now) against at every call (the graph as
shipped), and EasyOCR's recogniser with its feature extractor in onnxruntime (now) against torch, on
the same inputs in alternating rounds, so each gain is a ratio from one run.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from cluster.bench.detectors import interleaved_rates
from cluster.runtime import Runtime
from serve.device import resolve_device
from serve.face_embedder import SFaceEmbedder
from serve.imaging import Image
from serve.models.registry import ModelRole
from serve.ocr_recognizer import EasyOcrRecognizer
from serve.plate_reader import PlateReader
from serve.types import Box, FaceCrop


@dataclass(frozen=True)
class ObjectModelComparison:
    """Items/s of one per-object stage, before and now, from alternating rounds."""

    stage: str
    unit: str
    before_name: str
    before: float
    now: float


def compare_object_models(
    runtime: Runtime,
    crops: Sequence[FaceCrop],
    plate_image: Image,
    plate_boxes: Sequence[Box],
    repeat: int,
) -> list[ObjectModelComparison]:
    """SFace one face a call, and plate reading one plate a call, each before and now."""
    store, faces, plates = runtime.models, runtime.faces, runtime.plates
    device = resolve_device(runtime.config.models.device)
    shipped = SFaceEmbedder.load(store.path(ModelRole.FACE_EMBEDDER), device=device, fold_weights=False)
    aligned = [crop.aligned for crop in crops]
    embed_before, embed_now = interleaved_rates(
        lambda: [shipped.embed([face]) for face in aligned],
        lambda: [faces.embedder.embed([face]) for face in aligned],
        len(aligned),
        repeat,
    )
    torch_recognizer = EasyOcrRecognizer.load(
        store.path(ModelRole.OCR_RECOGNIZER),
        links_root=store.cache_dir / "easyocr",
        device=device,
        onnx_on_cpu=False,
    )
    torch_reader = PlateReader(torch_recognizer, plates.reader.views, whole_crop=plates.reader.whole_crop)
    read_before, read_now = interleaved_rates(
        lambda: [torch_reader.read(plate_image, box) for box in plate_boxes],
        lambda: [plates.reader.read(plate_image, box) for box in plate_boxes],
        len(plate_boxes),
        repeat,
    )
    return [
        ObjectModelComparison(
            "SFace embedding, batch 1", "faces", "weights dequantised every call", embed_before, embed_now
        ),
        ObjectModelComparison(
            "plate OCR, one plate a call", "plates", "features in torch", read_before, read_now
        ),
    ]


def object_model_lines(comparisons: Sequence[ObjectModelComparison]) -> list[str]:
    """Now over before, per stage, from the same run."""
    return [
        f"{c.stage}: {c.now:.1f} {c.unit}/s now, {c.before:.1f} with {c.before_name}: {c.now / c.before:.2f}x"
        for c in comparisons
    ]
