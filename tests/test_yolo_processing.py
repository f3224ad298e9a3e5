"""YOLO pre- and post-processing without the model: blob, NMS, decoding, and the detector's plumbing."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from numpy.typing import NDArray

from serve.canvas import DEFAULT_CANVAS, Canvas
from serve.errors import ConfigError, ModelCorruptError
from serve.letterbox import LetterboxTransform, letterbox
from serve.yolo_detector import YoloDetector
from serve.yolo_processing import decode_batch, decode_image, nms, to_blob, to_canvases


def raw_output(boxes: Sequence[tuple[float, float, float, float]], scores: Sequence[Sequence[float]]) -> Any:
    """A (4 + classes, anchors) output from centre-size boxes and per-class scores, one anchor each."""
    columns = [[*box, *score] for box, score in zip(boxes, scores, strict=True)]
    return np.asarray(columns, np.float32).T


# --- NMS ---------------------------------------------------------------------------------------------


def test_nms_keeps_the_best_of_overlapping_boxes_and_all_separate_ones() -> None:
    xyxy = np.array(
        [[0, 0, 10, 10], [1, 0, 11, 10], [20, 20, 30, 30], [0, 0, 10, 10.5]], np.float32
    )  # boxes 0, 1 and 3 overlap each other at IoU 0.78 to 0.95
    scores = np.array([0.8, 0.9, 0.5, 0.7], np.float32)
    assert nms(xyxy, scores, 0.5).tolist() == [1, 2]
    assert nms(xyxy, scores, 0.99).tolist() == [1, 0, 3, 2], "below the threshold nothing is suppressed"


def test_nms_threshold_is_strict_and_empty_input_is_fine() -> None:
    xyxy = np.array([[0, 0, 10, 10], [5, 0, 15, 10]], np.float32)  # IoU exactly 1/3
    scores = np.array([0.9, 0.8], np.float32)
    assert nms(xyxy, scores, 1 / 3).tolist() == [0, 1]
    assert nms(xyxy, scores, 0.3).tolist() == [0]
    assert nms(np.zeros((0, 4), np.float32), np.zeros(0, np.float32), 0.5).tolist() == []


# --- decoding ----------------------------------------------------------------------------------------


def test_decode_turns_centre_size_into_corners_and_drops_low_scores() -> None:
    raw = raw_output([(50, 40, 20, 10), (200, 100, 40, 40), (300, 300, 10, 10)], [[0.9], [0.3], [0.41]])
    found = decode_image(raw, confidence=0.4, iou=0.5)
    assert found.xyxy.tolist() == [[40, 35, 60, 45], [295, 295, 305, 305]]
    assert found.confidence.tolist() == pytest.approx([0.9, 0.41])
    assert found.class_id.tolist() == [0, 0]


def test_decode_is_class_aware_unless_told_otherwise() -> None:
    # Two classes: a box scored for class 1, and the same box a little lower for class 0.
    raw = raw_output(
        [(50, 50, 20, 20), (51, 50, 20, 20), (52, 50, 20, 20)], [[0.1, 0.8], [0.7, 0.2], [0.6, 0]]
    )
    aware = decode_image(raw, confidence=0.4, iou=0.5)
    assert aware.class_id.tolist() == [1, 0] and aware.confidence.tolist() == pytest.approx([0.8, 0.7])
    agnostic = decode_image(raw, confidence=0.4, iou=0.5, class_agnostic=True)
    assert agnostic.class_id.tolist() == [1]


def test_decode_caps_detections_and_refuses_a_wrong_shape() -> None:
    boxes = [(20.0 * i + 10, 10, 10, 10) for i in range(10)]
    raw = raw_output(boxes, [[0.5 + i / 100] for i in range(10)])
    capped = decode_image(raw, confidence=0.4, iou=0.5, max_det=3)
    assert capped.confidence.tolist() == pytest.approx([0.59, 0.58, 0.57])
    assert len(decode_image(raw, confidence=0.95, iou=0.5)) == 0
    with pytest.raises(ValueError, match="4 \\+ classes"):
        decode_image(np.zeros((4, 10), np.float32), confidence=0.4, iou=0.5)


def test_decode_batch_maps_boxes_back_to_each_source_image() -> None:
    _, frame = letterbox(np.zeros((720, 1280, 3), np.uint8), DEFAULT_CANVAS)  # scale 0.5, 12 px bands
    on_canvas = LetterboxTransform.identity(640, 384)
    raw = raw_output([(100, 62, 20, 20)], [[0.9]])
    output = np.stack([raw, raw])
    from_frame, from_canvas = decode_batch(output, [frame, on_canvas], confidence=0.4, iou=0.5)
    assert from_frame.xyxy.tolist() == [[180, 80, 220, 120]]
    assert from_canvas.xyxy.tolist() == [[90, 52, 110, 72]]
    with pytest.raises(ValueError, match="expected a \\(1, 4"):
        decode_batch(output, [frame], confidence=0.4, iou=0.5)


# --- pre-processing ----------------------------------------------------------------------------------


def test_images_already_on_the_canvas_are_not_letterboxed_again() -> None:
    on_canvas = np.zeros(DEFAULT_CANVAS.shape, np.uint8)
    frame = np.zeros((1080, 1920, 3), np.uint8)
    placed, transforms = to_canvases([on_canvas, frame], DEFAULT_CANVAS)
    assert placed[0] is on_canvas and transforms[0] == LetterboxTransform.identity(640, 384)
    assert placed[1].shape == DEFAULT_CANVAS.shape and transforms[1].scale == pytest.approx(1 / 3)


def test_blob_is_rgb_unit_range_nchw() -> None:
    image = np.zeros((64, 96, 3), np.uint8)
    image[..., 0], image[..., 1], image[..., 2] = 255, 51, 0  # BGR: pure blue with a little green
    blob = to_blob([image, image])
    assert blob.shape == (2, 3, 64, 96) and blob.dtype == np.float32
    assert blob[0, :, 10, 10].tolist() == pytest.approx([0.0, 0.2, 1.0])


# --- the detector around a fake session --------------------------------------------------------------


@dataclass
class FakeInput:
    name: str
    shape: list[int | str]


@dataclass
class FakeSession:
    """Answers every image with one box at canvas (100, 62), recording the blobs it was given."""

    shape: list[int | str] = field(default_factory=lambda: ["batch", 3, "height", "width"])
    blobs: list[NDArray[np.float32]] = field(default_factory=list)

    def get_inputs(self) -> list[FakeInput]:
        return [FakeInput("images", self.shape)]

    def run(self, outputs: None, feeds: dict[str, NDArray[np.float32]]) -> list[Any]:
        blob = feeds["images"]
        self.blobs.append(blob)
        return [np.stack([raw_output([(100, 62, 20, 20)], [[0.9]])] * len(blob))]


def test_detector_batches_on_its_canvas_and_answers_in_image_pixels() -> None:
    session = FakeSession()
    detector = YoloDetector(
        session, role="plate_detector", device="cpu", canvas=DEFAULT_CANVAS, confidence=0.4
    )
    frames = [np.zeros((720, 1280, 3), np.uint8), np.zeros(DEFAULT_CANVAS.shape, np.uint8)]
    found = detector.detect(frames)
    assert [blob.shape for blob in session.blobs] == [(2, 3, 384, 640)]
    assert [d.xyxy.tolist() for d in found] == [[[180, 80, 220, 120]], [[90, 52, 110, 72]]]
    assert detector.detect([]) == []
    assert detector.warm_up().xyxy.tolist() == [[90, 52, 110, 72]]
    assert session.blobs[-1].shape == (1, 3, 384, 640)


def test_detector_runs_a_fixed_batch_graph_in_chunks() -> None:
    session = FakeSession(shape=[1, 3, "height", "width"])
    detector = YoloDetector(
        session, role="face_detector", device="cpu", canvas=DEFAULT_CANVAS, confidence=0.4
    )
    assert len(detector.detect([np.zeros((720, 1280, 3), np.uint8)] * 3)) == 3
    assert [blob.shape[0] for blob in session.blobs] == [1, 1, 1]


def test_detector_with_a_fixed_input_size_names_the_setting_to_change() -> None:
    session = FakeSession(shape=[1, 3, 640, 640])
    with pytest.raises(ConfigError, match=r"'face_detector' takes a fixed 640x640 input.*\[640, 640\]"):
        YoloDetector(session, role="face_detector", device="cpu", canvas=DEFAULT_CANVAS, confidence=0.4)
    YoloDetector(session, role="face_detector", device="cpu", canvas=Canvas(640, 640), confidence=0.4)


def test_a_file_that_is_not_a_model_is_refused_naming_the_role(tmp_path: Path) -> None:
    bad = tmp_path / "plates.onnx"
    bad.write_bytes(b"<html>proxy error</html>")
    with pytest.raises(ModelCorruptError, match=f"model for role 'plate_detector' at {bad} does not load"):
        YoloDetector.load(bad, role="plate_detector", device="cpu", canvas=DEFAULT_CANVAS, confidence=0.4)
