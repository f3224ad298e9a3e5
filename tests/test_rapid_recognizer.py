"""RapidOCR's PP-OCRv6 recogniser: the plate-alphabet decoder, and the real model on plates."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from cluster.bench.plate_set import generate_plates
from cluster.config import load_config
from cluster.samples import SAMPLE_CONFIG
from serve.imaging import read_image
from serve.models.files import sha256_of
from serve.models.registry import DEFAULT_ARTIFACTS, ModelRole
from serve.models.store import ModelStore
from serve.perception import build_plate_analyzer
from serve.plate_reader import PlateReader
from serve.plate_text import DEFAULT_PLATE_FORMATS
from serve.plate_vote import candidate, vote
from serve.rapid_recognizer import PlateCtcDecoder, RapidOcrRecognizer, plate_symbol
from serve.types import OcrRead
from tests.conftest import PLATE_SCENE

ROLE = ModelRole.RAPIDOCR_RECOGNIZER


def test_model_characters_map_onto_the_plate_alphabet() -> None:
    assert [plate_symbol(c) for c in "aZ7"] == ["A", "Z", "7"]
    assert [plate_symbol(c) for c in "\uff2f\uff17"] == ["O", "7"]  # full-width O and 7
    assert [plate_symbol(c) for c in " -"] == [" ", " "]
    assert [plate_symbol(c) for c in ".\u00e9\u4e2d"] == [None, None, None]  # punctuation, é, CJK


def _steps(decoder: PlateCtcDecoder, *rows: dict[int, float]) -> np.ndarray:
    """A (time steps, classes) output: each row's class -> probability, the rest on the blank."""
    probs = np.zeros((len(rows), decoder.num_classes), np.float32)
    for t, row in enumerate(rows):
        for index, p in row.items():
            probs[t, index] = p
        probs[t, 0] += 1.0 - sum(row.values())
    return probs


def test_decoder_sums_the_classes_of_a_symbol_and_drops_the_others() -> None:
    # classes: 0 blank, 1 'a', 2 'A', 3 '1', 4 CJK, 5 '-', 6 the model's space
    decoder = PlateCtcDecoder(["a", "A", "1", "\u4e2d", "-"])
    assert decoder.num_classes == 7
    probs = _steps(
        decoder,
        {1: 0.3, 2: 0.3, 4: 0.4},  # 'a' + 'A' beat the CJK class, which argmax would pick
        {2: 0.9},  # the same symbol again: collapsed
        {},  # blank
        {1: 0.8},  # 'A' after a blank: a second A
        {5: 0.8},  # separator
        {3: 0.6, 4: 0.4},
    )
    read = decoder.decode(probs)
    assert read.text == "AA 1"
    assert 0.5 < read.confidence <= 1.0
    assert decoder.decode(_steps(decoder, {}, {4: 0.9})) == OcrRead("", 0.0)


@pytest.fixture(scope="module")
def recognizer(model_store: ModelStore) -> RapidOcrRecognizer:
    """The PP-OCRv6 recogniser from the model cache (pulled from its pinned wheel), on the CPU."""
    path = model_store.path(ROLE)
    assert path.is_relative_to(model_store.cache_dir) and path.name == "PP-OCRv6_rec_small.onnx"
    assert sha256_of(path) == DEFAULT_ARTIFACTS[ROLE].sha256
    return RapidOcrRecognizer.load(path, device="cpu")


@pytest.mark.models
def test_rapidocr_backend_reads_both_plates_of_the_bundled_scene(model_store: ModelStore) -> None:
    settings = replace(load_config(SAMPLE_CONFIG).plate_settings(), ocr_backend="rapidocr")
    analyzer = build_plate_analyzer(model_store, "cpu", settings)
    assert isinstance(analyzer.reader._recognizer, RapidOcrRecognizer)
    [reads] = analyzer.analyze([read_image(PLATE_SCENE)])
    assert sorted(r.text for r in reads) == ["MLB803", "NO23456"]
    assert all(r.format_ok and 0.5 < r.confidence <= 1.0 for r in reads)


@pytest.mark.models
@pytest.mark.parametrize("whole_crop", [False, True])
def test_rapidocr_reads_generated_plates(recognizer: RapidOcrRecognizer, whole_crop: bool) -> None:
    samples = generate_plates(30, seed=3)
    reads = PlateReader(recognizer, whole_crop=whole_crop).read_many([(s.image, s.box) for s in samples])
    texts = []
    for views in reads:
        assert len(views) == 1 + whole_crop
        verdict = vote([candidate(v.text, v.confidence, DEFAULT_PLATE_FORMATS, 2) for v in views])
        texts.append(verdict.text if verdict else "")
    exact = sum(text == s.text for text, s in zip(texts, samples, strict=True)) / len(samples)
    assert exact >= 0.8, list(zip(texts, [s.text for s in samples], strict=True))  # about 0.92-0.97 measured


@pytest.mark.models
def test_rapidocr_reads_nothing_from_empty_lines(recognizer: RapidOcrRecognizer) -> None:
    blank = np.full((64, 200), 128, np.uint8)
    reads = recognizer.recognize([np.zeros((2, 50), np.uint8), blank])
    assert reads[0] == OcrRead("", 0.0)
    assert len(reads) == 2
