"""The plate reader: lines of every plate to the recogniser in one call, and the real reader."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import cv2
import numpy as np
import pytest

from cluster.bench.plate_set import Layout, generate_plates
from serve.models.registry import ModelRole
from serve.models.store import ModelStore
from serve.ocr_recognizer import LINE_HEIGHT_PX, EasyOcrRecognizer
from serve.plate_lines import Grey
from serve.plate_reader import MAX_VIEWS, PlateReader
from serve.plate_text import DEFAULT_PLATE_FORMATS
from serve.plate_vote import candidate, vote
from serve.types import OcrRead


class CountingRecognizer:
    """Reads each line as its width in pixels, and remembers each call's batch size."""

    def __init__(self) -> None:
        self.calls: list[int] = []

    def recognize(self, lines: Sequence[Grey]) -> list[OcrRead]:
        self.calls.append(len(lines))
        return [OcrRead(f"W{line.shape[1]}", 0.5 + i / 100) for i, line in enumerate(lines)]


def _plate(lines: int) -> np.ndarray:
    """A light plate with ``lines`` rows of black text, in BGR."""
    plate = np.full((60 * lines + 20, 260, 3), 235, np.uint8)
    for row, text in enumerate(["ABC", "1234"][:lines] if lines < 3 else ["SINDH", "ABC", "1234"]):
        cv2.putText(plate, text, (30, 55 + 60 * row), cv2.FONT_HERSHEY_SIMPLEX, 1.8, (20, 20, 20), 5)
    return plate


def test_read_many_sends_every_line_of_every_plate_in_one_call() -> None:
    fake = CountingRecognizer()
    reader = PlateReader(fake, views=2)
    one, two = _plate(1), _plate(2)
    chips = [(one, (0.0, 0.0, 260.0, 80.0)), (two, (0.0, 0.0, 260.0, 140.0))]
    reads = reader.read_many(chips)
    assert fake.calls == [2 * (1 + 2)]  # two views each of a one-line and a two-line plate
    assert [len(views) for views in reads] == [2, 2]
    assert [len(view.text.split()) for views in reads for view in views] == [1, 1, 2, 2]
    assert all(text.startswith("W") for views in reads for view in views for text in view.text.split())
    # A view's confidence is its weakest line's.
    assert reads[1][0].confidence == pytest.approx(0.52)


def test_read_is_read_many_of_one() -> None:
    reader = PlateReader(CountingRecognizer())
    plate = _plate(1)
    assert (
        reader.read(plate, (0.0, 0.0, 260.0, 80.0)) == reader.read_many([(plate, (0.0, 0.0, 260.0, 80.0))])[0]
    )


def test_lines_are_cut_level_at_the_recognisers_height() -> None:
    reader = PlateReader(CountingRecognizer())
    lines = reader.line_images(_plate(2), (0.0, 0.0, 260.0, 140.0))
    assert len(lines) == 2 and all(line.shape[0] == LINE_HEIGHT_PX for line in lines)


def test_without_line_splitting_or_lines_the_whole_crop_is_read() -> None:
    plate = _plate(2)
    whole = PlateReader(CountingRecognizer(), split_lines=False).line_images(plate, (0.0, 0.0, 260.0, 140.0))
    assert len(whole) == 1 and whole[0].shape == (140, 260)
    blank = np.full((40, 120, 3), 200, np.uint8)
    assert len(PlateReader(CountingRecognizer()).line_images(blank, (0.0, 0.0, 120.0, 40.0))) == 1


def test_whole_crop_adds_one_read_per_plate_in_the_same_call() -> None:
    fake = CountingRecognizer()
    reader = PlateReader(fake, views=2, whole_crop=True)
    chips = [(_plate(1), (0.0, 0.0, 260.0, 80.0)), (_plate(2), (0.0, 0.0, 260.0, 140.0))]
    reads = reader.read_many(chips)
    assert fake.calls == [2 * (1 + 2) + 2]  # the lines of two views of each plate, and each whole crop
    assert [len(views) for views in reads] == [3, 3]
    assert [views[-1].text for views in reads] == ["W260", "W260"]  # the crop as one line, last
    assert [len(view.text.split()) for view in reads[1]] == [2, 2, 1]
    assert reader.read_many([(_plate(1), (500.0, 500.0, 600.0, 560.0))]) == [[OcrRead("", 0.0)] * 3]


def test_empty_boxes_read_nothing() -> None:
    fake = CountingRecognizer()
    reads = PlateReader(fake).read_many([(_plate(1), (500.0, 500.0, 600.0, 560.0))])
    assert reads == [[OcrRead("", 0.0)]]


def test_view_count_is_checked() -> None:
    with pytest.raises(ValueError, match="views"):
        PlateReader(CountingRecognizer(), views=MAX_VIEWS + 1)
    with pytest.raises(ValueError, match="views"):
        PlateReader(CountingRecognizer(), views=0)


@pytest.fixture(scope="module")
def recognizer(model_store: ModelStore) -> EasyOcrRecognizer:
    """EasyOCR's recogniser alone, on the CPU."""
    return EasyOcrRecognizer.load(
        model_store.path(ModelRole.OCR_RECOGNIZER), links_root=model_store.cache_dir / "easyocr", device="cpu"
    )


@pytest.mark.models
def test_real_reader_reads_generated_plates(recognizer: EasyOcrRecognizer) -> None:
    samples = [s for s in generate_plates(40, seed=21) if s.width_px >= 100][:16]
    assert {s.layout for s in samples} == set(Layout)
    reads = PlateReader(recognizer).read_many([(s.image, s.box) for s in samples])
    texts = []
    for views in reads:
        verdict = vote([candidate(v.text, v.confidence, DEFAULT_PLATE_FORMATS, 2) for v in views])
        texts.append(verdict.text if verdict else "")
    exact = sum(text == s.text for text, s in zip(texts, samples, strict=True))
    assert exact >= 13, list(zip(texts, [s.text for s in samples], strict=True))  # 15 of 16 when written


def _load_recognizer(model_store: ModelStore, **options: Any) -> EasyOcrRecognizer:
    return EasyOcrRecognizer.load(
        model_store.path(ModelRole.OCR_RECOGNIZER),
        links_root=model_store.cache_dir / "easyocr",
        device="cpu",
        **options,
    )


def _runs_onnx_features(recognizer: EasyOcrRecognizer) -> bool:
    return type(recognizer._model.FeatureExtraction).__name__ == "OnnxFeatureExtraction"


@pytest.mark.models
def test_onnx_features_read_what_torch_reads(model_store: ModelStore, recognizer: EasyOcrRecognizer) -> None:
    onnx = _load_recognizer(model_store, onnx_features=True)
    assert _runs_onnx_features(onnx) and not _runs_onnx_features(recognizer)
    reader = PlateReader(recognizer)
    lines = [
        line for s in generate_plates(12, seed=5) for line in reader.line_images(s.image, s.box)
    ]  # several widths, so batches of one and of several lines

    fast, reference = onnx.recognize(lines), recognizer.recognize(lines)

    assert [read.text for read in fast] == [read.text for read in reference]
    np.testing.assert_allclose(
        [read.confidence for read in fast], [read.confidence for read in reference], atol=1e-4
    )


@pytest.mark.models
@pytest.mark.parametrize(("cpu_threads", "onnx"), [(1, True), (2, False), (None, False)])
def test_onnx_features_only_where_measured_faster(
    model_store: ModelStore, cpu_threads: int | None, onnx: bool
) -> None:
    assert _runs_onnx_features(_load_recognizer(model_store, cpu_threads=cpu_threads)) == onnx


@pytest.mark.models
def test_a_failed_export_keeps_the_torch_features(
    model_store: ModelStore,
    recognizer: EasyOcrRecognizer,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    def fail(module: Any, cpu_threads: int | None) -> Any:
        raise RuntimeError("exporter broke")

    monkeypatch.setattr("serve.ocr_recognizer.onnx_feature_extraction", fail)

    fallback = _load_recognizer(model_store, cpu_threads=1)

    assert not _runs_onnx_features(fallback)
    assert "exporter broke" in caplog.text
    sample = generate_plates(1, seed=9)[0]
    lines = PlateReader(recognizer).line_images(sample.image, sample.box)
    assert lines
    assert [r.text for r in fallback.recognize(lines)] == [r.text for r in recognizer.recognize(lines)]


@pytest.mark.models
def test_real_reader_keeps_header_words_out_of_the_number(recognizer: EasyOcrRecognizer) -> None:
    plate = np.full((150, 380, 3), 235, np.uint8)
    cv2.rectangle(plate, (3, 3), (376, 146), (30, 30, 30), 4)
    cv2.putText(plate, "PUNJAB", (140, 40), cv2.FONT_HERSHEY_SIMPLEX, 0.9, (20, 20, 20), 2)
    cv2.putText(plate, "LEA 1234", (30, 125), cv2.FONT_HERSHEY_SIMPLEX, 2.2, (20, 20, 20), 6)
    [view] = PlateReader(recognizer).read(plate, (0.0, 0.0, 380.0, 150.0))
    assert "PUNJAB" not in view.text  # the header line is not even read
    assert candidate(view.text, view.confidence, DEFAULT_PLATE_FORMATS, 2).text == "LEA1234"
