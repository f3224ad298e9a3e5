"""The job's Serve side on a real local Ray cluster: the API and the pipeline as `safecity run` starts
them (API first, then the models and the camera shards), twelve cameras in three shards.

What the Serve controller and Ray's metrics endpoint see: routers (one per handle in use) are bounded
by the shard processes, not the cameras; and a review through the API moves the reviews counter. One
scenario runs once for the module (Ray, Serve and the models take ~40 s to start on 2 cores).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
import ray

from actors.audit import AuditLog
from cluster.api.deployment import API_APP_NAME, deploy_api
from cluster.api.keys import KeyStore
from cluster.api.roles import Role
from cluster.bench.serve_routers import Router, metrics_text, routers, samples
from cluster.config import SafeCityConfig, load_config
from cluster.config.cameras import CameraConfig
from cluster.pipeline import start_pipeline
from cluster.samples import SAMPLE_CONFIG
from serve.apps import ModelApp
from tests.api_support import face_alert, log_alerts, plate_alert
from tests.serve_controller import SHORT_POLL_ENV, actor_id, replica_listeners
from tests.streams import free_port, numbered_frames, write_video
from tests.waiting import poll_until, poll_until_steady

pytestmark = [pytest.mark.slow, pytest.mark.ray, pytest.mark.models]
CAMERAS, PER_SHARD = 12, 4
DETECTORS = ModelApp.DETECTORS.value  # the deployment's name; its application is named by the config
EXPORT_INTERVAL_MS = 1000  # Ray's metrics export (10 s by default), short so the test waits less
ReviewKey = tuple[str, str, str, str]  # decision, kind, camera, zone


@dataclass
class Scenario:
    shard_ids: set[str]  # the actor id of each camera shard
    detectors_app: str
    routers: set[Router] = field(default_factory=set)  # every router, once every camera was analysed
    replica_listeners: int | None = None  # the controller's count for the detectors, once steady
    review_status: dict[str, int] = field(default_factory=dict)  # HTTP status by request
    reviews: dict[ReviewKey, float] = field(default_factory=dict)  # the counter, by tags


def city(base: SafeCityConfig, work: Path, video: Path, api_port: int) -> SafeCityConfig:
    """Face cameras on a looping file without faces: only the detectors are called, at 1 frame/s."""
    cameras = [
        CameraConfig(
            id=f"cam-{i:02d}", name=f"Camera {i}", url=str(video), kind="fr", analysis_fps=1, loop=True
        )
        for i in range(CAMERAS)
    ]
    serving = base.serving.model_copy(
        update={"detectors": base.serving.detectors.model_copy(update={"num_replicas": 1})}
    )
    return base.model_copy(
        update={
            "data_dir": work / "data",
            "cameras": cameras,
            "serving": serving,
            "api": base.api.model_copy(update={"host": "127.0.0.1", "port": api_port}),
            "pipeline": base.pipeline.model_copy(
                update={"cameras_per_actor": PER_SHARD, "actor_num_cpus": 0.01}
            ),
        }
    )


def review_counts(text: str) -> dict[ReviewKey, float]:
    """``ray_safecity_reviews_total`` by its tags."""
    return {
        (labels["decision"], labels["kind"], labels["camera"], labels["zone"]): value
        for labels, value in samples(text, "ray_safecity_reviews_total")
    }


def analysed_cameras(text: str) -> set[str]:
    """Cameras whose analysed-frame counter has reached the endpoint."""
    return {
        labels["camera"]
        for labels, value in samples(text, "ray_safecity_camera_frames_analysed_total")
        if value > 0
    }


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scenario]:
    work = tmp_path_factory.mktemp("job-serve")
    config = city(
        load_config(SAMPLE_CONFIG), work, write_video(work / "loop.mp4", numbered_frames(20)), free_port()
    )
    data_dir = config.data_dir
    _, token = KeyStore(data_dir, AuditLog(data_dir / "audit.jsonl")).create("desk-1", Role.OPERATOR, "setup")
    face, plate = face_alert(), plate_alert()
    log_alerts(data_dir, face, plate)
    metrics_port = free_port()
    with pytest.MonkeyPatch.context() as env:
        for name, value in SHORT_POLL_ENV.items():
            env.setenv(name, value)  # Ray's processes inherit the driver's environment
        ray.init(
            num_cpus=2,
            include_dashboard=False,
            log_to_driver=False,
            _metrics_export_port=metrics_port,
            _system_config={"metrics_report_interval_ms": EXPORT_INTERVAL_MS},
        )
    try:
        url = deploy_api(config)
        pipeline = start_pipeline(config)
        result = Scenario(
            {actor_id(shard) for shard in pipeline.shards},
            ModelApp.DETECTORS.app_name(config.serving.app_name),
        )
        with httpx.Client(
            base_url=f"{url}/api/v1", headers={"Authorization": f"Bearer {token}"}, timeout=60
        ) as client:
            for name, alert_id, decision in (
                ("face", face.alert_id, "confirmed"),
                ("plate", plate.alert_id, "rejected"),
                ("face again", face.alert_id, "rejected"),  # refused: one review per alert
            ):
                body = {"decision": decision, "reason": "checked on the spot", "officer": "PC 1"}
                result.review_status[name] = client.post(f"/alerts/{alert_id}/review", json=body).status_code

        def exported() -> str | None:
            # A process exports all its series at once, so once each camera's analysed frames are in,
            # so are the routers its shard started for them (a router starts before its first request).
            text = metrics_text(metrics_port)
            done = len(analysed_cameras(text)) == CAMERAS and len(review_counts(text)) == 2
            return text if done else None

        text = poll_until(
            exported,
            timeout=240,
            what="every camera's analysed frames and the reviews on Ray's metrics endpoint",
            details=lambda: f"cameras {pipeline.camera_stats()}",
        )
        result.routers, result.reviews = routers(text), review_counts(text)
        result.replica_listeners = poll_until_steady(
            lambda: replica_listeners(metrics_text(metrics_port), result.detectors_app, DETECTORS),
            want=lambda count: count == len(pipeline.shards),
            hold_s=3 * EXPORT_INTERVAL_MS / 1000,
            timeout=60,
            what="the controller's long polls for the detectors to settle at one per shard",
        )
        pipeline.stop(drain_timeout_s=5)
        yield result
    finally:
        ray.shutdown()


def test_routers_number_the_shards_not_the_cameras(scenario: Scenario) -> None:
    detectors = {r for r in scenario.routers if r.deployment == DETECTORS}
    assert len(detectors) == math.ceil(CAMERAS / PER_SHARD) < CAMERAS
    assert all(r.application == scenario.detectors_app for r in detectors)
    assert sorted(r.actor_id for r in detectors) == sorted(scenario.shard_ids)  # one in each shard


def test_the_controller_serves_one_long_poll_per_shard(scenario: Scenario) -> None:
    assert scenario.replica_listeners == math.ceil(CAMERAS / PER_SHARD)


def test_only_the_shards_and_serves_proxy_hold_handles(scenario: Scenario) -> None:
    extras = {r for r in scenario.routers if r.actor_id not in scenario.shard_ids}
    # The one fixed extra: Serve's HTTP proxy, which calls the API's ingress; nothing else holds a handle.
    [proxy] = extras
    assert (proxy.application, proxy.deployment) == (API_APP_NAME, "api") and proxy.actor_id
    assert len({r.actor_id for r in scenario.routers}) == len(scenario.shard_ids) + 1


def test_a_review_through_the_api_counts_by_decision_kind_camera_and_zone(scenario: Scenario) -> None:
    assert scenario.review_status == {"face": 201, "plate": 201, "face again": 409}
    assert scenario.reviews == {
        ("confirmed", "face", "fr-gate-1", "south"): 1.0,
        ("rejected", "plate", "anpr-road-1", ""): 1.0,
    }
