"""Shared fixtures: the real models (loaded once per session) and the bundled sample media."""

from __future__ import annotations

import os
import sys
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


_EXIT_STATUS = pytest.StashKey[int]()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Keep the run's status for :func:`pytest_unconfigure`."""
    session.config.stash[_EXIT_STATUS] = int(exitstatus)


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config: pytest.Config) -> None:
    """Exit with the tests' status without tearing down the interpreter.

    Torch, onnxruntime, ScaNN, GStreamer and Ray's gRPC threads tear down at interpreter exit in an
    order Python does not control; one CI run segfaulted there (exit 139) after all 851 tests passed.
    Every report is written by now, so nothing the suite says is lost.
    """
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(config.stash.get(_EXIT_STATUS, int(pytest.ExitCode.INTERNAL_ERROR)))
