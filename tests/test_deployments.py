"""The model deployments' own logic with the real models, outside Serve.

Serve's local testing mode cannot run ``@serve.batch`` methods in Ray 2.60 (the batch queue asks for a
replica context that mode never sets), so the replica class is built directly and its batch body is
called; batching itself is Serve's, and the live pipeline tests go through it.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from cluster.config import SafeCityConfig
from cluster.pipeline import model_deployments
from serve.apps import ModelApp
from serve.deployments import (
    Batching,
    DetectorsDeployment,
    FaceEmbedderDeployment,
    ModelSpec,
    PlateReaderDeployment,
    ReplicaSpec,
)
from serve.imaging import read_image
from serve.letterbox import letterbox
from serve.models.store import DEFAULT_CACHE_DIR
from serve.perception import FaceSettings, PlateSettings
from serve.types import DetectorFrame
from tests.conftest import PLATE_SCENE, PORTRAITS
from tests.settings import face_settings, plate_settings

pytestmark = pytest.mark.models

REPLICA = ReplicaSpec(max_age_s=2.0, cpu_threads=1)
MODELS = ModelSpec(DEFAULT_CACHE_DIR, device="cpu")


def replica(faces: FaceSettings | None, plates: PlateSettings | None) -> Any:
    return DetectorsDeployment.func_or_class(MODELS, faces, plates, REPLICA)  # type: ignore[attr-defined]


@pytest.fixture(scope="module")
def both() -> Any:
    return replica(face_settings(), plate_settings())


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
    plates_only = replica(None, plate_settings())
    assert plates_only.faces is None
    scene, _ = letterbox(read_image(PLATE_SCENE))
    with pytest.raises(RuntimeError, match="face detection, which this deployment does not run"):
        plates_only._detect_sync([DetectorFrame(scene, time.time())])
    [found] = plates_only._detect_sync([DetectorFrame(scene, time.time(), faces=False)])
    assert found.faces is None and found.plates is not None and len(found.plates) == 2


def test_the_detectors_deployment_refuses_to_start_with_nothing_to_detect() -> None:
    with pytest.raises(ValueError, match="needs face or plate settings"):
        replica(None, None)


@pytest.mark.parametrize(
    ("deployment", "method"),
    [(DetectorsDeployment, "detect"), (FaceEmbedderDeployment, "embed"), (PlateReaderDeployment, "read")],
)
def test_batching_comes_from_user_config_and_changes_on_reconfigure(deployment: Any, method: str) -> None:
    # The batch method's queue settings; reconfigure is what Serve calls when user_config changes.
    instance = object.__new__(deployment.func_or_class)
    instance.reconfigure(Batching(max_batch_size=3, batch_wait_timeout_s=0.05).user_config())
    batched = getattr(instance, method)
    assert (batched._get_max_batch_size(), batched._get_batch_wait_timeout_s()) == (3, 0.05)
    instance.reconfigure(Batching(max_batch_size=16, batch_wait_timeout_s=0.0).user_config())
    assert (batched._get_max_batch_size(), batched._get_batch_wait_timeout_s()) == (16, 0.0)


def test_a_user_config_with_an_unknown_key_is_refused() -> None:
    with pytest.raises(TypeError, match="max_batch"):
        Batching.from_user_config({"max_batch": 4, "batch_wait_timeout_s": 0.01})


class LostSession:
    """An onnxruntime session whose device went away."""

    def run(self, *_: Any) -> list[Any]:
        raise RuntimeError("CUDA error: device lost")


def test_an_idle_replica_health_check_runs_the_detectors_and_fails_when_one_fails(
    both: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(both.liveness, "quiet_s", 0.0)  # idle: every check probes the models
    asyncio.run(both.check_health())
    monkeypatch.setattr(both.plates, "_session", LostSession())
    with pytest.raises(RuntimeError, match="device lost"):
        asyncio.run(both.check_health())


def test_each_model_app_is_deployed_under_its_name_with_the_configured_batching() -> None:
    config = SafeCityConfig.model_validate(
        {
            "cameras": [{"id": "gate", "name": "Gate", "url": "gate.mp4", "kind": "fr"}],
            "serving": {"face_embedder": {"max_batch_size": 12, "batch_wait_timeout_s": 0.05}},
        }
    )
    apps = model_deployments(config, gpu=False)
    assert set(apps) == {ModelApp.DETECTORS, ModelApp.FACE_EMBEDDER}  # no plate camera: no reader
    embedder, detectors = apps[ModelApp.FACE_EMBEDDER].deployment, apps[ModelApp.DETECTORS].deployment
    assert (embedder.name, detectors.name) == ("face_embedder", "detectors")
    assert embedder.user_config == {"max_batch_size": 12, "batch_wait_timeout_s": 0.05}
    assert detectors.user_config == {"max_batch_size": 8, "batch_wait_timeout_s": 0.02}
    assert ModelApp.FACE_EMBEDDER.app_name(config.serving.app_name) == "safecity-face-embedder"
