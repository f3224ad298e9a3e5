"""The detectors deployment's own logic with the real models, outside Serve.

Serve's local testing mode cannot run ``@serve.batch`` methods in Ray 2.60 (the batch queue asks for a
replica context that mode never sets), so the replica class is built directly and its batch body is
called; batching itself is Serve's, and the live pipeline tests go through it.
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from serve.deployments import DetectorsDeployment, ModelSpec, ReplicaSpec
from serve.imaging import read_image
from serve.letterbox import letterbox
from serve.models.store import DEFAULT_CACHE_DIR
from serve.perception import FaceSettings, PlateSettings
from serve.types import DetectorFrame
from tests.conftest import PLATE_SCENE, PORTRAITS

pytestmark = pytest.mark.models

REPLICA = ReplicaSpec(max_batch_size=8, batch_wait_timeout_s=0.01, max_age_s=2.0, cpu_threads=1)
MODELS = ModelSpec(DEFAULT_CACHE_DIR, device="cpu")


def replica(faces: FaceSettings | None, plates: PlateSettings | None) -> Any:
    return DetectorsDeployment.func_or_class(MODELS, faces, plates, REPLICA)  # type: ignore[attr-defined]


@pytest.fixture(scope="module")
def both() -> Any:
    return replica(FaceSettings(), PlateSettings())


def test_one_batch_runs_each_detector_once_on_the_frames_that_asked_for_it(both: Any) -> None:
    scene, _ = letterbox(read_image(PLATE_SCENE))
    portrait, _ = letterbox(read_image(PORTRAITS[0]))
    now = time.time()
    frames = [
        DetectorFrame(scene, now),
        DetectorFrame(portrait, now, faces=True, plates=False),
        DetectorFrame(scene, now, faces=False, plates=True),
    ]
    full, faces_only, plates_only = both._detect_sync(frames)
    assert full.plates is not None and len(full.plates) == 2 and full.faces is not None
    assert faces_only.plates is None and faces_only.faces is not None and len(faces_only.faces) == 1
    assert plates_only.faces is None and plates_only.plates is not None
    assert plates_only.plates.xyxy.tolist() == full.plates.xyxy.tolist()  # batch order kept


def test_a_detector_no_camera_needs_is_not_loaded_and_not_asked_for() -> None:
    plates_only = replica(None, PlateSettings())
    assert plates_only.faces is None
    scene, _ = letterbox(read_image(PLATE_SCENE))
    with pytest.raises(RuntimeError, match="face detection, which this deployment does not run"):
        plates_only._detect_sync([DetectorFrame(scene, time.time())])
    [found] = plates_only._detect_sync([DetectorFrame(scene, time.time(), faces=False)])
    assert found.faces is None and found.plates is not None and len(found.plates) == 2


def test_the_detectors_deployment_refuses_to_start_with_nothing_to_detect() -> None:
    with pytest.raises(ValueError, match="needs face or plate settings"):
        replica(None, None)
