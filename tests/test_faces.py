"""The real face models on the bundled portraits."""

from __future__ import annotations

import itertools

import cv2
import numpy as np
import onnx
import pytest

from cluster.config.faces import DEFAULT_MATCH_THRESHOLD
from serve.face_align import TEMPLATE_112, similarity_transform
from serve.face_analyzer import FaceAnalyzer
from serve.face_embedder import SFaceEmbedder, prepare_sface_graph
from serve.imaging import Image
from serve.models.registry import ModelRole
from serve.models.store import ModelStore
from tests.conftest import GENUINE_PAIRS

pytestmark = pytest.mark.models


def _embedding(analyzer: FaceAnalyzer, image: Image) -> np.ndarray:
    [[(crop, face)]] = analyzer.analyze([image])
    assert face is not None, f"face not embedded, quality {crop.quality}"
    return face.embedding


def test_exactly_one_face_found_in_every_portrait(
    face_analyzer: FaceAnalyzer, portraits: dict[str, Image]
) -> None:
    detections = face_analyzer.detect(list(portraits.values()))
    assert [len(d) for d in detections] == [1] * len(portraits)
    for (name, image), dets in zip(portraits.items(), detections, strict=True):
        [crop] = face_analyzer.crops(image, dets)
        assert not np.isnan(crop.landmarks).any(), name
        x1, _, x2, _ = crop.xyxy
        # Landmarks fall inside the face box: the eyes above the mouth.
        assert (crop.landmarks[:, 0] > x1).all() and (crop.landmarks[:, 0] < x2).all(), name
        assert crop.landmarks[:2, 1].max() < crop.landmarks[3:, 1].min(), name
        assert crop.aligned.shape == (112, 112, 3)
        assert crop.quality.score > 0.8, (name, crop.quality)


def test_genuine_pairs_match_and_impostors_do_not(
    face_analyzer: FaceAnalyzer, portraits: dict[str, Image]
) -> None:
    embeddings = {name: _embedding(face_analyzer, image) for name, image in portraits.items()}
    for vector in embeddings.values():
        assert abs(float(np.linalg.norm(vector)) - 1.0) < 1e-5
    genuine = {frozenset(pair) for pair in GENUINE_PAIRS}
    for a, b in itertools.combinations(sorted(embeddings), 2):
        similarity = float(embeddings[a] @ embeddings[b])
        if frozenset((a, b)) in genuine:
            assert similarity >= DEFAULT_MATCH_THRESHOLD, (a, b, similarity)
        else:
            assert similarity < DEFAULT_MATCH_THRESHOLD - 0.15, (a, b, similarity)


def test_batched_embeddings_equal_opencv_reference(
    face_analyzer: FaceAnalyzer, portraits: dict[str, Image], model_store: ModelStore
) -> None:
    images = list(portraits.values())
    crops = [
        c
        for image, dets in zip(images, face_analyzer.detect(images), strict=True)
        for c in face_analyzer.crops(image, dets)
    ]
    batched = face_analyzer.embedder.embed([c.aligned for c in crops])
    reference = cv2.FaceRecognizerSF.create(str(model_store.path(ModelRole.FACE_EMBEDDER)), "")
    for crop, vector in zip(crops, batched, strict=True):
        feature = np.asarray(reference.feature(crop.aligned), np.float32).ravel()
        expected = feature / np.linalg.norm(feature)
        np.testing.assert_allclose(vector, expected, atol=1e-4)


def test_sface_weights_are_dequantized_once_at_load(model_store: ModelStore) -> None:
    shipped = model_store.path(ModelRole.FACE_EMBEDDER).read_bytes()
    assert "DequantizeLinear" in {node.op_type for node in onnx.load_from_string(shipped).graph.node}

    prepared = onnx.load_from_string(prepare_sface_graph(shipped))

    assert "DequantizeLinear" not in {node.op_type for node in prepared.graph.node}


def test_blur_and_size_lower_quality(face_analyzer: FaceAnalyzer, portraits: dict[str, Image]) -> None:
    image = portraits["person_b_1.jpg"]
    blurred = np.asarray(cv2.GaussianBlur(image, (0, 0), 6), np.uint8)
    small = np.asarray(cv2.resize(image, None, fx=0.08, fy=0.08, interpolation=cv2.INTER_AREA), np.uint8)
    [sharp_crop] = face_analyzer.crops(image, face_analyzer.detect([image])[0])
    [blur_crop] = face_analyzer.crops(blurred, face_analyzer.detect([blurred])[0])
    assert blur_crop.quality.sharpness < sharp_crop.quality.sharpness / 10
    assert blur_crop.quality.score < sharp_crop.quality.score
    small_dets = face_analyzer.detect([small])[0]
    for crop in face_analyzer.crops(small, small_dets):
        assert crop.quality.size_px < 30
        assert not face_analyzer.is_usable(crop) or crop.quality.score < sharp_crop.quality.score


def test_similarity_transform_recovers_a_known_transform() -> None:
    angle, scale, shift = np.deg2rad(17.0), 2.5, np.array([40.0, -12.0])
    rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    source = TEMPLATE_112
    target = scale * source @ rotation.T + shift
    matrix = similarity_transform(source, target)
    np.testing.assert_allclose(matrix[:, :2], scale * rotation, atol=1e-9)
    np.testing.assert_allclose(matrix[:, 2], shift, atol=1e-9)


def test_embedder_rejects_unaligned_input(face_analyzer: FaceAnalyzer) -> None:
    embedder: SFaceEmbedder = face_analyzer.embedder
    with pytest.raises(ValueError, match="112x112x3"):
        embedder.embed([np.zeros((100, 100, 3), np.uint8)])
    assert embedder.embed([]).shape == (0, 128)
