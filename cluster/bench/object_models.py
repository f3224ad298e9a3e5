"""The per-object rows of ``safecity bench stages``: how the embedder and the reader run, before and now.

SFace with its int8 weights dequantised once at load (now) against at every call (the graph as
shipped), and EasyOCR's recogniser with its feature extractor in onnxruntime (now) against torch, on
the same inputs in alternating rounds, so each gain is a ratio from one run. Both sides run on one
thread, as a model replica does at its default CPU share (``serving.*.num_cpus`` 0.25).
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
    import torch

    store, views = runtime.models, runtime.plates.reader.views
    device = resolve_device(runtime.config.models.device)
    embedder_path = store.path(ModelRole.FACE_EMBEDDER)
    recognizer_path = store.path(ModelRole.OCR_RECOGNIZER)
    shipped, folded = (
        SFaceEmbedder.load(embedder_path, device=device, cpu_threads=1, fold_weights=fold)
        for fold in (False, True)
    )
    torch_reader, onnx_reader = (
        PlateReader(
            EasyOcrRecognizer.load(
                recognizer_path,
                links_root=store.cache_dir / "easyocr",
                device=device,
                cpu_threads=1,
                onnx_features=onnx,
            ),
            views,
        )
        for onnx in (False, True)
    )
    aligned = [crop.aligned for crop in crops]
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # the recogniser's BiLSTM and head, and the torch side's features
    try:
        embed_before, embed_now = interleaved_rates(
            lambda: [shipped.embed([face]) for face in aligned],
            lambda: [folded.embed([face]) for face in aligned],
            len(aligned),
            repeat,
        )
        read_before, read_now = interleaved_rates(
            lambda: [torch_reader.read(plate_image, box) for box in plate_boxes],
            lambda: [onnx_reader.read(plate_image, box) for box in plate_boxes],
            len(plate_boxes),
            repeat,
        )
    finally:
        torch.set_num_threads(threads)
    return [
        ObjectModelComparison(
            "SFace embedding, batch 1, one thread",
            "faces",
            "weights dequantised every call",
            embed_before,
            embed_now,
        ),
        ObjectModelComparison(
            "plate OCR, one plate a call, one thread", "plates", "features in torch", read_before, read_now
        ),
    ]


def object_model_lines(comparisons: Sequence[ObjectModelComparison]) -> list[str]:
    """Now over before, per stage, from the same run."""
    return [
        f"{c.stage}: {c.now:.1f} {c.unit}/s now, {c.before:.1f} with {c.before_name}: {c.now / c.before:.2f}x"
        for c in comparisons
    ]
