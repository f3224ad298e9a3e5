"""Shared fixtures: the real models (loaded once per session) and the bundled sample media."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ.setdefault("YOLO_OFFLINE", "1")

from actors.audit import AuditLog
from actors.camera.latest_frame import LatestFrameReader
from cluster.config import load_config
from cluster.samples import ASSETS, SAMPLE_CONFIG
from serve.face_analyzer import FaceAnalyzer
from serve.imaging import Image, read_image
from serve.models.store import DEFAULT_CACHE_DIR, ModelStore
from serve.perception import build_face_analyzer, build_plate_analyzer
from serve.plate_analyzer import PlateAnalyzer
from tests.settings import face_settings

pytest_plugins = ["tests.dispatch_support"]  # the `start` fixture of the dispatch tests

FACES = ASSETS / "faces"
PLATE_SCENE = ASSETS / "plates" / "cgi_two_cars.jpg"
PORTRAITS = sorted(FACES.glob("*.jpg"))
GENUINE_PAIRS = [("person_a_1.jpg", "person_a_2.jpg"), ("person_b_1.jpg", "person_b_2.jpg")]


@pytest.fixture(scope="session")
def model_store() -> ModelStore:
    """The real model cache (``scripts/setup.sh`` pulls it; pulled here on first use otherwise)."""
    return ModelStore(DEFAULT_CACHE_DIR, show_progress=False)


@pytest.fixture(scope="session")
def face_analyzer(model_store: ModelStore) -> FaceAnalyzer:
    """Real YOLO face detector, YuNet landmarks and SFace embedder on the CPU."""
    return build_face_analyzer(model_store, "cpu", face_settings())


@pytest.fixture(scope="session")
def plate_analyzer(model_store: ModelStore) -> PlateAnalyzer:
    """Real YOLO plate detector and EasyOCR, with the sample config's plate formats."""
    return build_plate_analyzer(model_store, "cpu", load_config(SAMPLE_CONFIG).plate_settings())


@pytest.fixture(scope="session")
def portraits() -> dict[str, Image]:
    """The six bundled portraits by file name."""
    return {path.name: read_image(path) for path in PORTRAITS}


@pytest.fixture
def audit(tmp_path: Path) -> AuditLog:
    """An empty audit log in a fresh data directory."""
    return AuditLog(tmp_path / "audit.jsonl")


@pytest.fixture
def readers() -> Iterator[list[LatestFrameReader]]:
    """Readers started by a test, stopped afterwards even when it fails."""
    started: list[LatestFrameReader] = []
    yield started
    for reader in started:
        reader.stop()
