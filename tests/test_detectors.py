"""The real YOLO detectors in onnxruntime against ultralytics' own predictor on the bundled images.

The plate detector's ONNX file is exported here from the pinned ``.pt`` by ``pull``, as on a node.
On the same canvas the export must give the ``.pt``'s boxes and scores; on the default 640x384 canvas
the detectors must find the same objects as the old 640-pixel ultralytics path.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from serve.canvas import Canvas
from serve.imaging import Image, box_iou, read_image
from serve.letterbox import letterbox
from serve.models.exports import ExportManifest
from serve.models.files import sha256_of
from serve.models.registry import DEFAULT_ARTIFACTS, ModelRole
from serve.models.store import ModelStore
from serve.perception import build_face_detector, build_plate_detector
from serve.types import Detections
from serve.yolo_detector import YoloDetector
from tests.conftest import PLATE_SCENE
from tests.settings import face_settings, plate_settings

pytestmark = pytest.mark.models

PLATE = ModelRole.PLATE_DETECTOR
SQUARE = Canvas(640, 640)


def refuse_fetch(requirement: str, folder: Path) -> Path:
    raise AssertionError(f"nothing should be fetched, but {requirement} was requested")


@dataclass(frozen=True)
class Pulled:
    store: ModelStore
    paths: list[Path]
    weights: Path
    export: Path


@pytest.fixture(scope="module")
def pulled(model_store: ModelStore, tmp_path_factory: pytest.TempPathFactory) -> Pulled:
    """A fresh cache holding the pinned plate ``.pt``; ``pull`` exports it, fetching nothing."""
    cache = tmp_path_factory.mktemp("cache")
    weights = model_store.path(PLATE)
    (cache / PLATE.value).mkdir()
    shutil.copyfile(weights, cache / PLATE.value / weights.name)
    store = ModelStore(cache, fetch_wheel=refuse_fetch, show_progress=False)
    paths = store.pull([PLATE])
    return Pulled(store, paths, cache / PLATE.value / weights.name, store.onnx_path(PLATE))


def ultralytics_predict(weights: Path, images: list[Image]) -> list[Detections]:
    """The old path: ultralytics' predictor at 640 pixels, same thresholds as the detectors."""
    from ultralytics.models.yolo import YOLO

    model: Any = YOLO(str(weights), task="detect")
    results = model.predict(images, conf=0.4, iou=0.5, imgsz=640, device="cpu", verbose=False)
    return [
        Detections(
            r.boxes.xyxy.numpy().astype(np.float32).reshape(-1, 4),
            r.boxes.conf.numpy().astype(np.float32),
            r.boxes.cls.numpy().astype(np.int64),
        )
        for r in results
    ]


def assert_same_objects(old: Detections, new: Detections, min_iou: float, max_score_diff: float) -> None:
    assert len(new) == len(old), (old, new)
    for i in range(len(old)):
        ious = [box_iou(old.box(i), new.box(j)) for j in range(len(new))]
        best = int(np.argmax(ious))
        assert ious[best] > min_iou, (old.box(i), new.box(best), ious[best])
        assert abs(float(old.confidence[i] - new.confidence[best])) < max_score_diff, (old, new)


def test_pull_exports_the_plate_detector_once_and_verified(pulled: Pulled) -> None:
    assert pulled.paths == [pulled.weights, pulled.export]
    manifest = ExportManifest.from_json(
        pulled.export.with_name(pulled.export.name + ".manifest.json").read_text()
    )
    assert manifest.source_sha256 == DEFAULT_ARTIFACTS[PLATE].sha256
    assert manifest.export_sha256 == sha256_of(pulled.export)
    assert "ultralytics" in manifest.exporter
    exported_at = pulled.export.stat().st_mtime_ns
    assert pulled.store.pull([PLATE]) == pulled.paths
    assert pulled.export.stat().st_mtime_ns == exported_at, "a verified export is not made again"


def test_plate_export_equals_the_pytorch_weights_on_the_same_canvas(pulled: Pulled) -> None:
    canvas, _ = letterbox(read_image(PLATE_SCENE), SQUARE)
    [old] = ultralytics_predict(pulled.weights, [canvas])
    detector = YoloDetector.load(pulled.export, role=PLATE.value, device="cpu", canvas=SQUARE, confidence=0.4)
    [new] = detector.detect([canvas])
    assert len(old) == 2
    assert_same_objects(old, new, min_iou=0.99, max_score_diff=1e-3)


def test_plate_detector_on_the_default_canvas_finds_the_same_two_plates(pulled: Pulled) -> None:
    scene = read_image(PLATE_SCENE)
    [old] = ultralytics_predict(pulled.weights, [scene])
    detector = build_plate_detector(pulled.store, "cpu", plate_settings(), cpu_threads=1)
    assert detector.canvas == Canvas(640, 384)
    batch = detector.detect([scene, scene, scene])
    # The scene is 1200x784: 588x384 on the canvas against 640x418 before, so scores drop a little.
    assert_same_objects(old, batch[0], min_iou=0.9, max_score_diff=0.1)
    for other in batch[1:]:
        np.testing.assert_allclose(other.xyxy, batch[0].xyxy, atol=1e-3)


def test_face_detector_on_the_default_canvas_finds_the_same_faces(
    model_store: ModelStore, portraits: dict[str, Image]
) -> None:
    images = list(portraits.values())
    old = ultralytics_predict(model_store.path(ModelRole.FACE_DETECTOR), images)
    new = build_face_detector(model_store, "cpu", face_settings()).detect(images)
    # Portraits fit the 384-pixel height, not 640 as before: scores drop by about 0.1 (0.89 -> 0.79).
    for before, after in zip(old, new, strict=True):
        assert len(before) == 1
        assert_same_objects(before, after, min_iou=0.9, max_score_diff=0.15)


def float_and_int8(store: ModelStore, role: ModelRole) -> tuple[YoloDetector, YoloDetector]:
    def load(path: Path) -> YoloDetector:
        return YoloDetector.load(path, role=role.value, device="cpu", canvas=Canvas(640, 384), confidence=0.3)

    return load(store.onnx_path(role)), load(store.int8_path(role))


def assert_int8_keeps_the_clear_detections(float_dets: Detections, int8_dets: Detections) -> None:
    """Every detection the float graph is sure of (>= 0.5) is found by the int8 graph, in place."""
    for i in np.flatnonzero(float_dets.confidence >= 0.5):
        ious = [box_iou(float_dets.box(int(i)), int8_dets.box(j)) for j in range(len(int8_dets))]
        assert ious, f"int8 lost {float_dets.box(int(i))}"
        best = int(np.argmax(ious))
        assert ious[best] > 0.85, (float_dets.box(int(i)), int8_dets.box(best))
        assert int8_dets.confidence[best] > float_dets.confidence[i] - 0.15  # never much less sure


def test_a_made_int8_version_is_found_without_hashing_a_file_again(
    pulled: Pulled, monkeypatch: pytest.MonkeyPatch
) -> None:
    int8 = pulled.store.int8_path(PLATE)

    def no_hashing(path: Path) -> str:
        raise AssertionError(f"{path} was hashed again")

    for module in ("serve.models.files", "serve.models.exports", "serve.models.store"):
        monkeypatch.setattr(f"{module}.sha256_of", no_hashing)
    assert pulled.store.int8_path(PLATE) == int8


def test_int8_plate_detector_is_made_once_verified_and_finds_what_the_float_graph_finds(
    pulled: Pulled,
) -> None:
    from cluster.bench.plate_set import generate_plates

    int8 = pulled.store.int8_path(PLATE)
    manifest = ExportManifest.from_json(int8.with_name(int8.name + ".manifest.json").read_text())
    assert manifest.source_sha256 == sha256_of(pulled.export) and "int8 QDQ" in manifest.exporter
    made_at = int8.stat().st_mtime_ns
    assert pulled.store.int8_path(PLATE) == int8 and int8.stat().st_mtime_ns == made_at
    images = [read_image(PLATE_SCENE), *(s.image for s in generate_plates(24, seed=5))]
    as_float, as_int8 = float_and_int8(pulled.store, PLATE)
    clear = 0
    for before, after in zip(as_float.detect(images), as_int8.detect(images), strict=True):
        assert_int8_keeps_the_clear_detections(before, after)
        clear += int(np.sum(before.confidence >= 0.5))
    assert clear >= 15  # the comparison covered real plates


def test_int8_face_detector_finds_what_the_float_graph_finds(model_store: ModelStore) -> None:
    from cluster.demo_city import walk_past
    from tests.conftest import PORTRAITS

    images = [read_image(p) for p in PORTRAITS] + walk_past(PORTRAITS, 1.0, 0.2, seed=4)[::4]
    as_float, as_int8 = float_and_int8(model_store, ModelRole.FACE_DETECTOR)
    clear = 0
    for before, after in zip(as_float.detect(images), as_int8.detect(images), strict=True):
        assert_int8_keeps_the_clear_detections(before, after)
        clear += int(np.sum(before.confidence >= 0.5))
    assert clear >= 10
