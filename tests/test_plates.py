"""The real plate models on the bundled scene, and the hotlist on what they read."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest

from actors.hotlist import HotlistEntry, HotlistMatcher
from serve.imaging import read_image
from serve.plate_analyzer import PlateAnalyzer
from serve.types import Detections
from tests.conftest import PLATE_SCENE

pytestmark = pytest.mark.models


def _entry(plate: str, reason: str = "test") -> HotlistEntry:
    return HotlistEntry(plate=plate, reason=reason, added_by="tester", added_at=datetime.now(UTC))


def _read_texts(analyzer: PlateAnalyzer) -> list[str]:
    [reads] = analyzer.analyze([read_image(PLATE_SCENE)])
    return sorted(read.text for read in reads)


def test_both_plates_read_exactly(plate_analyzer: PlateAnalyzer) -> None:
    [reads] = plate_analyzer.analyze([read_image(PLATE_SCENE)])
    assert sorted(r.text for r in reads) == ["MLB803", "NO23456"]
    for read in reads:
        assert read.format_ok
        assert read.detector_score > 0.5
        assert 0.5 < read.confidence <= 1.0
        assert read.crop is not None and read.crop.shape[0] > 20


def test_reads_hit_a_hotlist_holding_them_exactly(plate_analyzer: PlateAnalyzer) -> None:
    matcher = HotlistMatcher([_entry("MLB803", "stolen"), _entry("NO23456", "wanted")], datetime.now(UTC))
    matches = [matcher.match(text) for text in _read_texts(plate_analyzer)]
    assert [(m.plate, m.exact, m.edits) for m in matches if m is not None] == [
        ("MLB803", True, 0),
        ("NO23456", True, 0),
    ]


def test_one_confused_character_is_a_fuzzy_hit(plate_analyzer: PlateAnalyzer) -> None:
    # The hotlist was typed with a letter O where the plate has a zero, and an I for a one.
    matcher = HotlistMatcher([_entry("MLB8O3"), _entry("NO2345G")], datetime.now(UTC))
    matches = [matcher.match(text) for text in _read_texts(plate_analyzer)]
    assert [(m.plate, m.exact, m.edits) for m in matches if m is not None] == [
        ("MLB8O3", False, 1),
        ("NO2345G", False, 1),
    ]


def test_batch_of_frames_gives_the_same_reads(plate_analyzer: PlateAnalyzer) -> None:
    image = read_image(PLATE_SCENE)
    batches = plate_analyzer.analyze([image, image, image])
    assert [sorted(r.text for r in reads) for reads in batches] == [["MLB803", "NO23456"]] * 3


def test_reads_survive_detector_box_jitter(plate_analyzer: PlateAnalyzer) -> None:
    # A tracker's boxes move by a few pixels from frame to frame; the read must not. (The old
    # readtext reader needed three views for this; lines cut out of the crop need one.)
    assert plate_analyzer.reader.views == 1
    image = read_image(PLATE_SCENE)
    [detections] = plate_analyzer.detect([image])
    rng = np.random.default_rng(7)
    jitter = rng.uniform(-3, 3, size=(6, len(detections), 4)).astype(np.float32)
    texts = []
    for offsets in jitter:
        moved = Detections(detections.xyxy + offsets, detections.confidence, detections.class_id)
        texts.append(sorted(read.text for read in plate_analyzer.read(image, moved)))
    correct = sum(t == ["MLB803", "NO23456"] for t in texts)
    assert correct >= 5, texts
